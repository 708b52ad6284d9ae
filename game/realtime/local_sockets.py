"""This process's room and lobby sockets, and the four jobs that look after them.

Each job is its own task, started with the process's first socket and ending
once it has none; a step that fails is logged and the job carries on, so one
job's trouble never stops the others.

* **Heartbeat** (presence's, every third of the presence TTL): one task per process (not
  one per socket) keeps every local socket present in Redis, with one
  pipeline per 500 sockets. Lobby sockets ride on it too: presence counts
  them per client address, so that their cap holds over every process.
* **Hang-ups** (every ``CHECK_EVERY_SECONDS``): a socket whose client reads
  slower than its room talks (under a server with backpressure, such as
  uvicorn, its sends wait) has room messages pile up in its channel. Once
  more than ``MAX_PENDING_MESSAGES`` wait while it has been waiting on its
  client for a whole check, it is hung up with 1013 so it cannot hold memory
  without bound or miss messages silently; the page reconnects and gets a
  fresh state. A backlog alone is not enough: a burst of handshakes queues
  hundreds of states for every healthy socket for a moment.
* **Resync** (every ``CHECK_EVERY_SECONDS``): while Redis is away a committed
  move still reaches the mover (it is sent to its own socket directly) but
  nobody else: the group broadcast fails. So the process watches Redis (its
  run id, which a restart changes even when it falls between two looks),
  and when Redis answers again it waits until its own subscriptions carry
  messages again, then puts every local socket back in presence and sends
  each room's fresh state, so no page stays a move behind until the next
  move. Anything published between Redis's return and this process's
  resubscription is lost to pub/sub, but the fresh state read from the
  database afterwards contains it. With several Redis shards each is
  watched on its own: when one comes back, the entries kept on it are put
  back and only the rooms whose group it carries get a fresh state (the
  other shards' rooms missed nothing).
* **Room heartbeat** (every ``TICTAC["HEARTBEAT_SECONDS"]``): one
  ``room.heartbeat`` event per room this process has sockets in, sent to the
  room's group through the channel layer (so through Redis: a page that stops
  hearing them knows its room no longer reaches it, and says so), carrying the
  newest (game number, version) this process knows of the room, from its game
  cache and what its sockets have shown: no read. Each process serving a room
  sends its own, so a room's sockets hear one per process per interval. A
  socket that has shown an older game version than a heartbeat's reads the
  room again (:meth:`LocalSockets.state_at_least`, one read per room however
  many of its sockets ask): that closes the subscribe race, a state published
  between a socket's ``group_add`` and its subscription reaching Redis, which
  nothing would resend until the room's next change.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Collection, Hashable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from channels.layers import get_channel_layer
from django.conf import settings

from game.realtime import room_states
from game.realtime.presence import LobbySocketEntry, SocketEntry, presence
from game.realtime.shards import room_group
from game.storage.cached_games import GameVersion, game_cache
from game.storage.layer_internals import group_shard, pending_messages
from game.storage.per_process import kept

if TYPE_CHECKING:
    from game.actions.identities import Identity
    from game.domain.state_order import StateOrder
    from game.messages.state import RoomState
    from game.models import Room

logger = logging.getLogger(__name__)


class RoomSocket(Hashable, Protocol):
    """What the jobs here need of a room socket (game.web.room_consumer.RoomConsumer is one): this
    module is below the web layer, so it names what it uses rather than importing the consumer."""

    @property
    def room(self) -> Room | None:
        """None once the socket has left its room."""

    @property
    def channel_layer(self) -> Any: ...

    @property
    def channel_name(self) -> str: ...

    @property
    def identity(self) -> Identity: ...

    @property
    def address(self) -> str | None: ...

    @property
    def shown(self) -> StateOrder[Any]:
        """The states the socket has shown: its ``last`` stamp starts with (game number, version)."""

    @property
    def send_waiting_since(self) -> float | None:
        """When the send in progress started, if one is."""

    async def hang_up_backlogged(self, pending: int) -> None: ...

    async def push_state(self, state: RoomState) -> None: ...


CHECK_EVERY_SECONDS = 1.0
# Sockets refreshed per Redis pipeline: big enough to be cheap, small enough not to hold Redis up.
REFRESH_BATCH = 500
# Room heartbeats sent at once: the channel layer's connections are shared with the rooms' states.
HEARTBEAT_BATCH = 100

Step = Callable[[], Awaitable[None]]


class LocalSockets:
    """The sockets of this process, by room, and the jobs that run while there are any."""

    def __init__(
        self,
        *,
        check_every: float = CHECK_EVERY_SECONDS,
        heartbeat_every: float | None = None,
        room_heartbeat_every: float | None = None,
    ) -> None:
        """``heartbeat_every`` (presence's) is a third of the presence TTL unless given, ``room_heartbeat_every``
        ``TICTAC["HEARTBEAT_SECONDS"]``; tests give them shorter (or longer, to run each step themselves)."""
        self._check_every = check_every
        self._heartbeat_every = heartbeat_every
        self._room_heartbeat_every = room_heartbeat_every
        self._by_room: dict[str, set[RoomSocket]] = defaultdict(set)
        self._lobby: set[LobbySocketEntry] = set()
        self._jobs: dict[str, asyncio.Task[None]] = {}
        self._hang_ups: set[asyncio.Task[None]] = set()
        # Each Redis shard's run id at the last look (None: it did not answer); a shard not looked at yet is absent.
        self._shard_runs: dict[int, str | None] = {}
        # Each room's read under way for sockets behind a heartbeat, and the game version it was asked for.
        self._catch_ups: dict[str, tuple[GameVersion, asyncio.Future[RoomState]]] = {}

    def add(self, room_code: str, socket: RoomSocket) -> None:
        self._by_room[room_code].add(socket)
        self._start_jobs()

    def discard(self, room_code: str, socket: RoomSocket) -> None:
        sockets = self._by_room.get(room_code)
        if sockets is not None:
            sockets.discard(socket)
            if not sockets:
                del self._by_room[room_code]

    def add_lobby(self, entry: LobbySocketEntry) -> None:
        """Keep a lobby socket counted in presence while it is open."""
        self._lobby.add(entry)
        self._start_jobs()

    def discard_lobby(self, entry: LobbySocketEntry) -> None:
        self._lobby.discard(entry)

    def room_codes(self) -> list[str]:
        """The rooms this process has sockets in."""
        return list(self._by_room)

    def serves(self, room_code: str) -> bool:
        """Whether this process has a socket in the room."""
        return room_code in self._by_room

    def in_room(self, room_code: str) -> frozenset[RoomSocket]:
        """This process's sockets in the room."""
        return frozenset(self._by_room.get(room_code, ()))

    def __len__(self) -> int:
        return sum(len(sockets) for sockets in self._by_room.values())

    # --- The jobs ------------------------------------------------------------------

    @property
    def jobs(self) -> Mapping[str, asyncio.Task[None]]:
        """Each job's task, by name, as last started."""
        return dict(self._jobs)

    def _start_jobs(self) -> None:
        """Start each job that is not running in this event loop."""
        loop = asyncio.get_running_loop()
        heartbeat_every = self._heartbeat_every or settings.TICTAC["PRESENCE_TTL_SECONDS"] / 3
        room_heartbeat_every = self._room_heartbeat_every or settings.TICTAC["HEARTBEAT_SECONDS"]
        schedule: dict[str, tuple[Step, float]] = {
            "heartbeat": (self.keep_present, heartbeat_every),
            "hang-ups": (self.hang_up_the_backlogged, self._check_every),
            "resync": (self.resync_when_redis_returns, self._check_every),
            "room heartbeat": (self.send_room_heartbeats, room_heartbeat_every),
        }
        for name, (step, every) in schedule.items():
            task = self._jobs.get(name)
            if task is not None and not task.done() and task.get_loop() is loop:
                continue
            if name == "resync":
                self._shard_runs = {}  # a new watch starts from what it sees first
            # The resync's first look is at once: it is what a restart is told from, and a shard
            # restarted before it would leave the sockets opened just now out of presence.
            at_once = name == "resync"
            self._jobs[name] = loop.create_task(
                self._run(name, step, every, at_once=at_once), name=f"local sockets: {name}"
            )

    def _has_sockets(self) -> bool:
        return bool(self._by_room or self._lobby)

    async def _run(self, name: str, step: Step, every: float, *, at_once: bool = False) -> None:
        """Run ``step`` every ``every`` seconds while the process has sockets (``at_once``: first right
        away); log a step that fails."""
        wait = not at_once
        while self._has_sockets():
            if wait:
                await asyncio.sleep(every)
            wait = True
            try:
                await step()
            except Exception:
                logger.exception("local sockets' %s failed", name, extra={"job": name})

    def reset(self) -> None:
        """Forget every socket and stop the jobs, as a new process would start (tests)."""
        for task in self._jobs.values():
            if not task.done() and not task.get_loop().is_closed():
                task.cancel()
        self._jobs.clear()
        self._by_room.clear()
        self._lobby.clear()
        self._hang_ups.clear()
        self._shard_runs = {}
        self._catch_ups.clear()

    async def keep_present(self) -> None:
        """The heartbeat: refresh every local socket's presence, one pipeline per shard per ``REFRESH_BATCH``."""
        await self._refresh_all(shards=None)

    async def _refresh_all(self, shards: Collection[int] | None) -> None:
        """Refresh every local socket's presence kept on ``shards`` (None: every shard).

        A shard that fails leaves the others refreshed (presence runs each shard's pipeline to its
        end); the batches stop at the first failure, as the next heartbeat tries again anyway."""
        sockets: list[SocketEntry | LobbySocketEntry] = [
            _presence_entry(room_code, socket)
            for room_code, room_sockets in self._by_room.items()
            for socket in room_sockets
        ]
        sockets.extend(self._lobby)
        for start in range(0, len(sockets), REFRESH_BATCH):
            try:
                await presence().refresh(sockets[start : start + REFRESH_BATCH], shards=shards)
            except Exception:
                logger.warning("presence refresh failed", exc_info=True)
                return

    async def hang_up_the_backlogged(self) -> None:
        """Hang up every socket stuck in a send with more than ``MAX_PENDING_MESSAGES`` behind it."""
        limit = settings.TICTAC["MAX_PENDING_MESSAGES"]
        stalled_since = time.monotonic() - self._check_every
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

    async def resync_when_redis_returns(self) -> None:
        """Watch each Redis shard; when one answers again after it did not, or answers as another run (it
        restarted, empty, between two looks), resync what it holds."""
        runs = await presence().shard_runs()
        returned = {
            shard
            for shard, run in enumerate(runs)
            if run is not None and shard in self._shard_runs and self._shard_runs[shard] != run
        }
        if returned:
            await until_subscriptions_deliver(returned, len(runs))
            logger.info("redis is back (shards %s): resyncing %d sockets", sorted(returned), len(self))
            await self.resync(returned)
        self._shard_runs = dict(enumerate(runs))

    async def resync(self, shards: Collection[int] | None = None) -> None:
        """Put every local socket back in presence on ``shards`` (None: every shard) and send the state
        of each room whose group is on one of them."""
        await self._refresh_all(shards)
        store = presence()
        for room_code, sockets in list(self._by_room.items()):
            if shards is not None and store.room_shard(room_code) not in shards:
                continue
            live = [socket for socket in sockets if socket.room is not None]
            if not live:
                continue
            try:
                room = live[0].room
                assert room is not None
                state = await room_states.read(room)
                await asyncio.gather(*(socket.push_state(state) for socket in live))
            except Exception:
                logger.exception("resync failed", extra={"room": room_code})

    async def send_room_heartbeats(self) -> None:
        """The room heartbeat: send each room this process has sockets in the newest (game number, version)
        the process knows of it, through the room's group; ``HEARTBEAT_BATCH`` rooms at a time."""
        layer = get_channel_layer()
        if layer is None:
            return
        beats = [
            (room_code, latest)
            for room_code, sockets in list(self._by_room.items())
            if (latest := newest_known(sockets)) is not None
        ]
        failed = 0
        for start in range(0, len(beats), HEARTBEAT_BATCH):
            sent = await asyncio.gather(
                *(
                    layer.group_send(room_group(code), {"type": "room.heartbeat", "number": number, "version": version})
                    for code, (number, version) in beats[start : start + HEARTBEAT_BATCH]
                ),
                return_exceptions=True,
            )
            failed += sum(isinstance(outcome, Exception) for outcome in sent)
        if failed:
            # One line a round, not one a room: with Redis away every room fails.
            logger.warning("room heartbeats not sent", extra={"failed": failed, "rooms": len(beats)})

    async def state_at_least(self, room: Room, version: GameVersion) -> RoomState:
        """The room's state read now, for sockets that have shown less than ``version`` (a heartbeat's).

        Every local socket of a room hears the same heartbeat at once: they share
        one read, unless it was asked for an older version (it may have started
        before that version was committed).
        """
        under_way = self._catch_ups.get(room.code)
        if under_way is None or under_way[0] < version:
            reading = asyncio.ensure_future(room_states.read(room))
            entry = (version, reading)
            self._catch_ups[room.code] = entry

            def done(_: asyncio.Future[RoomState]) -> None:
                if self._catch_ups.get(room.code) is entry:
                    del self._catch_ups[room.code]

            reading.add_done_callback(done)
            under_way = entry
        # Shielded: a socket that leaves while it waits must not cancel the others' read.
        return await asyncio.shield(under_way[1])


def newest_known(sockets: Collection[RoomSocket]) -> GameVersion | None:
    """The newest (game number, version) this process knows of the sockets' room: its game cache's copy, the
    newest state published to it, and what each socket has shown; None before any socket has shown one."""
    live = [socket for socket in sockets if socket.room is not None]
    if not live:
        return None
    room = live[0].room
    assert room is not None
    known = [version for version in game_cache.versions(room.pk) if version is not None]
    known.extend(shown[:2] for socket in live if (shown := socket.shown.last) is not None)
    return max(known, default=None)


def _presence_entry(room_code: str, socket: RoomSocket) -> SocketEntry:
    """What presence knows a socket by: its room, its channel, its session and its address."""
    return SocketEntry(room_code, socket.channel_name, socket.identity.session_hash, socket.address)


async def until_subscriptions_deliver(shards: Collection[int] = (0,), shard_count: int = 1, attempts: int = 30) -> None:
    """Wait until a message sent through each of ``shards`` to a fresh channel of this process comes back.

    Subscribing the probe makes the layer's pub/sub connection to that shard
    reconnect (and resubscribe every channel and group it had); the echo
    proves it did. The probe goes through a group that lives on the shard:
    a group's messages take its shard's connection, whichever shard the
    channel's own name hashes to.
    """
    layer = get_channel_layer()
    if layer is None:
        return
    for shard in shards:
        group = _probe_group(shard, shard_count, layer)
        for _ in range(attempts):
            try:
                probe = await layer.new_channel("tictac-probe.")
                await layer.group_add(group, probe)
                await layer.group_send(group, {"type": "probe"})
                await asyncio.wait_for(layer.receive(probe), 1.0)
                await layer.group_discard(group, probe)
                break
            except Exception:
                await asyncio.sleep(0.5)
        else:
            logger.warning("channel layer subscriptions on shard %d did not come back; resyncing anyway", shard)


def _probe_group(shard: int, shard_count: int, layer: object) -> str:
    """A group of this process alone (no other's probe reaches it) that the layer puts on ``shard``."""
    while True:  # 1 in shard_count names lands on the shard
        group = f"tictac-probe.{secrets.token_hex(8)}"
        if shard_count == 1 or group_shard(group, layer) == shard:
            return group


local_sockets = kept(LocalSockets())
