"""This process's copy of each room's game: one owner, immutable values.

The move path judges against this copy and skips the SELECT. It may be stale
(another process moved), which is safe: an acceptance is confirmed by the
version compare-and-swap, and a refusal is judged again against a fresh read
before it is given. The actions own it (``game.actions.write`` stores every
game it reads or writes, and drops a copy that may hold rolled-back changes);
the state messages hand it the states other workers publish
(``game.realtime.room_states.note_received``), so a process that did not make the last move
still skips the SELECT.

What is kept is a :class:`Snapshot`: the game's column values and its two
seats' players as frozen data (JSON values as tuples). :meth:`GameCache.get`
builds a new Game, with new Players, from it on every call, so nothing a
caller does to what it got, and nothing the cache does later, reaches the
other: a change is stored only once it is written. Actions may run on more
than one thread (the database thread that sockets and page views share, a
management command's); an entry is only ever replaced whole.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Final, NamedTuple, TypeVar

from django.db.models import Model
from django.db.models.base import ModelState

from game.domain import rules
from game.models import Game, Player, Room, encode_board
from game.storage.per_process import kept

# The per-room caches of a process (games here, presence readings in
# presence_readings.py) hold the rooms it has sockets in; a room is forgotten
# when its last local socket leaves (room_states.forget). Rooms only read over
# HTTP are not, so past this many a cache starts again from empty rather than
# grow with every room the process has ever served.
ROOMS_REMEMBERED = 10_000

WRITTEN_FOR: Final = {"django": "5.2"}
"""The releases this was written for, checked at start-up (tictac.servers.written_for);
game/tests/test_upgrade_django_internals.py checks what is used here."""

RoomKey = TypeVar("RoomKey")
Cached = TypeVar("Cached")


class RoomCache(dict[RoomKey, Cached]):
    """One of this process's per-room caches, held to ROOMS_REMEMBERED rooms."""

    def keep(self, room: RoomKey, value: Cached) -> None:
        if room not in self and len(self) >= ROOMS_REMEMBERED:
            self.clear()
        self[room] = value


# --- Frozen values --------------------------------------------------------------


class _FrozenDict(tuple[tuple[str, Any], ...]):
    """A JSON object, frozen: its items, each value frozen."""

    __slots__ = ()


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _freeze(value: Any) -> Any:
    """A JSON value with its arrays as tuples and its objects as _FrozenDicts."""
    kind = type(value)
    if kind is list or kind is tuple:
        return tuple([item if type(item) in _SCALARS else _freeze(item) for item in value])
    if kind is dict:
        return _FrozenDict([(key, item if type(item) in _SCALARS else _freeze(item)) for key, item in value.items()])
    return value


def _thaw(value: Any) -> Any:
    """A new JSON value, of lists and dicts, from a frozen one."""
    kind = type(value)
    if kind is tuple:
        return [item if type(item) in _SCALARS else _thaw(item) for item in value]
    if kind is _FrozenDict:
        return {key: item if type(item) in _SCALARS else _thaw(item) for key, item in value}
    return value


_GAME_FIELDS = frozenset(field.attname for field in Game._meta.concrete_fields)
_PLAYER_FIELDS = frozenset(field.attname for field in Player._meta.concrete_fields)
# The JSON columns (history, line, series): the only values of a row that can be changed in place.
_GAME_JSON = tuple(field.attname for field in Game._meta.concrete_fields if field.get_internal_type() == "JSONField")


def _columns(instance: Model, names: frozenset[str]) -> dict[str, Any] | None:
    """A new dict of the instance's column values; None if one is not loaded (deferred: never for the services)."""
    values = instance.__dict__.copy()
    del values["_state"]
    if values.keys() != names:  # something else was set on it, or a column is missing
        if not names <= values.keys():
            return None
        values = {name: values[name] for name in names}
    return values


def _built(model: type[Model], values: dict[str, Any], db: str | None) -> Any:
    """A model instance with these field values, made as unpickling makes one (no __init__, no query)."""
    instance = model.__new__(model)
    instance.__dict__ = values
    state = instance._state = ModelState()
    state.adding = False
    state.db = db
    return instance


