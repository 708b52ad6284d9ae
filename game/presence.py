"""Who is looking at a room right now, across every server process.

Each open socket is an entry in a Redis sorted set per room (named by its
session's hash, never the session key), scored by the
time it expires. Its process refreshes the entry while it lives (see
local_sockets) and the socket removes it when it closes; the expiry cleans
up after a process that died without closing its sockets. Each snapshot
carries Redis's clock at the moment it was read, one clock for every
process, so a state built from an older look at presence can be told apart
from a newer one (even after Redis restarts, which a counter would not
survive).

With the in-memory channel layer (one process, explicitly asked for) the
same bookkeeping lives in a dict.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import redis as redis_sync
import redis.asyncio as redis
from django.conf import settings

_KEY_PREFIX = "tictac:presence:"
# Every room's last moment with someone present, in epoch seconds: what the lobby ranks by.
_ACTIVITY_KEY = "tictac:room-activity"
# Activity older than this is dropped from the set now and then (the lobby looks back 10 minutes).
_ACTIVITY_KEPT_SECONDS = 24 * 60 * 60
_SESSION_PREFIX = "tictac:session-sockets:"
_ADDRESS_PREFIX = "tictac:address-sockets:"
_LOBBY_ADDRESS_PREFIX = "tictac:lobby-sockets:"
_ANONYMOUS = "-"


@dataclass(frozen=True)
class SocketCounts:
    in_room: int
    of_session: int
    of_address: int = 0
    """Room sockets open from the socket's IP address, in every room and process."""


class SocketEntry(NamedTuple):
    """What presence knows a socket by."""

    room_code: str
    connection_id: str
    session: str | None
    """The session's hash (never its key), or None for a socket without a session."""
    address: str | None = None
    """The client's IP address, for the per-address socket count."""


class LobbySocketEntry(NamedTuple):
    """A lobby socket, counted per client address only (the lobby has no presence of its own)."""

    connection_id: str
    address: str


@dataclass(frozen=True)
class PresenceSnapshot:
    """The sessions with at least one open socket, and sockets without a session."""

    sessions: frozenset[str]
    anonymous: int
    read_at_us: int
    """When it was read, in microseconds of Redis's clock."""

    def spectators(self, seated_sessions: set[str]) -> int:
        """People watching: sessions that hold no seat, plus sockets without a session."""
        return len(self.sessions - seated_sessions) + self.anonymous


def _session_sockets_key(connection_id: str, session: str | None) -> str:
    """The key of a session's sockets (a socket without a session is a session of its own)."""
    return _SESSION_PREFIX + (session or _ANONYMOUS + connection_id)


def _member(connection_id: str, session: str | None) -> str:
    return f"{session or _ANONYMOUS}|{connection_id}"


def _keyed_members(entry: SocketEntry | LobbySocketEntry) -> list[tuple[str, str]]:
    """The sorted sets a socket is a member of, and its member name in each: its room's, its
    session's, and its address's when known (a lobby socket: its address's lobby sockets)."""
    if isinstance(entry, LobbySocketEntry):
        return [(_LOBBY_ADDRESS_PREFIX + entry.address, entry.connection_id)]
    keyed = [
        (_KEY_PREFIX + entry.room_code, _member(entry.connection_id, entry.session)),
        (_session_sockets_key(entry.connection_id, entry.session), entry.connection_id),
    ]
    if entry.address:
        keyed.append((_ADDRESS_PREFIX + entry.address, entry.connection_id))
    return keyed


def _snapshot(members: list[str], read_at_us: int) -> PresenceSnapshot:
    sessions = set()
    anonymous = 0
    for member in members:
        session = member.split("|", 1)[0]
        if session == _ANONYMOUS:
            anonymous += 1
        else:
            sessions.add(session)
    return PresenceSnapshot(frozenset(sessions), anonymous, read_at_us)


