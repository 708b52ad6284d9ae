"""What clients are told: the ``state`` message and the lobby's room summaries.

A state is built once per change by the process that made the change, then
sent through the room's group; each socket only appends its own ``you``.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from redis.exceptions import RedisError

from . import rules
from .cache import RoomCache, game_cache
from .models import FINISHED_STATUSES, Game, Room, Status
from .presence import PresenceSnapshot, presence
from .services import (
    acurrent_game,
    claim_at,
    current_game,
    epoch_ms,
    forget_room,
    is_due,
    series_after,
    settle,
)
from .shards import room_group as room_group  # named beside its shard choice; its users import it here

logger = logging.getLogger(__name__)

Version = tuple[int, int, int]
"""(game number, game version, presence read time): larger is newer."""


@dataclass(frozen=True)
class RoomState:
    message: dict[str, Any]
    """The state message without ``you``: what /api/rooms/<code>/ answers."""
    seats: dict[str, int | None]
    """Player id per mark, so each socket can tell its own seat."""
    version: Version

    def encode(self) -> str:
        return json.dumps(self.message, separators=(",", ":"))

    def summary(self) -> dict[str, Any]:
        """The lobby's line for this room."""
        room, game = self.message["room"], self.message["game"]
        players = list(self.message["players"].values())
        seated = [seat for seat in players if seat]
        return {
            "code": room["code"],
            "name": room["name"],
            "size": room["size"],
            "win_length": room["win_length"],
            "players": sum(1 for seat in self.message["players"].values() if seat is not None),
            "spectators": self.message["spectators"],
            "status": game["status"],
            "open": room["open"],
            "names": {mark: seat["name"] if seat else None for mark, seat in self.message["players"].items()},
            "here": self.message["spectators"] + sum(1 for seat in seated if seat["online"]),
            "joinable": game["status"] == "waiting"
            and any(players)
            and all(seat["online"] for seat in players if seat),
            "time_control": room["time_control"],
        }


def state_event(state: RoomState) -> dict[str, Any]:
    """The group message that carries a state to every socket of the room."""
    return {"type": "room.state", "state": state.encode(), "seats": state.seats, "version": state.version}


def add_you(encoded_state: str, mark: str | None) -> str:
    """The encoded state with this socket's ``you`` appended, without encoding it again."""
    you = '{"mark":null}' if mark is None else f'{{"mark":"{mark}"}}'
    return f'{encoded_state[:-1]},"you":{you}}}'


def note_received(room: Room, event: dict[str, Any]) -> None:
    """What this process learns from a state that reached it through the room's group."""
    number, game_version, read_at_us = event["version"]
    forget_presence_older_than(room.code, read_at_us)
    game_cache.note_published(room.pk, number, game_version, event["seats"], event["state"])


def _time_control(room: Room) -> dict[str, Any] | None:
    control = room.clock_control
    if not control.is_on:
        return None
    if control.kind == "move":
        return {"kind": "move", "seconds": control.seconds}
    return {"kind": "budget", "seconds": control.seconds, "increment": control.increment}


def _clock(game: Game) -> dict[str, Any] | None:
    if game.clock_x_ms is None:
        return None
    since = game.turn_started_at
    running = game.turn if game.status == Status.PLAYING and since is not None else None
    return {
        "X": game.clock_x_ms,
        "O": game.clock_o_ms,
        "running": running,
        "since": epoch_ms(since) if since is not None and running else None,
        "deadline": epoch_ms(game.deadline) if game.deadline is not None and running else None,
        "now": time.time_ns() // 1_000_000,
    }


def _absent(room: Room, game: Game) -> dict[str, Any]:
    absent: dict[str, Any] = {}
    for mark in rules.MARKS:
        left, claimable = game.left_at(mark), claim_at(room, game, mark)
        if left is not None and claimable is not None:
            absent[mark] = {"since": epoch_ms(left), "claim_at": epoch_ms(claimable)}
    return absent


def _series(game: Game) -> dict[str, int]:
    """Wins of whoever sits in X and in O now, and draws, over this pair's games in the room."""
    series = series_after(game) if game.status in FINISHED_STATUSES else game.series
    wins = series.get("wins", {})
    return {
        "X": wins.get(str(game.player_x_id), 0) if game.player_x_id else 0,
        "O": wins.get(str(game.player_o_id), 0) if game.player_o_id else 0,
        "draws": series.get("draws", 0),
    }


