"""Abuse budgets that hold across every worker: how often one address or session may do a costly thing.

A budget allows ``limit`` spends in any ``window_seconds`` (a sliding
window) per key, whichever worker the spend reaches. They guard what one
client can make the server do for everybody: make rooms (which fill the
lobby), sessions, accounts and games against the computer (rows, and the
search's time), chat (which is sent to every socket in the room) and open
sockets (which each cost memory and a state).

The window slides as a sliding-window counter does: each fixed window of
``window_seconds`` keeps a count, and a spend at ``now`` sees this window's
count plus the previous window's times the part of it still inside
``[now - window_seconds, now]``, as if the previous window's spends had been
spread evenly over it. Fixed windows alone let a burst at the end of one
window and another at the start of the next through: twice the limit in a
moment. Reading both counts and adding to one is one Lua script on the key's
shard, so two workers cannot both take the last spend. A refused spend is not
counted: a client that keeps asking gets a spend again as soon as its rate
falls under the limit, not once it stops asking.

Why not the ``limits`` library, which has the same counter: its Redis
sliding-window-counter reads the time from its keys' TTLs in Redis, so a test
cannot put a spend at the end of a window without sleeping to it; each of its
storages opens its own connection pool to one URL (and its asyncio one is tied
to the event loop that made it), where game/realtime/shards.py already holds a client
per shard and per event loop; and the script is fifteen lines.

With the in-memory channel layer (one process) the counts live in a dict.
With several Redis shards a key's windows are on the shard its name hashes to
(game/realtime/shards.py), the same from every worker.

Messages per address are too many for a Redis round trip each: a
:class:`SharedRate` counts them in the process and adds them to the window
in steps.

Concurrent sockets per address are counted in presence, not here: a count
of what is open must go down when a socket closes, a window need not.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, NamedTuple

from django.conf import settings
from redis.exceptions import RedisError

from game.realtime.presence import MemoryPresence, presence
from game.storage.per_process import kept

logger = logging.getLogger(__name__)

_PREFIX: Final = "tictac:budget:"

# KEYS: this fixed window's count, the previous window's. ARGV: the limit, the amount spent, the
# part of the previous window still inside the sliding one (0 to 1), how long a count is kept,
# and "1" when the amount is counted even over the limit (spends that already happened).
_SLIDING_SPEND: Final = """
local amount = tonumber(ARGV[2])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local previous = tonumber(redis.call('GET', KEYS[2]) or '0')
local within = current + previous * tonumber(ARGV[3]) + amount <= tonumber(ARGV[1])
if within or ARGV[5] == '1' then
  redis.call('INCRBY', KEYS[1], amount)
  redis.call('EXPIRE', KEYS[1], ARGV[4])
end
if within then
  return 1
end
return 0
"""


@dataclass(frozen=True)
class Windows:
    """Where a spend at one moment is counted: the fixed window it falls in and the one before."""

    current: str
    previous: str
    previous_weight: float
    """The part of the previous window still inside the sliding window, from 1 (at its end) to 0."""


@dataclass(frozen=True)
class Budget:
    name: str
    limit: int
    window_seconds: int

    def windows(self, who: str, now: float) -> Windows:
        """The keys of ``who``'s counts around ``now``, and how much the previous one still weighs."""
        index, into = divmod(now, self.window_seconds)
        counter = self._counter(who)
        return Windows(f"{counter}:{int(index)}", f"{counter}:{int(index) - 1}", 1 - into / self.window_seconds)

    def _counter(self, who: str) -> str:
        """What names ``who``'s windows: the shard it hashes to holds every one of them."""
        return f"{_PREFIX}{self.name}:{who}"


TOO_MANY_COMPUTER_GAMES: Final = "Your address has started many games against the computer lately: try again later."
"""The refusal (``too_many_bots``) past ``computer_games_per_address``, from the lobby's button or a room's socket."""


def budget(name: str) -> Budget:
    """The budget ``name`` as configured in ``TICTAC["BUDGETS"]`` (limit, window in seconds)."""
    limit, window_seconds = settings.TICTAC["BUDGETS"][name]
    return Budget(name, limit, window_seconds)


class MemoryCounts:
    """The in-memory layer's window counts (one process): the Lua script's reckoning, in a dict."""

    BOUND: Final = 100_000

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}

    def spend(self, windows: Windows, limit: int, amount: int = 1, *, count_over: bool = False) -> bool:
        """Whether the sliding count plus ``amount`` is within ``limit``; added if so (or ``count_over``)."""
        if len(self._counts) > self.BOUND:
            self._counts.clear()  # old windows; a bound, not a policy
        current = self._counts.get(windows.current, 0)
        previous = self._counts.get(windows.previous, 0)
        within = current + previous * windows.previous_weight + amount <= limit
        if within or count_over:
            self._counts[windows.current] = current + amount
        return within

    def reset(self) -> None:
        """Forget every window, as a new process would (tests)."""
        self._counts.clear()


memory_counts = kept(MemoryCounts())
"""The process's counts when it runs on the in-memory layer."""


