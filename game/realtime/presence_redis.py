"""Presence in Redis (game.realtime.presence): a sorted set per room of its sockets, on the channel layer's shards.

Each open socket is an entry in its room's sorted set, named by its
session's hash and scored by the time it expires; a session's and an
address's sockets have sets of their own (see game.realtime.presence for the
whole account, and presence_entries for the keys).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence
from typing import Any, TypeVar

import redis as redis_sync

from game.realtime.presence_entries import (
    ACTIVITY_KEPT_SECONDS,
    ACTIVITY_KEY,
    ROOM_KEY_PREFIX,
    LobbySocketEntry,
    PresenceSnapshot,
    SocketCounts,
    SocketEntry,
    keyed_members,
    snapshot_of,
)
from game.realtime.shards import RedisShards


class RedisPresence:
    """Presence in Redis, on the channel layer's shards: a room's sorted set (and the activity entry and
    clock read with it) on its group's shard, a session's or an address's sockets on their key's own."""

    def __init__(self, urls: Sequence[str], ttl_seconds: int) -> None:
        self.shards = RedisShards(urls)
        self.ttl_seconds = ttl_seconds

    @property
    def shard_count(self) -> int:
        return len(self.shards)

    def room_shard(self, room_code: str) -> int:
        """The shard of the room's presence: its group's."""
        return self.shards.of_room(room_code)

    async def shard_runs(self) -> list[str | None]:
        """Each shard's run id, in ``REDIS_URLS`` order: a Redis server's, new each time it starts (so a
        restart shows even between two looks); None for a shard that does not answer."""
        return await _each(range(len(self.shards)), self._run_id)

    async def _run_id(self, shard: int) -> str | None:
        client = self.shards.client(shard)
        try:
            try:
                info = await client.info("server")
                return str(info["run_id"])
            except (redis_sync.ResponseError, KeyError):
                # A Redis that refuses INFO (some hosted ones) is told answering, not which run it is:
                # only a return after a look that found it away is seen then.
                return "answers" if await client.ping() else None
        except (redis_sync.RedisError, OSError):
            return None

    async def add(
        self, room_code: str, connection_id: str, session: str | None, address: str | None = None
    ) -> SocketCounts:
        """Mark a socket present (or still present); count the room's, the session's and the address's sockets.

        One transaction per shard the socket's keys are on, run together (one, with one shard)."""
        now = time.time()
        expires = now + self.ttl_seconds
        pipelines = _Pipelines(self.shards)
        counts = []
        for shard, key, member in self._placed(SocketEntry(room_code, connection_id, session, address)):
            pipelines.queue(shard, "zadd", key, {member: expires})
            pipelines.queue(shard, "zremrangebyscore", key, "-inf", now)
            counts.append(pipelines.queue(shard, "zcard", key))
            pipelines.queue(shard, "expire", key, self.ttl_seconds * 4)
        pipelines.queue(self.room_shard(room_code), "zadd", ACTIVITY_KEY, {room_code: now})
        replies = await pipelines.run(transaction=True)
        return SocketCounts(
            in_room=int(replies[counts[0]]),
            of_session=int(replies[counts[1]]),
            of_address=int(replies[counts[2]]) if address else 0,
        )

    async def refresh(
        self, sockets: Sequence[SocketEntry | LobbySocketEntry], *, shards: Collection[int] | None = None
    ) -> None:
        """Keep these sockets present for another TTL: one pipeline per shard, run together.

        ``shards``: only the keys on these (a shard that came back); every shard's pipeline runs even
        when another's fails, which is then raised."""
        now = time.time()
        expires = now + self.ttl_seconds
        pipelines = _Pipelines(self.shards, only=shards)
        rooms = {entry.room_code for entry in sockets if isinstance(entry, SocketEntry)}
        for shard, codes in self.shards.group(rooms, self.room_shard).items():
            pipelines.queue(shard, "zadd", ACTIVITY_KEY, dict.fromkeys(codes, now))
            pipelines.queue(shard, "zremrangebyscore", ACTIVITY_KEY, "-inf", now - ACTIVITY_KEPT_SECONDS)
        for entry in sockets:
            for shard, key, member in self._placed(entry):
                pipelines.queue(shard, "zadd", key, {member: expires})
                pipelines.queue(shard, "expire", key, self.ttl_seconds * 4)
        await pipelines.run(transaction=False)

    async def remove(self, room_code: str, connection_id: str, session: str | None, address: str | None = None) -> None:
        pipelines = _Pipelines(self.shards)
        for shard, key, member in self._placed(SocketEntry(room_code, connection_id, session, address)):
            pipelines.queue(shard, "zrem", key, member)
        pipelines.queue(self.room_shard(room_code), "zadd", ACTIVITY_KEY, {room_code: time.time()})
        await pipelines.run(transaction=True)

    async def add_lobby_socket(self, entry: LobbySocketEntry) -> int:
        """Count a lobby socket open (or still open); how many its address has open in every process."""
        now = time.time()
        ((shard, key, member),) = self._placed(entry)
        async with self.shards.client(shard).pipeline(transaction=True) as pipe:
            pipe.zadd(key, {member: now + self.ttl_seconds})
            pipe.zremrangebyscore(key, "-inf", now)
            pipe.zcard(key)
            pipe.expire(key, self.ttl_seconds * 4)
            replies = await pipe.execute()
        return int(replies[2])

    async def remove_lobby_socket(self, entry: LobbySocketEntry) -> None:
        ((shard, key, member),) = self._placed(entry)
        await self.shards.client(shard).zrem(key, member)

    def active_rooms_blocking(self, since: float, limit: int) -> dict[str, float]:
        """The rooms someone was present in at ``since`` (epoch seconds) or later, most recent first, at most
        ``limit``: each with that last moment.

        Each shard keeps its own rooms' activity (written with their presence, in the same pipeline), so
        the lobby merges the shards' top lists: the ``limit`` most recent of all are among them."""
        found: list[tuple[str, float]] = []
        for shard in range(len(self.shards)):
            replies: list[tuple[str, float]] = self.shards.blocking_client(shard).zrevrangebyscore(  # type: ignore[assignment]
                ACTIVITY_KEY, "+inf", since, start=0, num=limit, withscores=True
            )
            found.extend(replies)
        if len(self.shards) > 1:
            found = sorted(found, key=lambda reply: reply[1], reverse=True)[:limit]
        return {str(code): float(score) for code, score in found}

    async def snapshot(self, room_code: str) -> PresenceSnapshot:
        return (await self.snapshots([room_code]))[room_code]

    async def snapshots(self, room_codes: list[str]) -> dict[str, PresenceSnapshot]:
        """Each room's presence, read with its own shard's clock: one pipeline per shard, run together."""
        by_shard = self.shards.group(room_codes, self.room_shard)
        seen: dict[str, PresenceSnapshot] = {}
        for read in await _each(by_shard.items(), self._snapshots_on):
            seen.update(read)
        return seen

    async def _snapshots_on(self, shard_codes: tuple[int, list[str]]) -> dict[str, PresenceSnapshot]:
        shard, codes = shard_codes
        async with self.shards.client(shard).pipeline(transaction=False) as pipe:
            _queue_snapshot_reads(pipe, codes)
            replies = await pipe.execute()
        return _parse_snapshot_replies(codes, replies)

    def snapshots_blocking(self, room_codes: list[str]) -> dict[str, PresenceSnapshot]:
        """:meth:`snapshots` for synchronous code (views, the database thread): one shard after another."""
        seen: dict[str, PresenceSnapshot] = {}
        for shard, codes in self.shards.group(room_codes, self.room_shard).items():
            with self.shards.blocking_client(shard).pipeline(transaction=False) as pipe:
                _queue_snapshot_reads(pipe, codes)
                replies = pipe.execute()
            seen.update(_parse_snapshot_replies(codes, replies))
        return seen

    def ping_blocking(self, shard: int) -> None:
        self.shards.blocking_client(shard).ping()

    def _placed(self, entry: SocketEntry | LobbySocketEntry) -> list[tuple[int, str, str]]:
        """The socket's sorted sets with its member name in each, and the shard of each: the room's
        set on the room's shard, the others on their own key's."""
        keyed = [(self.shards.of_key(key), key, member) for key, member in keyed_members(entry)]
        if isinstance(entry, SocketEntry):
            _, room_key, room_member = keyed[0]
            keyed[0] = (self.room_shard(entry.room_code), room_key, room_member)
        return keyed


