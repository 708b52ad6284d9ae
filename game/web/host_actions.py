"""What a host does from the admin, applied and then announced live, as any action is.

The admin's views are synchronous: each change is announced through
``async_to_sync(broadcast.announce)``. Under the ASGI server that runs on the
server's event loop (the view's thread waits), so the computer's turn it may
start goes on after the view returns; the room's state is read on the
view's own thread, the database thread the page views share.
"""

from __future__ import annotations

from asgiref.sync import async_to_sync

from game.actions import hosts
from game.domain import rules
from game.models import Room
from game.realtime.broadcast import announce, tell_room


def publish(room: Room) -> None:
    """Announce a change the admin made to the room (its sockets, the lobby, the computer)."""
    async_to_sync(announce)(room)


def close_room(room: Room) -> None:
    hosts.close_room(room)
    async_to_sync(announce)(room, closing=True)


def kick(room: Room, mark: rules.Mark) -> bool:
    """Free a seat; the player who held it is told and disconnected. False if it was free."""
    player_id = hosts.kick(room, mark)
    if player_id is None:
        return False
    async_to_sync(_announce_kick)(room, player_id)
    return True


async def _announce_kick(room: Room, player_id: int) -> None:
    await tell_room(room, {"type": "room.kicked", "player_id": player_id})
    await announce(room)
