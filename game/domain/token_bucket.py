"""A token bucket: how many messages a socket may send, and how fast."""

from __future__ import annotations

import time
from collections.abc import Callable


class TokenBucket:
    """Allows ``rate`` events a second on average and bursts of up to ``burst``.

    >>> clock = iter([0.0, 0.0, 0.0, 0.0]).__next__
    >>> bucket = TokenBucket(rate=1, burst=2, clock=clock)
    >>> [bucket.allow(), bucket.allow(), bucket.allow()]
    [True, True, False]
    """

    __slots__ = ("__weakref__", "_clock", "_tokens", "_updated", "burst", "rate")

    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = burst
        self._updated = clock()

    def allow(self) -> bool:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
        self._updated = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True
