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

With several Redis shards (game/realtime/shards.py) a room's sorted set, its entry
in the lobby's activity set and the clock read with it are all on the shard
of the room's group, so one room's states are always ordered by one host's
clock, and a shard that goes away takes only its own rooms' presence with
it. A session's and an address's socket sets are on their own key's shard.

With the in-memory channel layer (one process, explicitly asked for) the
same bookkeeping lives in a dict (:class:`MemoryPresence`, here). The Redis
store is :class:`game.realtime.presence_redis.RedisPresence`; what both
share (the entries, the keys, a snapshot) is in presence_entries.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Sequence

from django.conf import settings

from game.realtime.presence_entries import (
    ANONYMOUS,
    LobbySocketEntry,
    PresenceSnapshot,
    SocketCounts,
    SocketEntry,
    member_name,
    snapshot_of,
)
from game.realtime.presence_redis import RedisPresence
from game.storage.per_process import kept

__all__ = [
    "LobbySocketEntry",
    "MemoryPresence",
    "PresenceRegistry",
    "PresenceSnapshot",
    "PresenceStore",
    "RedisPresence",
    "SocketCounts",
    "SocketEntry",
    "presence",
    "stores",
]


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
            member.split("|", 1)[0] == (session or ANONYMOUS)
            for members in self._rooms.values()
            for member in members.values()
        )
        return SocketCounts(
            in_room=len(self._rooms[room_code]),
            of_session=of_session if session else 1,
            of_address=len(self._addresses.get(address, ())) if address else 0,
        )

    shard_count = 1

    def room_shard(self, room_code: str) -> int:
        return 0

    async def shard_runs(self) -> list[str | None]:
        return ["in-memory"]

    async def refresh(
        self, sockets: Sequence[SocketEntry | LobbySocketEntry], *, shards: Collection[int] | None = None
    ) -> None:
        # Nothing expires here; only a resync needs entries put back.
        for entry in sockets:
            if isinstance(entry, LobbySocketEntry):
                self._lobby_addresses.setdefault(entry.address, set()).add(entry.connection_id)
                continue
            self._rooms.setdefault(entry.room_code, {})[entry.connection_id] = member_name(
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

    def snapshots_blocking(self, room_codes: list[str]) -> dict[str, PresenceSnapshot]:
        now_us = time.time_ns() // 1000
        return {code: snapshot_of(list(self._rooms.get(code, {}).values()), now_us) for code in room_codes}

    def ping_blocking(self, shard: int) -> None:
        return None


PresenceStore = RedisPresence | MemoryPresence


class PresenceRegistry:
    """The process's one presence store, made on first use to match the channel layer."""

    def __init__(self) -> None:
        self._store: PresenceStore | None = None

    def get(self) -> PresenceStore:
        if self._store is None:
            if settings.CHANNEL_LAYER == "memory":
                self._store = MemoryPresence()
            else:
                self._store = RedisPresence(settings.REDIS_URLS, settings.TICTAC["PRESENCE_TTL_SECONDS"])
        return self._store

    def use(self, store: PresenceStore) -> None:
        """Make ``store`` the process's presence (tests: a store on other servers, or none)."""
        self._store = store

    def reset(self) -> None:
        """Forget the store: the next use makes one from the settings, as a new process would (tests)."""
        self._store = None


stores = kept(PresenceRegistry())
"""The process's presence store (see :func:`presence`)."""


def presence() -> PresenceStore:
    """The process's presence store, chosen to match the channel layer."""
    return stores.get()
