"""What a host does from the admin, applied and then told live to the room's sockets."""

from __future__ import annotations

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from game.actions import hosts
from game.domain import rules
from game.messages.lobby import LOBBY_GROUP
from game.messages.state import state_event
from game.models import Room
from game.realtime import room_states
from game.realtime.shards import room_group


def _group_send(group: str, message: dict[str, object]) -> None:
    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(layer.group_send)(group, message)


def publish(room: Room) -> None:
    """Send the room's current state to its sockets and the lobby."""
    state = room_states.read_blocking(room)
    _group_send(room_group(room.code), state_event(state))
    _group_send(LOBBY_GROUP, {"type": "lobby.room", "room": state.summary()})


def close_room(room: Room) -> None:
    hosts.close_room(room)
    state = room_states.read_blocking(room)
    _group_send(room_group(room.code), {**state_event(state), "type": "room.closed"})
    _group_send(LOBBY_GROUP, {"type": "lobby.room", "room": state.summary()})


def kick(room: Room, mark: rules.Mark) -> bool:
    """Free a seat; the player who held it is told and disconnected. False if it was free."""
    player_id = hosts.kick(room, mark)
    if player_id is None:
        return False
    _group_send(room_group(room.code), {"type": "room.kicked", "player_id": player_id})
    publish(room)
    return True
