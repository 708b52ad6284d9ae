"""Telling a room (and the lobby, and the computer) about a committed change: :func:`announce`.

Every action ends here, whoever made it: a room's socket, the referee, the
computer, quick play's pairing, the admin (from synchronous code, through
``async_to_sync``). :func:`announce` reads the room's state, publishes it to
the room's group and the lobby through the channel layer (one retry, the
``tictac_broadcasts_failed_total`` metric when that fails too), then hands it
to the computer, which takes its turn if the state gives it one and
announces its answer the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from channels.layers import BaseChannelLayer, get_channel_layer

from game.messages.lobby import LOBBY_GROUP
from game.messages.state import RoomState, state_event
from game.models import Game, Room
from game.realtime import room_states
from game.realtime.computer_turns import computer_players
from game.realtime.metrics import BROADCASTS_FAILED
from game.realtime.shards import room_group

logger = logging.getLogger(__name__)

ShowFirst = Callable[[RoomState], Awaitable[None]]
"""The acting socket's own send: it sees its change before the room's group carries it to the others."""


async def announce(
    room: Room,
    game: Game | None = None,
    *,
    state: RoomState | None = None,
    reuse_presence: bool = False,
    lobby: bool = True,
    closing: bool = False,
    first: ShowFirst | None = None,
    client: str | None = None,
    layer: BaseChannelLayer | None = None,
) -> RoomState:
    """End an action on ``room``, already committed: tell its sockets, the lobby and the computer.

    The state is read now (``game``: the game the action wrote, when the caller
    has it; ``reuse_presence``: see :func:`room_states.read`), unless the caller
    read it already (``state``). ``first`` is sent it before anyone else.
    ``lobby=False`` leaves the lobby out (a move that ends nothing changes no
    summary); ``closing`` sends it as the room's last (``room.closed``: its
    sockets close). ``client`` is whom the computer's searches in the room
    count against, when the action is the person's own. Returns the state.
    """
    if state is None:
        state = await room_states.read(room, game, reuse_presence=reuse_presence)
    if first is not None:
        await first(state)
    await publish(state, lobby=lobby, closing=closing, layer=layer)
    # Whatever process publishes a state the computer has something to do in gives it its turn.
    computer_players.after(room, state, client=client, announce=announce)
    return state


async def publish(
    state: RoomState, *, lobby: bool = True, closing: bool = False, layer: BaseChannelLayer | None = None
) -> None:
    """Send a state to every socket of its room, and its summary to the lobby.

    The state describes something already committed, so a broadcast that
    fails (Redis away) loses nothing: pages are resynced when Redis is back
    (see local_sockets).
    """
    layer = layer or get_channel_layer()
    if layer is None:
        return
    event = state_event(state)
    if closing:
        event = {**event, "type": "room.closed"}
    await group_send(layer, room_group(state.message["room"]["code"]), event)
    if lobby:
        await group_send(layer, LOBBY_GROUP, {"type": "lobby.room", "room": state.summary()})


async def tell_room(room: Room, message: dict[str, Any], layer: BaseChannelLayer | None = None) -> bool:
    """Send one group message to ``room``'s sockets (a notice, not a state); as :func:`group_send`."""
    layer = layer or get_channel_layer()
    return layer is not None and await group_send(layer, room_group(room.code), message)


async def group_send(layer: BaseChannelLayer, group: str, message: dict[str, Any]) -> bool:
    """Send to a group; False (logged and counted) when the layer could not be reached.

    The first publish after Redis restarts meets a connection the server
    closed; the pool replaces it, so one more try goes through.
    """
    for attempt in (1, 2):
        try:
            await layer.group_send(group, message)
            return True
        except Exception:
            if attempt == 2:
                BROADCASTS_FAILED.inc()
                logger.warning("broadcast failed", extra={"group": group}, exc_info=True)
    return False