class Snapshot(NamedTuple):
    """A room's game as it was written (or read): its column values and its seats' players, frozen.

    Every value in it is immutable (JSON values frozen, the mappings read-only
    views of dicts nobody else holds).
    """

    game: MappingProxyType[str, Any]
    """The Game's column values by attribute name, JSON values frozen."""
    player_x: MappingProxyType[str, Any] | None
    """The Player's column values by attribute name."""
    player_o: MappingProxyType[str, Any] | None
    db: str | None

    @property
    def number(self) -> int:
        return int(self.game["number"])

    @property
    def version(self) -> int:
        return int(self.game["version"])

    @classmethod
    def of(cls, game: Game) -> Snapshot | None:
        """``game`` frozen; None if a column or a seat's player is not loaded (never so for the services' games)."""
        values = _columns(game, _GAME_FIELDS)
        if values is None:
            return None
        for name in _GAME_JSON:
            value = values[name]
            if type(value) not in _SCALARS:
                values[name] = _freeze(value)
        fields_cache = game._state.fields_cache
        seats: list[MappingProxyType[str, Any] | None] = []
        for field, key in (("player_x", game.player_x_id), ("player_o", game.player_o_id)):
            if key is None:
                seats.append(None)
                continue
            player = fields_cache.get(field)
            seat = None if player is None or player.pk != key else _columns(player, _PLAYER_FIELDS)
            if seat is None:
                return None
            seats.append(MappingProxyType(seat))
        return cls(MappingProxyType(values), seats[0], seats[1], game._state.db)

    def game_for(self, room: Room) -> Game:
        """A new Game (with new Players) of this snapshot, in ``room``."""
        values = self.game.copy()  # a new dict
        for name in _GAME_JSON:
            values[name] = _thaw(values[name])
        game: Game = _built(Game, values, self.db)
        player_x, player_o = self.player_x, self.player_o
        game._state.fields_cache = {
            "room": room,
            "player_x": None if player_x is None else _built(Player, player_x.copy(), self.db),
            "player_o": None if player_o is None else _built(Player, player_o.copy(), self.db),
        }
        return game


# --- Published states -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PublishedGame:
    """The newest state of a room's game that reached this process through the room's group."""

    number: int
    version: int
    seats: tuple[tuple[str, int | None], ...]
    encoded: str
    """The state message as published: its Game fields are read (game_fields) only when a copy needs them."""


def _from_epoch_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def game_fields(encoded_state: str) -> dict[str, Any]:
    """The Game fields an encoded state describes: what a move, resign, claim, offer or rematch request changes.

    The inverse of the ``game`` part of ``game.messages.state.build`` (docs/protocol.md's ``state``).
    """
    state = json.loads(encoded_state)
    game = state["game"]
    offer = game["offer"] or {"kind": "", "by": ""}
    fields = {
        "board": encode_board(tuple(game["board"])),
        "history": game["history"],
        "move_count": game["moves"],
        "turn": game["turn"],
        "status": game["status"],
        "reason": game["reason"] or "",
        "winner": game["winner"],
        "line": game["line"],
        "rematch_x": "X" in game["rematch"],
        "rematch_o": "O" in game["rematch"],
        "offer_kind": offer["kind"],
        "offer_by": offer["by"],
        "finished_at": _from_epoch_ms(game["finished_at"]) if game["finished_at"] else None,
    }
    for mark in rules.MARKS:
        away = game["absent"].get(mark)
        fields[f"{mark.lower()}_left_at"] = _from_epoch_ms(away["since"]) if away else None
    clock = game["clock"] or {"X": None, "O": None, "since": None, "deadline": None}
    # A turn's start is the running clock's, or without a clock the idle countdown's; a deadline is
    # the running clock's, or a first move's (no clock runs until both have made one).
    since = clock["since"] if clock["since"] is not None else (game["idle"] or {}).get("since")
    deadline = clock["deadline"] if clock["deadline"] is not None else (game["first_move"] or {}).get("deadline")
    fields |= {
        "clock_x_ms": clock["X"],
        "clock_o_ms": clock["O"],
        "turn_started_at": _from_epoch_ms(since) if since is not None else None,
        "deadline": _from_epoch_ms(deadline) if deadline is not None else None,
        "ratings": {
            mark: {"username": seat["username"], **seat["rating"]}
            for mark, seat in state["players"].items()
            if seat is not None and seat["rating"] is not None
        },
    }
    return fields