class RedisPresence:
    def __init__(self, url: str, ttl_seconds: int) -> None:
        self.url = url
        self.ttl_seconds = ttl_seconds
        # redis.asyncio clients belong to the event loop that made them.
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, redis.Redis] = weakref.WeakKeyDictionary()
        self._sync_client: redis_sync.Redis | None = None

    def client(self) -> redis.Redis:
        """This event loop's client of presence's Redis (budgets share it)."""
        return self._client()

    def blocking_client(self) -> redis_sync.Redis:
        """The synchronous client (views; budgets share it)."""
        return self._blocking_client()

    def _client(self) -> redis.Redis:
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            # A blocking pool makes a burst of connects queue for a connection
            # instead of failing once every connection is in use.
            pool = redis.BlockingConnectionPool.from_url(
                self.url,
                decode_responses=True,
                socket_timeout=5,
                socket_connect_timeout=2,
                max_connections=100,
                timeout=10,
                driver_info=settings.REDIS_DRIVER_INFO,
            )
            client = redis.Redis(connection_pool=pool)
            self._clients[loop] = client
        return client

    async def ping(self) -> bool:
        """Whether Redis answers now."""
        try:
            return bool(await self._client().ping())
        except (redis_sync.RedisError, OSError):
            return False

    async def add(
        self, room_code: str, connection_id: str, session: str | None, address: str | None = None
    ) -> SocketCounts:
        """Mark a socket present (or still present); count the room's, the session's and the address's sockets."""
        now = time.time()
        expires = now + self.ttl_seconds
        entry = SocketEntry(room_code, connection_id, session, address)
        async with self._client().pipeline(transaction=True) as pipe:
            for key, member in _keyed_members(entry):
                pipe.zadd(key, {member: expires})
                pipe.zremrangebyscore(key, "-inf", now)
                pipe.zcard(key)
                pipe.expire(key, self.ttl_seconds * 4)
            pipe.zadd(_ACTIVITY_KEY, {room_code: now})
            replies = await pipe.execute()
        return SocketCounts(
            in_room=int(replies[2]), of_session=int(replies[6]), of_address=int(replies[10]) if address else 0
        )

    async def refresh(self, sockets: Sequence[SocketEntry | LobbySocketEntry]) -> None:
        """Keep these sockets present for another TTL, in one pipeline."""
        now = time.time()
        expires = now + self.ttl_seconds
        rooms = {entry.room_code for entry in sockets if isinstance(entry, SocketEntry)}
        async with self._client().pipeline(transaction=False) as pipe:
            if rooms:
                pipe.zadd(_ACTIVITY_KEY, dict.fromkeys(rooms, now))
                pipe.zremrangebyscore(_ACTIVITY_KEY, "-inf", now - _ACTIVITY_KEPT_SECONDS)
            for entry in sockets:
                for key, member in _keyed_members(entry):
                    pipe.zadd(key, {member: expires})
                    pipe.expire(key, self.ttl_seconds * 4)
            await pipe.execute()

    async def remove(self, room_code: str, connection_id: str, session: str | None, address: str | None = None) -> None:
        async with self._client().pipeline(transaction=True) as pipe:
            for key, member in _keyed_members(SocketEntry(room_code, connection_id, session, address)):
                pipe.zrem(key, member)
            pipe.zadd(_ACTIVITY_KEY, {room_code: time.time()})
            await pipe.execute()

    async def add_lobby_socket(self, entry: LobbySocketEntry) -> int:
        """Count a lobby socket open (or still open); how many its address has open in every process."""
        now = time.time()
        ((key, member),) = _keyed_members(entry)
        async with self._client().pipeline(transaction=True) as pipe:
            pipe.zadd(key, {member: now + self.ttl_seconds})
            pipe.zremrangebyscore(key, "-inf", now)
            pipe.zcard(key)
            pipe.expire(key, self.ttl_seconds * 4)
            replies = await pipe.execute()
        return int(replies[2])

    async def remove_lobby_socket(self, entry: LobbySocketEntry) -> None:
        ((key, member),) = _keyed_members(entry)
        await self._client().zrem(key, member)

    def active_rooms_blocking(self, since: float, limit: int) -> dict[str, float]:
        """The rooms someone was present in at ``since`` (epoch seconds) or later, most recent first, at most
        ``limit``: each with that last moment."""
        replies: list[tuple[str, float]] = self._blocking_client().zrevrangebyscore(  # type: ignore[assignment]
            _ACTIVITY_KEY, "+inf", since, start=0, num=limit, withscores=True
        )
        return {str(code): float(score) for code, score in replies}

    async def snapshot(self, room_code: str) -> PresenceSnapshot:
        return (await self.snapshots([room_code]))[room_code]

    async def snapshots(self, room_codes: list[str]) -> dict[str, PresenceSnapshot]:
        async with self._client().pipeline(transaction=False) as pipe:
            _queue_snapshot_reads(pipe, room_codes)
            replies = await pipe.execute()
        return _parse_snapshot_replies(room_codes, replies)

    def snapshots_blocking(self, room_codes: list[str]) -> dict[str, PresenceSnapshot]:
        """:meth:`snapshots` for synchronous code (views, the database thread)."""
        with self._blocking_client().pipeline(transaction=False) as pipe:
            _queue_snapshot_reads(pipe, room_codes)
            replies = pipe.execute()
        return _parse_snapshot_replies(room_codes, replies)

    def ping_blocking(self) -> None:
        self._blocking_client().ping()

    def _blocking_client(self) -> redis_sync.Redis:
        if self._sync_client is None:
            self._sync_client = redis_sync.Redis.from_url(
                self.url,
                decode_responses=True,
                socket_timeout=2,
                socket_connect_timeout=2,
                driver_info=settings.REDIS_DRIVER_INFO,
            )
        return self._sync_client