def build(room: Room, game: Game, seen: PresenceSnapshot) -> RoomState:
    seated = {player.session_hash: mark for mark, player in (("X", game.player_x), ("O", game.player_o)) if player}
    last_move = None
    if game.history:
        last_move = {"cell": game.history[-1], "mark": "X" if len(game.history) % 2 else "O"}
    rematch = [mark for mark, asked in (("X", game.rematch_x), ("O", game.rematch_o)) if asked]
    message = {
        "type": "state",
        "room": {
            "code": room.code,
            "name": room.name or room.code,
            "size": room.size,
            "win_length": room.win_length,
            "open": room.is_open,
            "time_control": _time_control(room),
            "absence_seconds": room.absence_seconds,
            "rated": room.rated,
        },
        "game": {
            "id": game.id,
            "number": game.number,
            "board": list(game.cells),
            "turn": game.turn,
            "status": game.status,
            "winner": game.winner,
            "line": game.line,
            "moves": game.move_count,
            "last_move": last_move,
            "history": list(game.history),
            "rematch": rematch if game.status in FINISHED_STATUSES else [],
            "version": game.version,
            "reason": game.reason or None,
            "clock": _clock(game),
            "absent": _absent(room, game) if game.status == Status.PLAYING else {},
            "offer": {"kind": game.offer_kind, "by": game.offer_by} if game.offer_kind else None,
            "finished_at": epoch_ms(game.finished_at) if game.finished_at else None,
        },
        "players": {
            mark: None
            if player is None
            else {
                "name": player.name,
                # The computer is always there.
                "online": bool(player.bot_level) or player.session_hash in seen.sessions,
                "computer": player.bot_level or None,
            }
            for mark, player in (("X", game.player_x), ("O", game.player_o))
        },
        "spectators": seen.spectators(set(seated)),
        "series": _series(game),
    }
    return RoomState(
        message=message,
        seats={"X": game.player_x_id, "O": game.player_o_id},
        version=(game.number, game.version, seen.read_at_us),
    )


def room_state_blocking(room: Room) -> RoomState:
    """:func:`room_state` for synchronous code (views).

    A game the server should have ended on its own by now (a flag fell while
    no process had a socket in the room to referee it) is ended first.
    """
    game = current_game(room)
    if is_due(room, game):
        game = settle(room) or current_game(room)
    return build(room, game, presence().snapshots_blocking([room.code])[room.code])


async def room_state(room: Room, game: Game | None = None, *, reuse_presence: bool = False) -> RoomState:
    """The room's state now. Reads the game before presence, so that of two
    states built concurrently the one with the newer game also has the newer
    presence.

    ``reuse_presence`` is for a move or a rematch request, which change
    nothing about who is connected: the state may then reuse this process's
    last reading of the room's presence (see :meth:`LastPresence.reusable`).
    """
    if game is None:
        game = await acurrent_game(room)
    seen = last_presence.reusable(room.code) if reuse_presence else None
    if seen is None:
        seen = await _presence_or_last_known(room.code)
    return build(room, game, seen)


_NOBODY = PresenceSnapshot(frozenset(), 0, 0)

# How long a move's state may reuse a reading. Every presence change publishes
# a state of its own, and receiving one makes this process drop its older
# reading (forget_presence_older_than), so the bound is only for the change
# nobody announces: entries that expire after their process died.
PRESENCE_REUSE_SECONDS = 5.0


class LastPresence:
    """The newest presence read per room, and when (this process's monotonic clock).

    It is the fallback when Redis cannot be read: a move that was committed
    must still be told, with slightly old online dots. And a move's state
    reuses it, which spares a Redis round trip on every move.
    """

    def __init__(self) -> None:
        self._readings: RoomCache[str, tuple[PresenceSnapshot, float]] = RoomCache()

    def reusable(self, room_code: str) -> PresenceSnapshot | None:
        """The room's reading if it is recent enough for a move's state to reuse."""
        known = self._readings.get(room_code)
        if known is None or time.monotonic() - known[1] > PRESENCE_REUSE_SECONDS:
            return None
        return known[0]

    def last(self, room_code: str) -> PresenceSnapshot | None:
        known = self._readings.get(room_code)
        return None if known is None else known[0]

    def keep(self, room_code: str, seen: PresenceSnapshot) -> None:
        """Keep ``seen`` unless a newer reading is kept already (of two readings racing here, the newer wins)."""
        known = self._readings.get(room_code)
        if known is None or known[0].read_at_us <= seen.read_at_us:
            self._readings.keep(room_code, (seen, time.monotonic()))

    def forget_older_than(self, room_code: str, read_at_us: int) -> None:
        known = self._readings.get(room_code)
        if known is not None and known[0].read_at_us < read_at_us:
            self._readings.pop(room_code, None)

    def forget(self, room_code: str) -> None:
        self._readings.pop(room_code, None)

    def knows(self, room_code: str) -> bool:
        return room_code in self._readings

    def reset(self) -> None:
        """Hold nothing, as a new process (the tests start each from here)."""
        self._readings.clear()


last_presence = LastPresence()
"""The process's one record of the presence it last read per room."""


def forget_presence_older_than(room_code: str, read_at_us: int) -> None:
    """A state with a newer presence reading reached this process: its own reading is out of date."""
    last_presence.forget_older_than(room_code, read_at_us)


def forget(room: Room) -> None:
    """This process's last socket in the room has left: drop what it cached about the room."""
    forget_room(room)
    last_presence.forget(room.code)


async def _presence_or_last_known(room_code: str) -> PresenceSnapshot:
    try:
        seen = await presence().snapshot(room_code)
    except (RedisError, OSError):
        logger.warning("presence unreadable; using the last known", extra={"room": room_code})
        return last_presence.last(room_code) or _NOBODY
    last_presence.keep(room_code, seen)
    return seen
