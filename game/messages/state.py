"""What clients are told: the ``state`` message and the lobby's room summaries, built from values.

A state is built once per change by the process that made the change, then
sent through the room's group; each socket only appends its own ``you``.
Nothing here reads the database or presence: ``game.realtime.room_states`` reads the
room and calls :func:`build`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Protocol

from game.actions.endings import claim_at, idle_since
from game.actions.rematch import series_after
from game.actions.write import epoch_ms
from game.domain import pools, rules
from game.domain.state_order import StateStamp
from game.models import FINISHED_STATUSES, Game, Room, Status


class PresenceReading(Protocol):
    """What a state needs of a reading of the room's presence (game.realtime.presence_entries.PresenceSnapshot is one):
    this module is below the realtime layer, so it names what it reads rather than importing it."""

    @property
    def sessions(self) -> frozenset[str]: ...

    @property
    def read_at_us(self) -> int: ...

    @property
    def anonymous(self) -> int: ...

    def spectators(self, seated_sessions: set[str]) -> int: ...


@dataclass(frozen=True)
class RoomState:
    message: dict[str, Any]
    """The state message without ``you``: what /api/rooms/<code>/ answers."""
    seats: dict[str, int | None]
    """Player id per mark, so each socket can tell its own seat."""
    stamp: StateStamp
    """Which of two states is newer (see :data:`game.domain.state_order.StateStamp`)."""
    presence: PresenceReading | None = None
    """The presence reading it was built from, when that was read for it: its group event carries the
    reading to the room's other processes, which keep it (game.realtime.presence_readings) and so need
    not read Redis for their next move's state. None for a reading reused (every process has it)."""
    change: str | None = None
    """The columns the write that made this version of the game set, when this process made it
    (game.storage.cached_games.encode_change): its group event carries them to the room's other
    processes, whose copies of the game take them (game.storage.cached_games.GameCache.get)."""

    def encode(self) -> str:
        return json.dumps(self.message, separators=(",", ":"))

    def summary(self) -> dict[str, Any]:
        """The lobby's line for this room (docs/protocol.md, "Lobby feed")."""
        room, game, seats = self.message["room"], self.message["game"], self.message["players"]
        seated = [seat for seat in seats.values() if seat]
        everyone_here = all(seat["online"] for seat in seated)
        # Someone can act on it now: take the free seat against a player who is here, or watch two who are.
        challenge = game["status"] == "waiting" and len(seated) == 1 and everyone_here
        in_play = game["status"] == "playing" and len(seated) == 2 and everyone_here
        return {
            "code": room["code"],
            "name": room["name"],
            "size": room["size"],
            "win_length": room["win_length"],
            "players": len(seated),
            "spectators": self.message["spectators"],
            "status": game["status"],
            "open": room["open"],
            "names": {mark: seat["name"] if seat else None for mark, seat in seats.items()},
            # A seat's rating: null for a guest, or for a server that does not rate.
            "ratings": {mark: seat.get("rating") if seat else None for mark, seat in seats.items()},
            "here": self.message["spectators"] + sum(1 for seat in seated if seat["online"]),
            "joinable": challenge and room["open"],
            "listed": (challenge or in_play) and room["open"],
            "rated": room["rated"],
            "time_control": room["time_control"],
        }


def state_event(state: RoomState) -> dict[str, Any]:
    """The group message that carries a state to every socket of the room (and, read for it, its presence:
    the sessions here and the sockets without one; the stamp says when it was read)."""
    event = {"type": "room.state", "state": state.encode(), "seats": state.seats, "stamp": state.stamp}
    if state.presence is not None:
        event["presence"] = [state.presence.anonymous, *state.presence.sessions]
    if state.change is not None:
        event["change"] = state.change
    return event


def add_you(encoded_state: str, mark: str | None) -> str:
    """The encoded state with this socket's ``you`` appended, without encoding it again."""
    you = '{"mark":null}' if mark is None else f'{{"mark":"{mark}"}}'
    return f'{encoded_state[:-1]},"you":{you}}}'


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


def _first_move(game: Game) -> dict[str, Any] | None:
    """Who still owes a first move, and by when (until then no clock runs; missing it aborts the game)."""
    if game.status != Status.PLAYING or game.move_count >= 2 or game.deadline is None or game.turn is None:
        return None
    return {"mark": game.turn, "deadline": epoch_ms(game.deadline)}


def _idle(room: Room, game: Game) -> dict[str, Any] | None:
    """Without a clock: the player to move, since when, and from when the other may claim."""
    idle = idle_since(room, game)
    if idle is None:
        return None
    mark, since = idle
    return {"mark": mark, "since": epoch_ms(since), "claim_at": epoch_ms(since) + room.idle_seconds * 1000}


def _pool(room: Room) -> str | None:
    """The quick-play pool this room's players go to for a new opponent (None for a clock no pool takes)."""
    try:
        return pools.Pool.for_room(room.size, room.win_length, room.time_control).key
    except ValueError:
        return None


def _player(player: Any, seen: PresenceReading, at_board: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "name": player.name,
        # The computer is always there.
        "online": bool(player.bot_level) or player.session_hash in seen.sessions,
        "computer": player.bot_level or None,
        "username": at_board["username"] if at_board else None,
        "rating": None if at_board is None else {key: at_board[key] for key in ("value", "provisional", "change")},
    }


def _series(game: Game) -> dict[str, int]:
    """Wins of whoever sits in X and in O now, and draws, over this pair's games in the room."""
    series = series_after(game) if game.status in FINISHED_STATUSES else game.series
    wins = series.get("wins", {})
    return {
        "X": wins.get(str(game.player_x_id), 0) if game.player_x_id else 0,
        "O": wins.get(str(game.player_o_id), 0) if game.player_o_id else 0,
        "draws": series.get("draws", 0),
    }


def build(
    room: Room, game: Game, seen: PresenceReading, *, read_for_it: bool = True, change: str | None = None
) -> RoomState:
    """The room's state, from its game and a reading of its presence (``read_for_it``: read for this
    state, not reused: its group event carries the reading to the room's other processes), and the
    ``change`` that made the game's version, when this process wrote it (see :attr:`RoomState.change`)."""
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
            "idle_seconds": room.idle_seconds,
            "pool": _pool(room),
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
            "first_move": _first_move(game),
            "idle": _idle(room, game),
        },
        "players": {
            mark: None if player is None else _player(player, seen, game.ratings.get(mark))
            for mark, player in (("X", game.player_x), ("O", game.player_o))
        },
        "spectators": seen.spectators(set(seated)),
        "series": _series(game),
    }
    return RoomState(
        message=message,
        seats={"X": game.player_x_id, "O": game.player_o_id},
        stamp=(game.number, game.version, seen.read_at_us),
        presence=seen if read_for_it else None,
        change=change,
    )
