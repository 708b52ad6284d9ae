"""The one way tests wait for something that happens on its own time: poll until it holds.

``until`` (and ``auntil`` inside a running event loop, where a blocking sleep would stop the
very thing awaited) calls a condition until it returns something true and returns that. When
the time is up it fails with an AssertionError that says what was awaited and what was seen
last, never a bare timeout. A message a client must receive is awaited by receiving it, not
by polling: this is for what nothing announces (a server coming up, a file being written, a
count that settles).

>>> until(lambda: 42, message="the answer")
42
>>> until(lambda: [], timeout=0.01, interval=0.005, message="a non-empty list")
Traceback (most recent call last):
...
AssertionError: waited 0.01 s for a non-empty list; last saw []
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

# Generous on a 2-core machine that runs other tests beside this one: a condition that holds
# does not wait for the timeout, so only a failure costs the whole of it.
TIMEOUT = 10.0
INTERVAL = 0.05

Message = str | Callable[[], str]


class _Deadline:
    """The bookkeeping ``until`` and ``auntil`` share: when to give up, and what to say then."""

    def __init__(self, timeout: float, message: Message) -> None:
        self.timeout = timeout
        self.message = message
        self.ends_at = time.monotonic() + timeout

    def reached_by(self, value: object) -> bool:
        """True once ``value`` holds; AssertionError if it does not and the time is up."""
        if value:
            return True
        if time.monotonic() >= self.ends_at:
            what = self.message() if callable(self.message) else self.message
            raise AssertionError(f"waited {self.timeout:g} s for {what}; last saw {value!r}")
        return False


def until(condition: Callable[[], T], *, timeout: float = TIMEOUT, interval: float = INTERVAL, message: Message) -> T:
    """Call ``condition`` every ``interval`` s until it returns something true, and return that.

    After ``timeout`` s: AssertionError naming ``message`` (what was awaited; a callable is
    asked then, for details such as a log's tail) and the last value. An exception the
    condition raises (a server that exited, say) ends the wait at once.
    """
    deadline = _Deadline(timeout, message)
    while not deadline.reached_by(value := condition()):
        time.sleep(interval)
    return value


async def auntil(
    condition: Callable[[], Awaitable[T]],
    *,
    timeout: float = TIMEOUT,  # noqa: ASYNC109 - until's signature: a deadline between polls, not on one await
    interval: float = INTERVAL,
    message: Message,
) -> T:
    """``until`` for a coroutine: awaits ``condition()`` and sleeps without blocking the event loop."""
    deadline = _Deadline(timeout, message)
    while not deadline.reached_by(value := await condition()):  # noqa: ASYNC110 - the poll, for what no event says
        await asyncio.sleep(interval)
    return value
