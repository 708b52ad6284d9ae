"""How many messages this process's room sockets may send: a token bucket per socket, one
shared by a session's sockets and one shared by an address's, plus the address's budget over
every worker (``budgets.messages_per_address``).

A shared bucket lives as long as some socket holds it (the registries keep them weakly), so
a session's or an address's rate is one figure however many tabs it opens, and nothing is
kept once its sockets have gone.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable, Sequence

from django.conf import settings

from game.domain.token_bucket import TokenBucket
from game.realtime import budgets
from game.storage.per_process import kept


class SharedBuckets:
    """Token buckets shared by key (a session, an address) while a socket holds them."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: weakref.WeakValueDictionary[str, TokenBucket] = weakref.WeakValueDictionary()

    def get(self, key: str, rate: float) -> TokenBucket:
        """The key's bucket, made (``rate`` a second, bursts of twice that) if no socket holds one."""
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(rate=rate, burst=2 * rate, clock=self._clock)
        return bucket

    def __len__(self) -> int:
        return len(self._buckets)

    def clear(self) -> None:
        self._buckets.clear()


class SocketLimits:
    """One socket's message limits: its buckets, then its address's budget over every worker."""

    __slots__ = ("address", "buckets")

    def __init__(self, buckets: Sequence[TokenBucket], address: str | None) -> None:
        self.buckets = tuple(buckets)
        self.address = address

    async def allow(self) -> bool:
        """Whether the socket may send one more message now (spending it if so)."""
        if not all(bucket.allow() for bucket in self.buckets):
            return False
        return not self.address or await budgets.messages_per_address.allow(self.address)


class MessageLimits:
    """This process's registries of shared buckets, and the limits they give each new socket."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.per_session = SharedBuckets(clock)
        # Sessions made by the thousand (one per cookie-less page view) share what their
        # address may send: in this process second by second, and over every worker
        # through budgets.messages_per_address.
        self.per_address = SharedBuckets(clock)

    def for_socket(self, session_key: str | None, address: str | None = None) -> SocketLimits:
        """A new socket's limits: its own bucket, its session's and its address's."""
        per_second = settings.TICTAC["MESSAGES_PER_SECOND"]
        buckets = [TokenBucket(rate=per_second, burst=2 * per_second, clock=self._clock)]
        if session_key is not None:
            # More than one socket gets, less than two together.
            buckets.append(self.per_session.get(session_key, 1.5 * per_second))
        if address:
            buckets.append(self.per_address.get(address, settings.TICTAC["MESSAGES_PER_ADDRESS_PER_SECOND"]))
        return SocketLimits(buckets, address or None)

    def reset(self) -> None:
        """Forget every shared bucket, as a new process would start (tests)."""
        self.per_session.clear()
        self.per_address.clear()


message_limits = kept(MessageLimits())
