"""This process's room sockets, and what they are told when Redis comes back.

While Redis is away a committed move still reaches the mover (it is sent to
its own socket directly) but nobody else: the group broadcast fails. So each
process watches Redis while it has sockets, and when Redis answers again it
waits until its own subscriptions carry messages again, then puts every
local socket back in presence and sends each room's fresh state, so no page
stays a move behind until the next move. Anything published between Redis's
return and this process's resubscription is lost to pub/sub, but the fresh
state read from the database afterwards contains it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from typing import TYPE_CHECKING

from channels.layers import get_channel_layer

from .presence import presence
from .state import room_state

if TYPE_CHECKING:
    from .consumers import RoomConsumer

logger = logging.getLogger(__name__)

CHECK_EVERY_SECONDS = 1.0


class LocalSockets:
    def __init__(self) -> None:
        self._by_room: dict[str, set[RoomConsumer]] = defaultdict(set)
        self._watcher: asyncio.Task[None] | None = None

    def add(self, room_code: str, socket: RoomConsumer) -> None:
        self._by_room[room_code].add(socket)
        loop = asyncio.get_running_loop()
        if self._watcher is None or self._watcher.done() or self._watcher.get_loop() is not loop:
            self._watcher = loop.create_task(self._watch())

    def discard(self, room_code: str, socket: RoomConsumer) -> None:
        sockets = self._by_room.get(room_code)
        if sockets is not None:
            sockets.discard(socket)
            if not sockets:
                del self._by_room[room_code]

    def __len__(self) -> int:
        return sum(len(sockets) for sockets in self._by_room.values())

    async def _watch(self) -> None:
        healthy = True
        while self._by_room:
            await asyncio.sleep(CHECK_EVERY_SECONDS)
            answered = await presence().ping()
            if answered and not healthy:
                await _until_subscriptions_deliver()
                logger.info("redis is back: resyncing %d sockets", len(self))
                await self.resync()
            healthy = answered

    async def resync(self) -> None:
        """Put every local socket back in presence and send each room's state."""
        for room_code, sockets in list(self._by_room.items()):
            live = [socket for socket in sockets if socket.room is not None]
            if not live:
                continue
            try:
                for socket in live:
                    await presence().add(room_code, socket.channel_name, socket.identity.session_key)
                room = live[0].room
                assert room is not None
                state = await room_state(room)
                await asyncio.gather(*(socket.push_state(state) for socket in live))
            except Exception:
                logger.exception("resync failed", extra={"room": room_code})


async def _until_subscriptions_deliver(attempts: int = 30) -> None:
    """Wait until a message sent to a fresh channel of this process comes back.

    Subscribing the probe makes the layer's pub/sub connection reconnect (and
    resubscribe every channel and group it had); the echo proves it did.
    """
    layer = get_channel_layer()
    if layer is None:
        return
    for _ in range(attempts):
        try:
            probe = await layer.new_channel("tictac-probe.")
            await layer.send(probe, {"type": "probe"})
            await asyncio.wait_for(layer.receive(probe), 1.0)
            return
        except Exception:
            await asyncio.sleep(0.5)
    logger.warning("channel layer subscriptions did not come back; resyncing anyway")


local_sockets = LocalSockets()
