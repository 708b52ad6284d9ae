"""The server's limits the pages' forms and scripts follow, and how often the pages ping their socket."""

from __future__ import annotations

import re
from typing import cast

from django import forms
from django.conf import settings

from game.domain import rules
from game.domain.protocol import CHAT_MAX_LENGTH, NAME_MAX_LENGTH
from game.messages.lobby import LOBBY_LIMIT
from game.models import MAX_ABSENCE_SECONDS, MIN_ABSENCE_SECONDS, ROOM_CODE_PATTERN
from game.web.forms import RoomForm

# How often the pages ping their socket, and how long they trust one that has heard nothing
# (not even a pong) before dropping it as half-open and reconnecting. The pings also keep
# proxies in front (nginx: proxy_read_timeout, 60 s unless set) from closing an idle socket.
PING_EVERY_SECONDS = 20
SILENCE_LIMIT_SECONDS = 50


def _code_lengths() -> tuple[int, int]:
    """A room code's shortest and longest length: ROOM_CODE_PATTERN ends with ``{4,32}``."""
    shortest, longest = re.findall(r"\d+", ROOM_CODE_PATTERN)[-2:]
    return int(shortest), int(longest)


def page_limits() -> dict[str, int]:
    """The server's limits that the pages' forms and scripts follow: the templates' ``limits``, JSON ``#limits``."""
    code_min_length, code_max_length = _code_lengths()
    return {
        "name_max_length": NAME_MAX_LENGTH,
        "chat_max_length": CHAT_MAX_LENGTH,
        "room_name_max_length": cast(forms.CharField, RoomForm.base_fields["name"]).max_length or 0,
        "code_min_length": code_min_length,
        "code_max_length": code_max_length,
        "min_size": rules.MIN_SIZE,
        "max_size": rules.MAX_SIZE,
        "min_win_length": rules.MIN_WIN_LENGTH,
        "min_absence_seconds": MIN_ABSENCE_SECONDS,
        "max_absence_seconds": MAX_ABSENCE_SECONDS,
        "lobby_rooms": LOBBY_LIMIT,
        "ping_every_ms": PING_EVERY_SECONDS * 1000,
        "silence_limit_ms": SILENCE_LIMIT_SECONDS * 1000,
        "heartbeat_ms": round(settings.TICTAC["HEARTBEAT_SECONDS"] * 1000),
    }