def _queue_snapshot_reads(pipe: Any, room_codes: list[str]) -> None:
    now = time.time()
    for code in room_codes:
        key = _KEY_PREFIX + code
        pipe.zremrangebyscore(key, "-inf", now)
        pipe.zrange(key, 0, -1)
    pipe.time()


def _parse_snapshot_replies(room_codes: list[str], replies: list[Any]) -> dict[str, PresenceSnapshot]:
    seconds, microseconds = replies[-1]
    read_at_us = int(seconds) * 1_000_000 + int(microseconds)
    return {code: _snapshot(replies[2 * index + 1], read_at_us) for index, code in enumerate(room_codes)}


class MemoryPresence:
    """Presence for a single process (the in-memory channel layer)."""

    def __init__(self) -> None:
        self._rooms: dict[str, dict[str, str]] = {}
        self._addresses: dict[str, set[str]] = {}
        self._lobby_addresses: dict[str, set[str]] = {}
        self._activity: dict[str, float] = {}

    async def add(
        self, room_code: str, connection_id: str, session: str | None, address: str | None = None
    ) -> SocketCounts:
        await self.refresh([SocketEntry(room_code, connection_id, session, address)])
        of_session = sum(
            member.split("|", 1)[0] == (session or _ANONYMOUS)
            for members in self._rooms.values()
            for member in members.values()
        )
        return SocketCounts(
            in_room=len(self._rooms[room_code]),
            of_session=of_session if session else 1,
            of_address=len(self._addresses.get(address, ())) if address else 0,
        )

    async def refresh(self, sockets: Sequence[SocketEntry | LobbySocketEntry]) -> None:
        # Nothing expires here; only a resync needs entries put back.
        for entry in sockets:
            if isinstance(entry, LobbySocketEntry):
                self._lobby_addresses.setdefault(entry.address, set()).add(entry.connection_id)
                continue
            self._rooms.setdefault(entry.room_code, {})[entry.connection_id] = _member(
                entry.connection_id, entry.session
            )
            if entry.address:
                self._addresses.setdefault(entry.address, set()).add(entry.connection_id)
            self._activity[entry.room_code] = time.time()

    async def remove(self, room_code: str, connection_id: str, session: str | None, address: str | None = None) -> None:
        self._rooms.get(room_code, {}).pop(connection_id, None)
        if address:
            self._addresses.get(address, set()).discard(connection_id)
        self._activity[room_code] = time.time()

    async def add_lobby_socket(self, entry: LobbySocketEntry) -> int:
        await self.refresh([entry])
        return len(self._lobby_addresses[entry.address])

    async def remove_lobby_socket(self, entry: LobbySocketEntry) -> None:
        self._lobby_addresses.get(entry.address, set()).discard(entry.connection_id)

    def active_rooms_blocking(self, since: float, limit: int) -> dict[str, float]:
        recent = sorted(((at, code) for code, at in self._activity.items() if at >= since), reverse=True)
        return {code: at for at, code in recent[:limit]}

    async def snapshot(self, room_code: str) -> PresenceSnapshot:
        return self.snapshots_blocking([room_code])[room_code]

    async def snapshots(self, room_codes: list[str]) -> dict[str, PresenceSnapshot]:
        return self.snapshots_blocking(room_codes)

    async def ping(self) -> bool:
        return True

    def snapshots_blocking(self, room_codes: list[str]) -> dict[str, PresenceSnapshot]:
        now_us = time.time_ns() // 1000
        return {code: _snapshot(list(self._rooms.get(code, {}).values()), now_us) for code in room_codes}

    def ping_blocking(self) -> None:
        return None


_store: RedisPresence | MemoryPresence | None = None


def presence() -> RedisPresence | MemoryPresence:
    """The process's presence store, chosen to match the channel layer."""
    global _store
    if _store is None:
        if settings.CHANNEL_LAYER == "memory":
            _store = MemoryPresence()
        else:
            _store = RedisPresence(settings.REDIS_URL, settings.TICTAC["PRESENCE_TTL_SECONDS"])
    return _store
