"""Abuse budgets that hold across every worker: how often one address or session may do a costly thing.

A budget is a fixed-window counter in Redis (``INCR`` and ``EXPIRE`` in one
pipeline): ``limit`` spends per ``window_seconds`` per key, whichever worker
the spend reaches. They guard what one client can make the server do for
everybody: make rooms (which fill the lobby), chat (which is sent to every
socket in the room) and open sockets (which each cost memory and a state).
With the in-memory channel layer (one process) the counters live in a dict.

Concurrent sockets per address are counted in presence, not here: a count
of what is open must go down when a socket closes, a window need not.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Final

from django.conf import settings

from .presence import MemoryPresence, presence

_PREFIX: Final = "tictac:budget:"


@dataclass(frozen=True)
class Budget:
    name: str
    limit: int
    window_seconds: int

    def _key(self, who: str, now: float) -> str:
        return f"{_PREFIX}{self.name}:{who}:{int(now // self.window_seconds)}"


def budget(name: str) -> Budget:
    """The budget ``name`` as configured in ``TICTAC["BUDGETS"]`` (limit, window in seconds)."""
    limit, window_seconds = settings.TICTAC["BUDGETS"][name]
    return Budget(name, limit, window_seconds)


_counts: dict[str, int] = {}
"""The in-memory layer's counters (one process)."""


def _spend_in_memory(key: str, limit: int) -> bool:
    if len(_counts) > 100_000:
        _counts.clear()  # old windows; a bound, not a policy
    _counts[key] = _counts.get(key, 0) + 1
    return _counts[key] <= limit


def spend_blocking(name: str, who: str) -> bool:
    """Spend one of ``who``'s ``name`` budget; False once this window's is used up (views)."""
    spent = budget(name)
    key = spent._key(who, time.time())
    store = presence()
    if isinstance(store, MemoryPresence):
        return _spend_in_memory(key, spent.limit)
    with store.blocking_client().pipeline(transaction=False) as pipe:
        pipe.incr(key)
        pipe.expire(key, spent.window_seconds * 2)
        count, _ = pipe.execute()
    return int(count) <= spent.limit


async def spend(name: str, who: str) -> bool:
    """:func:`spend_blocking` for the event loop (consumers)."""
    spent = budget(name)
    key = spent._key(who, time.time())
    store = presence()
    if isinstance(store, MemoryPresence):
        return _spend_in_memory(key, spent.limit)
    async with store.client().pipeline(transaction=False) as pipe:
        pipe.incr(key)
        pipe.expire(key, spent.window_seconds * 2)
        count, _ = await pipe.execute()
    return int(count) <= spent.limit
