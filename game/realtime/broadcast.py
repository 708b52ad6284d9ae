"""Telling a room (and the lobby) about a committed change, through the channel layer."""

from __future__ import annotations

import logging
from typing import Any

from channels.layers import BaseChannelLayer, get_channel_layer

from game.messages.lobby import LOBBY_GROUP
from game.messages.state import RoomState, state_event
from game.realtime.metrics import BROADCASTS_FAILED
from game.realtime.shards import room_group

logger = logging.getLogger(__name__)


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


async def publish(state: RoomState, *, lobby: bool = True, layer: BaseChannelLayer | None = None) -> None:
    """Send a state to every socket of its room, and its summary to the lobby.

    The state describes something already committed, so a broadcast that
    fails (Redis away) loses nothing: pages are resynced when Redis is back
    (see local_sockets).
    """
    layer = layer or get_channel_layer()
    if layer is None:
        return
    await group_send(layer, room_group(state.message["room"]["code"]), state_event(state))
    if lobby:
        await group_send(layer, LOBBY_GROUP, {"type": "lobby.room", "room": state.summary()})