Handle = tuple[int, int]
"""Where a command was queued: its shard, and its place in that shard's pipeline."""


class _Pipelines:
    """Commands for one or more shards: one pipeline per shard, run together."""

    def __init__(self, shards: RedisShards, *, only: Collection[int] | None = None) -> None:
        """``only``: commands for any other shard are dropped."""
        self._shards = shards
        self._only = only
        self._commands: dict[int, list[tuple[str, tuple[Any, ...]]]] = {}

    def queue(self, shard: int, command: str, *args: Any) -> Handle:
        commands = self._commands.setdefault(shard, [])
        commands.append((command, args))
        return shard, len(commands) - 1

    async def run(self, *, transaction: bool) -> _Replies:
        """Every shard's pipeline, each to its end; the first failure is raised after all have run."""
        queued = {
            shard: commands for shard, commands in self._commands.items() if self._only is None or shard in self._only
        }

        async def execute(shard_commands: tuple[int, list[tuple[str, tuple[Any, ...]]]]) -> list[Any]:
            shard, commands = shard_commands
            async with self._shards.client(shard).pipeline(transaction=transaction) as pipe:
                for command, args in commands:
                    getattr(pipe, command)(*args)
                replies: list[Any] = await pipe.execute()
            return replies

        return _Replies(dict(zip(queued, await _each(queued.items(), execute), strict=True)))


class _Replies:
    def __init__(self, by_shard: dict[int, list[Any]]) -> None:
        self._by_shard = by_shard

    def __getitem__(self, handle: Handle) -> Any:
        shard, place = handle
        return self._by_shard[shard][place]


Job = TypeVar("Job")
Done = TypeVar("Done")


async def _each(jobs: Iterable[Job], run: Callable[[Job], Awaitable[Done]]) -> list[Done]:
    """``run`` each job, together; with one, in this task (no task made: the one-shard case costs what it
    did before there were shards). Every job runs to its end before the first failure is raised."""
    jobs = list(jobs)
    if len(jobs) == 1:
        return [await run(jobs[0])]
    outcomes = await asyncio.gather(*(run(job) for job in jobs), return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
    return outcomes  # type: ignore[return-value]


def _queue_snapshot_reads(pipe: Any, room_codes: list[str]) -> None:
    now = time.time()
    for code in room_codes:
        key = ROOM_KEY_PREFIX + code
        pipe.zremrangebyscore(key, "-inf", now)
        pipe.zrange(key, 0, -1)
    pipe.time()


def _parse_snapshot_replies(room_codes: list[str], replies: list[Any]) -> dict[str, PresenceSnapshot]:
    seconds, microseconds = replies[-1]
    read_at_us = int(seconds) * 1_000_000 + int(microseconds)
    return {code: snapshot_of(replies[2 * index + 1], read_at_us) for index, code in enumerate(room_codes)}
