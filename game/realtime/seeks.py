"""Quick play's seeks: who waits for an opponent in which pool, across every server process.

A seek is a session waiting in one pool (``game.domain.pools``) with one socket or
more open on the waiting page. It is kept in Redis, never in the database:
a seek alone makes no row. A new seek is paired with the oldest live seek
of another session (and another account) in the same pool, and both are
taken out of the pool in the same step, by one Lua script: of two workers
pairing at once, each sees what the other's script left, so a seek is
paired once.

What Redis holds, all on one shard (game/realtime/shards.py: the shard the name
``tictac:seeks:`` hashes to), so that one script sees a session's seek in
every pool and a session holds at most one seek in all of them:

- ``tictac:seeks:seek:<session hash>``: a hash: its pool, client address,
  user id, and the seek as JSON (:class:`Seeker` without its sockets);
- ``tictac:seeks:sockets:<session hash>``: a sorted set of the channel names
  of its waiting sockets, scored by when each expires (epoch ms): a seek is
  live while one has not expired. Each socket refreshes its score every
  :data:`REFRESH_EVERY_SECONDS`, so the seeks of a worker that died expire
  within :data:`SEEK_TTL_SECONDS`;
- ``tictac:seeks:pool:<pool key>``: a sorted set of the sessions waiting in
  the pool, scored by when they started: the oldest first;
- ``tictac:seeks:address:<address>``: the sessions seeking from an address.

Keys are named inside the scripts, not passed as KEYS: a partner's keys are
only known once the script has found it. That is why every key is on one
shard. Every key expires a while after its last refresh, so nothing is left
behind when every worker dies.

With the in-memory channel layer (one process) the same bookkeeping lives
in dicts, as presence and budgets do.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from django.conf import settings

from game.realtime.presence import MemoryPresence, presence
from game.realtime.shards import RedisShards
from game.storage.per_process import kept

_PREFIX: Final = "tictac:seeks:"
SEEK_TTL_SECONDS: Final = 30
"""A waiting socket's seek expires this long after its last refresh."""
REFRESH_EVERY_SECONDS: Final = 10
MAX_SOCKETS_PER_SEEK: Final = 5
"""Tabs of one session that may wait on one seek together (all go to the room once it is paired)."""
SCAN_LIMIT: Final = 50
"""How many of a pool's oldest seeks one pairing looks at: dead ones it meets are dropped, so a later look
gets further."""


@dataclass(frozen=True)
class Seeker:
    """A session waiting in a pool, as its seek says."""

    session: str
    """The session's hash (never its key)."""
    user_id: int | None
    name: str | None
    """The name to sit under: typed before, or the session's Player's; None for the default."""
    address: str | None = None
    channels: tuple[str, ...] = ()
    """The channel names of its waiting sockets, when it was taken out of the pool."""

    def entry(self) -> str:
        return json.dumps({"session": self.session, "user": self.user_id, "name": self.name, "address": self.address})

    @classmethod
    def from_entry(cls, entry: str, channels: list[str]) -> Seeker:
        fields = json.loads(entry)
        return cls(fields["session"], fields["user"], fields["name"], fields["address"], tuple(channels))


@dataclass(frozen=True)
class Outcome:
    """What came of putting a seek into its pool."""

    status: Literal["waiting", "paired", "refused"]
    waiting: int = 0
    """Seeks waiting in the pool, this one included (``waiting``)."""
    mine: Seeker | None = None
    """This session, with every socket that waited on its seek (``paired``)."""
    partner: Seeker | None = None
    """The other session, with its sockets (``paired``)."""
    replaced: tuple[str, ...] = ()
    """The sockets of this session's seek in another pool, which this one replaced."""
    refusal: Literal["", "address", "sockets"] = ""
    """Too many seeks from the address, or too many sockets on the session's seek (``refused``)."""


# --- Redis ---------------------------------------------------------------------------------------

_COMMON = """
local prefix, now = ARGV[1], tonumber(ARGV[2])
local function seek_key(s) return prefix .. 'seek:' .. s end
local function sockets_key(s) return prefix .. 'sockets:' .. s end
local function queue_key(p) return prefix .. 'pool:' .. p end
local function address_key(a) return prefix .. 'address:' .. a end
-- Whether session s still has a socket waiting on its seek.
local function live(s)
  redis.call('ZREMRANGEBYSCORE', sockets_key(s), '-inf', now)
  return redis.call('ZCARD', sockets_key(s)) > 0
end
-- Take session s's seek out of everything; the channels that waited on it.
local function drop(s)
  local found = redis.call('HMGET', seek_key(s), 'pool', 'address')
  if found[1] then redis.call('ZREM', queue_key(found[1]), s) end
  if found[2] and found[2] ~= '' then redis.call('SREM', address_key(found[2]), s) end
  local channels = redis.call('ZRANGE', sockets_key(s), 0, -1)
  redis.call('DEL', seek_key(s), sockets_key(s))
  return channels
end
local function keep(keys, ttl)
  for _, key in ipairs(keys) do redis.call('PEXPIRE', key, ttl * 4) end
end
"""

