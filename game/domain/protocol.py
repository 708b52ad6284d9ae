"""Parsing the client's WebSocket messages (docs/protocol.md, "Client to server").

Pure like the rules: it turns a text frame into a typed message or raises a
:class:`ProtocolError` whose ``code`` is the one the protocol names, so the
consumer never has to look inside a raw dict.

>>> parse('{"type": "move", "cell": 4}')
Move(cell=4, id=None)
>>> parse('{"type": "move", "cell": "4"}')  # doctest: +IGNORE_EXCEPTION_DETAIL
Traceback (most recent call last):
...
game.domain.protocol.ProtocolError: bad_message: 'cell' must be a whole number.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from typing import Any, Final

NAME_MAX_LENGTH: Final = 32
CHAT_MAX_LENGTH: Final = 500
DEFAULT_NAME: Final = "Player"


class ProtocolError(ValueError):
    """A message the server cannot accept. ``code`` is the protocol's error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


@dataclass(frozen=True)
class Join:
    name: str | None


@dataclass(frozen=True)
class Move:
    cell: int
    id: str | None = None
    """The client's own id for the move: a resend with the same id is not played twice."""


@dataclass(frozen=True)
class Chat:
    text: str


@dataclass(frozen=True)
class Resign:
    pass


@dataclass(frozen=True)
class Rematch:
    pass


@dataclass(frozen=True)
class Ping:
    pass


@dataclass(frozen=True)
class Sync:
    pass


@dataclass(frozen=True)
class Claim:
    result: str
    """``win`` or ``draw``; any other string is the service's ``bad_result``."""


@dataclass(frozen=True)
class OfferDraw:
    pass


@dataclass(frozen=True)
class Takeback:
    pass


@dataclass(frozen=True)
class Answer:
    """``accept`` or ``decline``: the answer to the opponent's pending offer."""

    accept: bool


@dataclass(frozen=True)
class AddComputer:
    level: str
    """``easy``, ``medium`` or ``perfect``; any other string is the service's ``bad_level``."""


ClientMessage = (
    Join | Move | Chat | Resign | Rematch | Ping | Sync | Claim | OfferDraw | Takeback | Answer | AddComputer
)
MOVE_ID_MAX_LENGTH: Final = 64


def parse(text: str) -> ClientMessage:
    """Parse one text frame, checking every field the protocol names."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise ProtocolError("bad_message", "Messages must be JSON.") from None
    if not isinstance(data, dict):
        raise ProtocolError("bad_message", "A message must be a JSON object.")
    kind = data.get("type")
    if kind == "move":
        return Move(_whole_number(data, "cell"), _move_id(data))
    if kind == "join":
        return Join(_name(data))
    if kind == "chat":
        return Chat(_chat_text(data))
    if kind == "resign":
        return Resign()
    if kind == "rematch":
        return Rematch()
    if kind == "ping":
        return Ping()
    if kind == "sync":
        return Sync()
    if kind == "claim":
        return Claim(_text(data, "result"))
    if kind == "offer_draw":
        return OfferDraw()
    if kind == "takeback":
        return Takeback()
    if kind == "add_computer":
        return AddComputer(_text(data, "level"))
    if kind in ("accept", "decline"):
        return Answer(accept=kind == "accept")
    if not isinstance(kind, str):
        raise ProtocolError("bad_message", "A message needs a string 'type'.")
    raise ProtocolError("bad_message", f"Unknown message type {kind[:40]!r}.")


def _whole_number(data: dict[str, Any], field: str) -> int:
    value = data.get(field)
    # bool is an int in Python, and 4.0 is not a cell: only a real JSON integer counts.
    if type(value) is not int:
        raise ProtocolError("bad_message", f"'{field}' must be a whole number.")
    return value


def _move_id(data: dict[str, Any]) -> str | None:
    if data.get("id") is None:
        return None
    move_id = _text(data, "id")
    if not 1 <= len(move_id) <= MOVE_ID_MAX_LENGTH or _has_control_characters(move_id):
        raise ProtocolError("bad_message", f"A move's 'id' is 1 to {MOVE_ID_MAX_LENGTH} printable characters.")
    return move_id


def _text(data: dict[str, Any], field: str) -> str:
    value = data.get(field)
    if not isinstance(value, str):
        raise ProtocolError("bad_message", f"'{field}' must be a string.")
    return value


# Bidirectional overrides can make a name or a line of chat read backwards.
_BIDI_CONTROLS: Final = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _has_control_characters(text: str, allowed: str = "") -> bool:
    # Format characters (category Cf) other than the bidi controls stay: the
    # zero-width joiner is part of many emoji.
    return any(
        (unicodedata.category(char) in ("Cc", "Cs") or char in _BIDI_CONTROLS) and char not in allowed for char in text
    )


def _name(data: dict[str, Any]) -> str | None:
    if data.get("name") is None:
        return None
    return clean_name(_text(data, "name"))


def clean_name(text: str) -> str:
    """A player's name as the protocol accepts it (trimmed), or ProtocolError."""
    name = text.strip()
    if len(name) > NAME_MAX_LENGTH:
        raise ProtocolError("too_long", f"A name is at most {NAME_MAX_LENGTH} characters.")
    if not name or _has_control_characters(name):
        raise ProtocolError("bad_message", "A name is 1 to 32 printable characters.")
    return name


def _chat_text(data: dict[str, Any]) -> str:
    text = _text(data, "text")
    if len(text) > CHAT_MAX_LENGTH:
        raise ProtocolError("too_long", f"A chat message is at most {CHAT_MAX_LENGTH} characters.")
    # Line breaks are fine in chat; other control characters are not.
    if not text.strip() or _has_control_characters(text, allowed="\n"):
        raise ProtocolError("bad_message", "A chat message is 1 to 500 printable characters.")
    return text