def _seats(seats: dict[str, int | None]) -> tuple[tuple[str, int | None], ...]:
    return tuple(sorted(seats.items()))


# --- The cache ----------------------------------------------------------------------

GameVersion = tuple[int, int]
"""(game number, Game.version): larger is newer."""


class GameCache:
    """This process's game per room (its own copy, and the newest state other workers published)."""

    def __init__(self) -> None:
        self._copies: RoomCache[int, Snapshot] = RoomCache()
        self._published: RoomCache[int, PublishedGame] = RoomCache()

    def get(self, room: Room) -> Game | None:
        """A game of the caller's own: this process's copy of the room's game, or None.

        Brought up to date with a newer published state of the same game, if
        there is one. A state is published only after its change has
        committed, and it carries every field that a change to the same game
        with the same players makes, so the result is the stored row at the
        published version. Anything else (a new game, a seat taken or freed) is
        left to the version check, which fails and makes the action read the
        game again.
        """
        snapshot = self._copies.get(room.pk)
        if snapshot is None:
            return None
        game = snapshot.game_for(room)
        published = self._published.get(room.pk)
        if (
            published is None
            or published.number != game.number
            or published.version <= game.version
            or published.seats != ((rules.O, game.player_o_id), (rules.X, game.player_x_id))
        ):
            return game
        for name, value in game_fields(published.encoded).items():
            setattr(game, name, value)
        game.version = published.version
        return game

    def store(self, game: Game) -> None:
        """``game``, as read or as written (committed, or dropped with :meth:`discard` if it rolls back), is the copy.

        What is kept is a snapshot: changing ``game`` afterwards changes nothing here.
        """
        snapshot = Snapshot.of(game)
        if snapshot is None:
            self._copies.pop(game.room_id, None)
        else:
            self._copies.keep(game.room_id, snapshot)

    def note_published(
        self, room_pk: int, number: int, version: int, seats: dict[str, int | None], encoded: str
    ) -> None:
        """Keep the newest published state of a room's game, to bring this process's copy up to date.

        With a game's players on two workers, each move is made on the worker
        that did not make the last one: without this, every move found its
        worker's copy a move behind, lost its compare-and-swap and read the game
        again. Every socket of the room in this process hands over the same
        state, so what is known already is turned away before anything is made
        (and the state is parsed only when a copy needs it).
        """
        mine = self._copies.get(room_pk)
        if mine is not None and (mine.number, mine.version) >= (number, version):
            return  # this process's copy has it already: most often the change was made here
        known = self._published.get(room_pk)
        if known is not None and (known.number, known.version) >= (number, version):
            return
        self._published.keep(room_pk, PublishedGame(number, version, _seats(seats), encoded))

    def discard(self, room_pk: int) -> None:
        """Drop this process's copy of the room's game: it may hold changes that were rolled back."""
        self._copies.pop(room_pk, None)

    def discard_all(self) -> None:
        """Drop every copy: a batch that failed may have touched any of them."""
        self._copies.clear()

    def forget(self, room_pk: int) -> None:
        """This process has no socket in the room any more: drop all it holds about the room's game.

        Only a cost if the room comes back (a read instead of a copy): the
        version check, not the cache, is what keeps a move right.
        """
        self._copies.pop(room_pk, None)
        self._published.pop(room_pk, None)

    def versions(self, room_pk: int) -> tuple[GameVersion | None, GameVersion | None]:
        """What is held for the room: the copy's (number, version) and the newest published state's; None for none."""
        mine = self._copies.get(room_pk)
        published = self._published.get(room_pk)
        return (
            None if mine is None else (mine.number, mine.version),
            None if published is None else (published.number, published.version),
        )

    def reset(self) -> None:
        """Hold nothing, as a new process (the tests start each from here)."""
        self._copies.clear()
        self._published.clear()


game_cache = kept(GameCache())
"""The process's one game cache."""