# ARGV: prefix, now, session, channel, pool, address, user, entry, ttl, max per address, max sockets, scan.
_SEEK = (
    _COMMON
    + """
local session, channel, pool, address, user, entry = ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local ttl, max_address = tonumber(ARGV[9]), tonumber(ARGV[10])
local max_sockets, scan = tonumber(ARGV[11]), tonumber(ARGV[12])
if address ~= '' then
  local others = 0
  for _, s in ipairs(redis.call('SMEMBERS', address_key(address))) do
    if s ~= session then
      if live(s) then others = others + 1 else redis.call('SREM', address_key(address), s); drop(s) end
    end
  end
  if others >= max_address then return {'refused', 'address'} end
end
local current = redis.call('HGET', seek_key(session), 'pool')
local sharing = current == pool and live(session)
if sharing and redis.call('ZCARD', sockets_key(session)) >= max_sockets
    and not redis.call('ZSCORE', sockets_key(session), channel) then
  return {'refused', 'sockets'}
end
local replaced = {}
if current and not sharing then replaced = drop(session) end
redis.call('HSET', seek_key(session), 'pool', pool, 'address', address, 'user', user, 'entry', entry)
redis.call('ZADD', sockets_key(session), now + ttl, channel)
local queue = queue_key(pool)
for _, other in ipairs(redis.call('ZRANGE', queue, 0, scan - 1)) do
  if other ~= session then
    local found = redis.call('HMGET', seek_key(other), 'pool', 'user', 'entry')
    if found[1] ~= pool or not live(other) then
      redis.call('ZREM', queue, other)
      if found[1] == pool then drop(other) end
    elseif user == '' or found[2] ~= user then
      local theirs = drop(other)
      local mine = drop(session)
      return {'paired', found[3], mine, theirs, replaced}
    end
  end
end
redis.call('ZADD', queue, 'NX', now, session)
local keys = {seek_key(session), sockets_key(session), queue}
if address ~= '' then
  redis.call('SADD', address_key(address), session)
  table.insert(keys, address_key(address))
end
keep(keys, ttl)
return {'waiting', redis.call('ZCARD', queue), replaced}
"""
)

# ARGV: prefix, now, session, channel, pool, ttl. The pool's seeks, or -1 if this socket's seek is gone.
_REFRESH = (
    _COMMON
    + """
local session, channel, pool, ttl = ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6])
local found = redis.call('HMGET', seek_key(session), 'pool', 'address')
if found[1] ~= pool or not redis.call('ZSCORE', sockets_key(session), channel) then return -1 end
redis.call('ZADD', sockets_key(session), 'XX', now + ttl, channel)
local keys = {seek_key(session), sockets_key(session), queue_key(pool)}
if found[2] and found[2] ~= '' then table.insert(keys, address_key(found[2])) end
keep(keys, ttl)
return redis.call('ZCARD', queue_key(pool))
"""
)

# ARGV: prefix, now, session, channel, pool.
_LEAVE = (
    _COMMON
    + """
local session, channel, pool = ARGV[3], ARGV[4], ARGV[5]
if redis.call('HGET', seek_key(session), 'pool') ~= pool then return 0 end
redis.call('ZREM', sockets_key(session), channel)
if not live(session) then drop(session) end
return 1
"""
)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _max_per_address() -> int:
    limit: int = settings.TICTAC["MAX_SEEKS_PER_ADDRESS"]
    return limit


