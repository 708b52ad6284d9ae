"""Abuse budgets that hold across every worker: how often one address or session may do a costly thing.

A budget is a fixed-window counter in Redis (``INCR`` and ``EXPIRE`` in one
pipeline): ``limit`` spends per ``window_seconds`` per key, whichever worker
the spend reaches. They guard what one client can make the server do for
everybody: make rooms (which fill the lobby), chat (which is sent to every
socket in the room) and open sockets (which each cost memory and a state).
With the in-memory channel layer (one process) the counters live in a dict.
With several Redis shards a key's windows are on the shard its name hashes
to (game/shards.py), the same from every worker.

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
from typing import Final

from django.conf import settings
from redis.exceptions import RedisError

from .presence import MemoryPresence, presence

logger = logging.getLogger(__name__)

_PREFIX: Final = "tictac:budget:"


@dataclass(frozen=True)
class Budget:
    name: str
    limit: int
    window_seconds: int

    def _key(self, who: str, now: float) -> str:
        return f"{self._counter(who)}:{int(now // self.window_seconds)}"

    def _counter(self, who: str) -> str:
        """What names ``who``'s windows: the shard it hashes to holds every one of them."""
        return f"{_PREFIX}{self.name}:{who}"


def budget(name: str) -> Budget:
    """The budget ``name`` as configured in ``TICTAC["BUDGETS"]`` (limit, window in seconds)."""
    limit, window_seconds = settings.TICTAC["BUDGETS"][name]
    return Budget(name, limit, window_seconds)


class MemoryCounts:
    """The in-memory layer's window counters (one process)."""

    BOUND: Final = 100_000

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}

    def spend(self, key: str, limit: int, amount: int = 1) -> bool:
        """Add ``amount`` to the window ``key``; whether it is still within ``limit``."""
        if len(self._counts) > self.BOUND:
            self._counts.clear()  # old windows; a bound, not a policy
        self._counts[key] = self._counts.get(key, 0) + amount
        return self._counts[key] <= limit

    def reset(self) -> None:
        """Forget every window, as a new process would (tests)."""
        self._counts.clear()


memory_counts = MemoryCounts()
"""The process's counters when it runs on the in-memory layer."""


def spend_blocking(name: str, who: str) -> bool:
    """Spend one of ``who``'s ``name`` budget; False once this window's is used up (views)."""
    spent = budget(name)
    key = spent._key(who, time.time())
    store = presence()
    if isinstance(store, MemoryPresence):
        return memory_counts.spend(key, spent.limit)
    shards = store.shards
    with shards.blocking_client(shards.of_key(spent._counter(who))).pipeline(transaction=False) as pipe:
        pipe.incr(key)
        pipe.expire(key, spent.window_seconds * 2)
        count, _ = pipe.execute()
    return int(count) <= spent.limit


async def spend(name: str, who: str) -> bool:
    """:func:`spend_blocking` for the event loop (consumers)."""
    return await _spend(budget(name), who, 1, time.time())


async def _spend(spent: Budget, who: str, amount: int, now: float) -> bool:
    key = spent._key(who, now)
    store = presence()
    if isinstance(store, MemoryPresence):
        return memory_counts.spend(key, spent.limit, amount)
    shards = store.shards
    async with shards.client(shards.of_key(spent._counter(who))).pipeline(transaction=False) as pipe:
        pipe.incrby(key, amount)
        pipe.expire(key, spent.window_seconds * 2)
        count, _ = await pipe.execute()
    return int(count) <= spent.limit


class SharedRate:
    """A rate per key (a client address) over every worker, with no Redis round trip per spend.

    The process counts each key's spends itself and adds them to the key's
    Redis window once ``step`` have gathered (a twentieth of the window's
    limit). A process that finds the window's total over the limit refuses
    the key until the window ends. A process that has not reported yet finds
    out within its next ``step`` spends, so spread over N workers a key gets
    at most ``limit + N * step`` a window.
    """

    WINDOW_SECONDS: Final = 10
    REPORTS_PER_WINDOW: Final = 20

    def __init__(self, name: str, setting: str, clock: Callable[[], float] = time.time) -> None:
        self.name = name
        self.setting = setting
        """The ``TICTAC`` setting with the rate per second."""
        self.clock = clock
        self._window = -1
        self._unreported: dict[str, int] = {}
        self._refused: set[str] = set()

    def reset(self) -> None:
        """Forget every count this process holds (tests)."""
        self._window = -1
        self._unreported.clear()
        self._refused.clear()

    async def allow(self, who: str) -> bool:
        """Spend one for ``who``; False while ``who`` is over the rate in this window."""
        now = self.clock()
        window = int(now // self.WINDOW_SECONDS)
        if window != self._window:  # a new window: what the old one counted is done with
            self.reset()
            self._window = window
        if who in self._refused:
            return False
        limit = int(settings.TICTAC[self.setting] * self.WINDOW_SECONDS)
        unreported = self._unreported.get(who, 0) + 1
        if unreported < max(1, limit // self.REPORTS_PER_WINDOW):
            self._unreported[who] = unreported
            return True
        self._unreported.pop(who, None)
        try:
            if await _spend(Budget(self.name, limit, self.WINDOW_SECONDS), who, unreported, now):
                return True
        except (RedisError, OSError):  # Redis away: the process's own limits still hold
            logger.warning("could not report %s to Redis", self.name, exc_info=True)
            return True
        self._refused.add(who)
        return False


messages_per_address = SharedRate("messages_per_address", "MESSAGES_PER_ADDRESS_PER_SECOND")
"""What one client address may send over every socket and worker."""
