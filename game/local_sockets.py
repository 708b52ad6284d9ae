"""This process's room sockets: their presence heartbeat, who falls behind, and
what they are told when Redis comes back.

One task per process (not one per socket) keeps every local socket present
in Redis, with one pipeline per 500 sockets every third of the presence TTL.
Lobby sockets ride on the same heartbeat: presence counts them per client
address, so that their cap holds over every process.

A socket whose client reads slower than its room talks (under a server with
backpressure, such as uvicorn, its sends wait) has room messages pile up in
its channel. Once more than ``MAX_PENDING_MESSAGES`` wait while it has been
waiting on its client for a whole check, it is hung up with 1013 so it
cannot hold memory without bound or miss messages silently; the page
reconnects and gets a fresh state. A backlog alone is not enough: a burst of
handshakes queues hundreds of states for every healthy socket for a moment.

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
import time
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from channels.layers import InMemoryChannelLayer, get_channel_layer
from channels_redis.core import RedisChannelLayer
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.conf import settings

from .presence import LobbySocketEntry, SocketEntry, presence
from .state import room_state

if TYPE_CHECKING:
    from .consumers import RoomConsumer

logger = logging.getLogger(__name__)

CHECK_EVERY_SECONDS = 1.0
# Sockets refreshed per Redis pipeline: big enough to be cheap, small enough not to hold Redis up.
REFRESH_BATCH = 500


class LocalSockets:
    def __init__(self) -> None:
        self._by_room: dict[str, set[RoomConsumer]] = defaultdict(set)
        self._lobby: set[LobbySocketEntry] = set()
        self._watcher: asyncio.Task[None] | None = None
        self._hang_ups: set[asyncio.Task[None]] = set()

    def add(self, room_code: str, socket: RoomConsumer) -> None:
        self._by_room[room_code].add(socket)
        self._start_watching()

    def add_lobby(self, entry: LobbySocketEntry) -> None:
        """Keep a lobby socket counted in presence while it is open."""
        self._lobby.add(entry)
        self._start_watching()

    def discard_lobby(self, entry: LobbySocketEntry) -> None:
        self._lobby.discard(entry)

    def _start_watching(self) -> None:
        loop = asyncio.get_running_loop()
        if self._watcher is None or self._watcher.done() or self._watcher.get_loop() is not loop:
            self._watcher = loop.create_task(self._watch())

    def discard(self, room_code: str, socket: RoomConsumer) -> None:
        sockets = self._by_room.get(room_code)
        if sockets is not None:
            sockets.discard(socket)
            if not sockets:
                del self._by_room[room_code]

    def room_codes(self) -> list[str]:
        """The rooms this process has sockets in."""
        return list(self._by_room)

    def serves(self, room_code: str) -> bool:
        """Whether this process has a socket in the room."""
        return room_code in self._by_room

    def __len__(self) -> int:
        return sum(len(sockets) for sockets in self._by_room.values())

    async def _watch(self) -> None:
        healthy = True
        refresh_every = settings.TICTAC["PRESENCE_TTL_SECONDS"] / 3
        refreshed_at = time.monotonic()
        while self._by_room or self._lobby:
            await asyncio.sleep(CHECK_EVERY_SECONDS)
            self.hang_up_the_backlogged()
            if time.monotonic() - refreshed_at >= refresh_every:
                refreshed_at = time.monotonic()
                await self.keep_present()
            answered = await presence().ping()
            if answered and not healthy:
                await _until_subscriptions_deliver()
                logger.info("redis is back: resyncing %d sockets", len(self))
                await self.resync()
            healthy = answered

    async def keep_present(self) -> None:
        """Refresh every local socket's presence: one heartbeat for the process, not a task per socket."""
        sockets: list[SocketEntry | LobbySocketEntry] = [
            _presence_entry(room_code, socket)
            for room_code, room_sockets in self._by_room.items()
            for socket in room_sockets
        ]
        sockets.extend(self._lobby)
        for start in range(0, len(sockets), REFRESH_BATCH):
            try:
                await presence().refresh(sockets[start : start + REFRESH_BATCH])
            except Exception:
                logger.warning("presence refresh failed", exc_info=True)
                return

    def hang_up_the_backlogged(self) -> None:
        """Hang up every socket stuck in a send with more than ``MAX_PENDING_MESSAGES`` behind it."""
        limit = settings.TICTAC["MAX_PENDING_MESSAGES"]
        stalled_since = time.monotonic() - CHECK_EVERY_SECONDS
        for sockets in list(self._by_room.values()):
            for socket in list(sockets):
                waiting_since = socket.send_waiting_since
                if waiting_since is None or waiting_since > stalled_since:
                    continue
                pending = pending_messages(socket.channel_layer, socket.channel_name)
                if pending > limit:
                    # Its own task: the close frame may wait behind what the client has not read.
                    task = asyncio.create_task(socket.hang_up_backlogged(pending))
                    self._hang_ups.add(task)
                    task.add_done_callback(self._hang_ups.discard)

    async def resync(self) -> None:
        """Put every local socket back in presence and send each room's state."""
        if self._lobby:
            try:
                await presence().refresh(list(self._lobby))
            except Exception:
                logger.exception("resync of lobby sockets failed")
        for room_code, sockets in list(self._by_room.items()):
            live = [socket for socket in sockets if socket.room is not None]
            if not live:
                continue
            try:
                await presence().refresh([_presence_entry(room_code, socket) for socket in live])
                room = live[0].room
                assert room is not None
                state = await room_state(room)
                await asyncio.gather(*(socket.push_state(state) for socket in live))
            except Exception:
                logger.exception("resync failed", extra={"room": room_code})


def _presence_entry(room_code: str, socket: RoomConsumer) -> SocketEntry:
    """What presence knows a socket by: its room, its channel, its session and its address."""
    return SocketEntry(room_code, socket.channel_name, socket.identity.session_hash, socket.address)


def pending_messages(layer: Any, channel: str) -> int:
    """How many messages wait in this process for ``channel`` to take them.

    Channels has no public call for this, so it reads each layer's own queue
    per channel: unbounded for the Redis layers (their local buffer), bounded
    by its capacity for the in-memory one.
    """
    if isinstance(layer, RedisPubSubChannelLayer):
        queue = layer._get_layer().channels.get(channel)
    elif isinstance(layer, RedisChannelLayer):
        queue = layer.receive_buffer.get(channel)
    elif isinstance(layer, InMemoryChannelLayer):
        queue = layer.channels.get(channel)
    else:
        return 0
    return queue.qsize() if queue is not None else 0


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
