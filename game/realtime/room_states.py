"""Read the room now and build its state: its game from the service layer, who is here from presence.

``game.messages.state`` builds a state from values and reads nothing; this is where
the values are read. A consumer, a task or a view asks here for "the room's
state now" (:func:`read`, :func:`read_blocking`), and hands here what a
published state teaches this process (:func:`note_received`).
"""

from __future__ import annotations

from typing import Any

from game.actions.endings import is_due, settle
from game.actions.write import acurrent_game, current_game, forget_room
from game.messages.state import PresenceReading, RoomState, build
from game.models import Game, Room
from game.realtime import presence_readings
from game.realtime.presence import PresenceSnapshot, presence
from game.realtime.presence_readings import last_presence
from game.storage.cached_games import game_cache


async def read(room: Room, game: Game | None = None, *, reuse_presence: bool = False) -> RoomState:
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
    if seen is not None:
        return _build(room, game, seen, read_for_it=False)
    return _build(room, game, await presence_readings.read(room.code))


def read_blocking(room: Room, *, reuse_presence: bool = False) -> RoomState:
    """:func:`read` for synchronous code (views, the admin).

    A game the server should have ended on its own by now (a flag fell while
    no process had a socket in the room to referee it) is ended first.
    ``reuse_presence`` is for the room page, whose socket sends the room's
    state again as it connects: it may show this process's last reading
    (see :meth:`LastPresence.reusable`) rather than hold the database thread,
    which the sockets share, for a round trip to Redis.
    """
    game = current_game(room)
    if is_due(room, game):
        game = settle(room) or current_game(room)
    seen = last_presence.reusable(room.code) if reuse_presence else None
    if seen is not None:
        return _build(room, game, seen, read_for_it=False)
    return _build(room, game, presence().snapshots_blocking([room.code])[room.code])


def _build(room: Room, game: Game, seen: PresenceReading, *, read_for_it: bool = True) -> RoomState:
    """The state, with the change that made its game's version if this process wrote it."""
    change = game_cache.change_to(room.pk, game.number, game.version)
    return build(room, game, seen, read_for_it=read_for_it, change=change)


def note_received(room: Room, event: dict[str, Any]) -> None:
    """What this process learns from a state that reached it through the room's group: the change to the
    game it carries (see :meth:`GameCache.note_published`), and the presence reading it carries (one read
    for it); a newer reading it does not carry ends the reuse of this process's own, older one (see
    :class:`LastPresence`)."""
    number, game_version, read_at_us = event["stamp"]
    carried = event.get("presence")
    if carried is not None:
        anonymous, *sessions = carried
        last_presence.keep(room.code, PresenceSnapshot(frozenset(sessions), int(anonymous), int(read_at_us)))
    else:
        last_presence.forget_older_than(room.code, read_at_us)
    game_cache.note_published(room.pk, number, game_version, event["seats"], event.get("change"))


def forget(room: Room) -> None:
    """This process's last socket in the room has left: drop what it cached about the room."""
    forget_room(room)
    last_presence.forget(room.code)
