"""Read the lobby now: the rooms someone is present in (from presence, in Redis), then their games.

Only a room someone is present in can be listed (:mod:`game.messages.lobby`),
so one read of the lobby starts from presence (the rooms with activity
lately) and asks the database only about the rooms someone is in now.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from typing import Final

from channels.db import database_sync_to_async
from django.db.models import OuterRef, Subquery

from game.messages.lobby import GAMES, Lobby, LobbyStats, section
from game.messages.state import build
from game.models import Game
from game.realtime.presence import PresenceSnapshot, presence

# Rooms with someone present this recently are read. A room with a socket in it refreshes its activity
# every few seconds, so this is far more than enough; it also keeps a room a dead process left
# behind readable (listed false) long after its presence expired.
RECENT_SECONDS: Final = 10 * 60
# An upper bound on the rooms one lobby read looks at, however many there are: the most recently active.
ACTIVE_ROOMS_READ: Final = 500


def _current_games(room_codes: list[str]) -> list[Game]:
    """The current game of each of these rooms (a closed room's too: its summary says it is not listed)."""
    latest_number = Game.objects.filter(room=OuterRef("room")).order_by("-number").values("number")[:1]
    return list(
        Game.objects.filter(room__code__in=room_codes, number=Subquery(latest_number))
        .select_related("room", "player_x", "player_o")
        .order_by()
    )


def _players_online(seen: dict[str, PresenceSnapshot]) -> int:
    sessions: set[str] = set()
    for snapshot in seen.values():
        sessions |= snapshot.sessions
    return len(sessions)


def read_lobby(also: Collection[str] = ()) -> Lobby:
    """The lobby now (docs/protocol.md, "Lobby feed"): two Redis round trips per shard, at most one query.

    ``also``: rooms to summarize even if nobody is in them now (rooms a page lists, to tell it they left).
    """
    store = presence()
    activity = store.active_rooms_blocking(time.time() - RECENT_SECONDS, ACTIVE_ROOMS_READ)
    extra = [code for code in also if code not in activity]
    if not activity and not extra:
        return Lobby()
    seen = store.snapshots_blocking([*activity, *extra])
    # Nobody here, nothing to act on: the database is asked only about rooms with a socket in them now.
    occupied = [code for code, snapshot in seen.items() if snapshot.sessions or snapshot.anonymous]
    asked = sorted({*occupied, *also})
    games = _current_games(asked) if asked else []
    ordered = []
    for game in games:
        summary = build(game.room, game, seen[game.room.code]).summary()
        ordered.append((not summary["listed"], section(summary), -game.updated_at.timestamp(), summary))
    ordered.sort(key=lambda entry: entry[:3])
    summaries = {summary["code"]: summary for *_, summary in ordered}
    games_in_play = sum(1 for summary in summaries.values() if summary["listed"] and section(summary) == GAMES)
    return Lobby(summaries, LobbyStats(_players_online(seen), games_in_play))


aread_lobby = database_sync_to_async(read_lobby)