class RedisSeeks:
    """The seeks of every worker, in Redis (see the module's docstring)."""

    def __init__(self, shards: RedisShards) -> None:
        self.shards = shards

    @property
    def shard(self) -> int:
        """The shard that holds every seek."""
        return self.shards.of_key(_PREFIX)

    async def _run(self, script: str, *args: str | int) -> Any:
        client = self.shards.client(self.shard)
        # register_script only hashes the text: the script is sent once per Redis (EVALSHA after).
        return await client.register_script(script)(args=[_PREFIX, _now_ms(), *args])

    async def seek(self, pool: str, seeker: Seeker, channel: str) -> Outcome:
        """Put ``channel``'s seek into ``pool`` and pair it if another session waits there."""
        reply = await self._run(
            _SEEK,
            seeker.session,
            channel,
            pool,
            seeker.address or "",
            "" if seeker.user_id is None else str(seeker.user_id),
            seeker.entry(),
            SEEK_TTL_SECONDS * 1000,
            _max_per_address(),
            MAX_SOCKETS_PER_SEEK,
            SCAN_LIMIT,
        )
        if reply[0] == "refused":
            return Outcome("refused", refusal=reply[1])
        if reply[0] == "paired":
            _, partner, mine, theirs, replaced = reply
            return Outcome(
                "paired",
                mine=Seeker.from_entry(seeker.entry(), mine),
                partner=Seeker.from_entry(partner, theirs),
                replaced=tuple(replaced),
            )
        return Outcome("waiting", waiting=int(reply[1]), replaced=tuple(reply[2]))

    async def refresh(self, pool: str, session: str, channel: str) -> int | None:
        """Keep ``channel``'s seek live for another TTL; the pool's seeks, or None if it is no longer waiting."""
        waiting = int(await self._run(_REFRESH, session, channel, pool, SEEK_TTL_SECONDS * 1000))
        return None if waiting < 0 else waiting

    async def leave(self, pool: str, session: str, channel: str) -> None:
        """``channel`` stops waiting; the session's seek goes with its last socket."""
        await self._run(_LEAVE, session, channel, pool)


# --- One process ---------------------------------------------------------------------------------


@dataclass
class _MemorySeek:
    pool: str
    seeker: Seeker
    placed: int
    sockets: dict[str, int] = field(default_factory=dict)
    """Channel name → when it expires (epoch ms)."""

    def live(self, now: int) -> bool:
        self.sockets = {channel: expires for channel, expires in self.sockets.items() if expires > now}
        return bool(self.sockets)


class MemorySeeks:
    """The seeks of a single process (the in-memory channel layer): the same rules, in dicts."""

    def __init__(self) -> None:
        self._seeks: dict[str, _MemorySeek] = {}

    def _drop(self, session: str) -> tuple[str, ...]:
        dropped = self._seeks.pop(session, None)
        return () if dropped is None else tuple(dropped.sockets)

    async def seek(self, pool: str, seeker: Seeker, channel: str) -> Outcome:
        now = _now_ms()
        for other in list(self._seeks.values()):
            if not other.live(now):
                self._drop(other.seeker.session)
        if seeker.address:
            others = [
                other
                for other in self._seeks.values()
                if other.seeker.address == seeker.address and other.seeker.session != seeker.session
            ]
            if len(others) >= _max_per_address():
                return Outcome("refused", refusal="address")
        current = self._seeks.get(seeker.session)
        sharing = current is not None and current.pool == pool
        joining = current is not None and sharing and channel not in current.sockets
        if joining and current is not None and len(current.sockets) >= MAX_SOCKETS_PER_SEEK:
            return Outcome("refused", refusal="sockets")
        replaced = () if sharing else self._drop(seeker.session)
        mine = self._seeks.setdefault(seeker.session, _MemorySeek(pool, seeker, now))
        mine.sockets[channel] = now + SEEK_TTL_SECONDS * 1000
        waiting = sorted((seek for seek in self._seeks.values() if seek.pool == pool), key=lambda seek: seek.placed)
        for other in waiting:
            if other.seeker.session == seeker.session:
                continue
            if seeker.user_id is not None and other.seeker.user_id == seeker.user_id:
                continue
            theirs = self._drop(other.seeker.session)
            return Outcome(
                "paired",
                mine=Seeker.from_entry(seeker.entry(), list(self._drop(seeker.session))),
                partner=Seeker.from_entry(other.seeker.entry(), list(theirs)),
                replaced=replaced,
            )
        return Outcome("waiting", waiting=len(waiting), replaced=replaced)

    async def refresh(self, pool: str, session: str, channel: str) -> int | None:
        mine = self._seeks.get(session)
        if mine is None or mine.pool != pool or channel not in mine.sockets:
            return None
        mine.sockets[channel] = _now_ms() + SEEK_TTL_SECONDS * 1000
        return sum(seek.pool == pool for seek in self._seeks.values())

    async def leave(self, pool: str, session: str, channel: str) -> None:
        mine = self._seeks.get(session)
        if mine is None or mine.pool != pool:
            return
        mine.sockets.pop(channel, None)
        if not mine.live(_now_ms()):
            self._drop(session)

    def reset(self) -> None:
        """Forget every seek, as a new process would (tests)."""
        self._seeks.clear()


SeekStore = RedisSeeks | MemorySeeks

memory_seeks = kept(MemorySeeks())
"""The process's seeks when it runs on the in-memory layer."""


def seeks() -> SeekStore:
    """The seeks every worker shares: on presence's Redis shards, or in this process with the in-memory layer."""
    store = presence()
    if isinstance(store, MemoryPresence):
        return memory_seeks
    return RedisSeeks(store.shards)