class _Spending(NamedTuple):
    """One spend, worked out once for either way of making it: in this process's counts, or by the
    script on the Redis shard the budget's counter lives on."""

    windows: Windows
    limit: int
    shard_key: str
    script_args: list[str | int | float]


def _spending(spent: Budget, who: str, amount: int, now: float, count_over: bool) -> _Spending:
    windows = spent.windows(who, now)
    # repr keeps every digit of the weight; the count of a window is read for two windows' time.
    args: list[str | int | float] = [
        spent.limit,
        amount,
        repr(windows.previous_weight),
        spent.window_seconds * 2,
        int(count_over),
    ]
    return _Spending(windows, spent.limit, spent._counter(who), args)


def spend_blocking(name: str, who: str, now: float | None = None) -> bool:
    """:func:`spend` for synchronous code (views): the same spend, over a blocking Redis client."""
    spending = _spending(budget(name), who, 1, time.time() if now is None else now, count_over=False)
    store = presence()
    if isinstance(store, MemoryPresence):
        return memory_counts.spend(spending.windows, spending.limit)
    client = store.shards.blocking_client(store.shards.of_key(spending.shard_key))
    keys = [spending.windows.current, spending.windows.previous]
    return bool(client.register_script(_SLIDING_SPEND)(keys=keys, args=spending.script_args))


async def spend(name: str, who: str, now: float | None = None) -> bool:
    """Spend one of ``who``'s ``name`` budget; False (nothing spent) once the sliding window's is used up."""
    return await _spend(budget(name), who, 1, time.time() if now is None else now)


async def _spend(spent: Budget, who: str, amount: int, now: float, *, count_over: bool = False) -> bool:
    spending = _spending(spent, who, amount, now, count_over)
    store = presence()
    if isinstance(store, MemoryPresence):
        return memory_counts.spend(spending.windows, spending.limit, amount, count_over=count_over)
    client = store.shards.client(store.shards.of_key(spending.shard_key))
    keys = [spending.windows.current, spending.windows.previous]
    return bool(await client.register_script(_SLIDING_SPEND)(keys=keys, args=spending.script_args))


class SharedRate:
    """A rate per key (a client address) over every worker, with no Redis round trip per spend.

    The process counts each key's spends itself and adds them to the key's
    sliding window in Redis once ``step`` have gathered (a twentieth of the
    window's limit). A process that finds the window over the limit refuses
    the key for a twentieth of the window, then asks Redis again with the
    next spend (counted only if it is within). A process that has not
    reported yet finds out within its next ``step`` spends, so spread over N
    workers a key gets at most ``limit + N * step`` in any window.
    """

    WINDOW_SECONDS: Final = 10
    REPORTS_PER_WINDOW: Final = 20

    def __init__(self, name: str, setting: str, clock: Callable[[], float] = time.time) -> None:
        self.name = name
        self.setting = setting
        """The ``TICTAC`` setting with the rate per second."""
        self.clock = clock
        self._forget_at = 0.0
        self._unreported: dict[str, int] = {}
        self._refused_until: dict[str, float] = {}

    def reset(self) -> None:
        """Forget every count this process holds (tests)."""
        self._forget_at = 0.0
        self._unreported.clear()
        self._refused_until.clear()

    async def allow(self, who: str) -> bool:
        """Spend one for ``who``; False while ``who`` is over the rate."""
        now = self.clock()
        if now >= self._forget_at:
            # A bound on what the process holds: each key loses fewer than a step of spends.
            self._unreported.clear()
            self._refused_until = {key: until for key, until in self._refused_until.items() if until > now}
            self._forget_at = now + self.WINDOW_SECONDS
        limit = int(settings.TICTAC[self.setting] * self.WINDOW_SECONDS)
        if (refused_until := self._refused_until.get(who)) is not None:
            if now < refused_until:
                return False
            del self._refused_until[who]
            return await self._report(Budget(self.name, limit, self.WINDOW_SECONDS), who, 1, now, count_over=False)
        unreported = self._unreported.get(who, 0) + 1
        if unreported < max(1, limit // self.REPORTS_PER_WINDOW):
            self._unreported[who] = unreported
            return True
        self._unreported.pop(who, None)
        # These were spent already (all but this one allowed here): counted even past the limit.
        return await self._report(Budget(self.name, limit, self.WINDOW_SECONDS), who, unreported, now, count_over=True)

    async def _report(self, spent: Budget, who: str, amount: int, now: float, *, count_over: bool) -> bool:
        try:
            within = await _spend(spent, who, amount, now, count_over=count_over)
        except (RedisError, OSError):  # Redis away: the process's own limits still hold
            logger.warning("could not report %s to Redis", self.name, exc_info=True)
            return True
        if not within:
            self._refused_until[who] = now + self.WINDOW_SECONDS / self.REPORTS_PER_WINDOW
        return within


messages_per_address = kept(SharedRate("messages_per_address", "MESSAGES_PER_ADDRESS_PER_SECOND"))
"""What one client address may send over every socket and worker."""
