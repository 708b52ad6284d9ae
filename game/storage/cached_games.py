"""This process's copy of each room's game: one owner, immutable values.

The move path judges against this copy and skips the SELECT. It may be stale
(another process moved), which is safe: an acceptance is confirmed by the
version compare-and-swap, and a refusal is judged again against a fresh read
before it is given. The actions own it (``game.actions.write`` stores every
game it reads or writes, and drops a copy that may hold rolled-back changes);
what another process wrote reaches it as that write's columns (a *change*, made
here by :meth:`GameCache.store` from what the action wrote, carried in the room's
state event and handed back by ``game.realtime.room_states.note_received``), so a
process that did not make the last move still skips the SELECT.

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
from datetime import datetime
from types import MappingProxyType
from typing import Any, Final, NamedTuple, TypeVar

from django.db.models import Field, Model
from django.db.models.base import ModelState

from game.domain import rules
from game.models import Game, Player, Room
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
    change: str | None = None
    """The columns the write that made this version set (:func:`encode_change`); None for a game as read."""

    @property
    def number(self) -> int:
        return int(self.game["number"])

    @property
    def version(self) -> int:
        return int(self.game["version"])

    @classmethod
    def of(cls, game: Game, change: str | None = None) -> Snapshot | None:
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
        return cls(MappingProxyType(values), seats[0], seats[1], game._state.db, change)

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


# --- Changes written elsewhere ---------------------------------------------------------

_GAME_FIELDS_BY_NAME: dict[str, Field[Any, Any]] = {field.name: field for field in Game._meta.concrete_fields}
_GAME_FIELDS_BY_ATTNAME: dict[str, Field[Any, Any]] = {field.attname: field for field in Game._meta.concrete_fields}

# How many changes in a row a process keeps for a room before it stops (its copy is then read again
# when it is needed). A process with only spectators in a room never writes its game, so the changes
# it is sent would otherwise pile up for as long as the game lasts.
CHANGES_KEPT = 16


def encode_change(written: dict[str, Any]) -> str:
    """What one write set (``{field name: value}``, as given to the compare-and-swap) as JSON text:
    column values by attribute name, a related object by its key, a time in ISO 8601 (exact)."""
    columns = {}
    for name, value in written.items():
        field = _GAME_FIELDS_BY_NAME[name]
        columns[field.attname] = getattr(value, "pk", value) if field.is_relation else value
    return json.dumps(columns, separators=(",", ":"), default=_time_as_text)


def _time_as_text(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not a column value a change can carry")


def _apply_change(game: Game, change: str) -> None:
    """Set on ``game`` the columns a change carries, each turned back into its field's Python value."""
    for attname, value in json.loads(change).items():
        setattr(game, attname, _GAME_FIELDS_BY_ATTNAME[attname].to_python(value))


@dataclass(frozen=True, slots=True)
class PublishedChanges:
    """The changes to a room's game that reached this process through the room's group, in order:
    applied on top of a copy at any version from ``base`` up to just below ``version``, they give the
    game at ``version``."""

    number: int
    base: int
    version: int
    seats: tuple[tuple[str, int | None], ...]
    changes: tuple[str, ...]
    """Each write's :func:`encode_change` text, oldest first; parsed only when a copy needs them."""

    def follow(
        self, number: int, version: int, seats: tuple[tuple[str, int | None], ...], change: str
    ) -> PublishedChanges:
        """These changes with the next one after them, or the next one alone when it does not follow on."""
        if (number, version - 1, seats) == (self.number, self.version, self.seats) and len(self.changes) < CHANGES_KEPT:
            return PublishedChanges(number, self.base, version, seats, (*self.changes, change))
        return PublishedChanges(number, version - 1, version, seats, (change,))


def _seats(seats: dict[str, int | None]) -> tuple[tuple[str, int | None], ...]:
    return tuple(sorted(seats.items()))


# --- The cache ----------------------------------------------------------------------

GameVersion = tuple[int, int]
"""(game number, Game.version): larger is newer."""


class GameCache:
    """This process's game per room (its own copy, and the changes other workers wrote since)."""

    def __init__(self) -> None:
        self._copies: RoomCache[int, Snapshot] = RoomCache()
        self._published: RoomCache[int, PublishedChanges] = RoomCache()

    def get(self, room: Room) -> Game | None:
        """A game of the caller's own: this process's copy of the room's game, or None.

        Brought up to date with the changes other processes wrote to the same
        game since, if they all reached this process. A change is published
        only after it has committed, and it is every column its write set, so
        the result is the stored row at the newest version. Anything else (a
        change missed, a new game, a seat taken or freed) is left to the
        version check, which fails and makes the action read the game again.
        """
        snapshot = self._copies.get(room.pk)
        if snapshot is None:
            return None
        game = snapshot.game_for(room)
        published = self._published.get(room.pk)
        if (
            published is None
            or published.number != game.number
            or not published.base <= game.version < published.version
            or published.seats != ((rules.O, game.player_o_id), (rules.X, game.player_x_id))
        ):
            return game
        for change in published.changes:
            _apply_change(game, change)
        game.version = published.version
        return game

    def store(self, game: Game, written: dict[str, Any] | None = None) -> None:
        """``game``, as read or as written (committed, or dropped with :meth:`discard` if it rolls back), is the copy.

        ``written``: the columns the write set, for :meth:`change_to`. What is
        kept is a snapshot: changing ``game`` afterwards changes nothing here.
        """
        snapshot = Snapshot.of(game, None if written is None else encode_change(written))
        if snapshot is None:
            self._copies.pop(game.room_id, None)
        else:
            self._copies.keep(game.room_id, snapshot)

    def change_to(self, room_pk: int, number: int, version: int) -> str | None:
        """The columns this process's write of that version of the room's game set, if its copy is that write."""
        mine = self._copies.get(room_pk)
        if mine is None or (mine.number, mine.version) != (number, version):
            return None
        return mine.change

    def note_published(
        self, room_pk: int, number: int, version: int, seats: dict[str, int | None], change: str | None
    ) -> None:
        """Keep a change another process published, to bring this process's copy up to date.

        With a game's players on two workers, each move is made on the worker
        that did not make the last one: without this, every move found its
        worker's copy a move behind, lost its compare-and-swap and read the game
        again. Every socket of the room in this process hands over the same
        state, so what is known already is turned away at once. A newer state
        without its change (read by a process that did not write it) leaves
        nothing to build on.
        """
        mine = self._copies.get(room_pk)
        if mine is not None and (mine.number, mine.version) >= (number, version):
            return  # this process's copy has it already: most often the change was made here
        known = self._published.get(room_pk)
        if known is not None and (known.number, known.version) >= (number, version):
            return
        if change is None:
            self._published.pop(room_pk, None)
        elif known is None:
            self._published.keep(room_pk, PublishedChanges(number, version - 1, version, _seats(seats), (change,)))
        else:
            self._published.keep(room_pk, known.follow(number, version, _seats(seats), change))

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
