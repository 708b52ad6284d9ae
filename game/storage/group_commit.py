"""Group commit: actions from this process's sockets stored in one transaction.

Every database call of a process runs on Channels' single database thread,
and the trip there and back, with the commit at its end, cost more than the
move itself (docs/performance.md). So actions that arrive while the thread
is busy queue up, and the next trip takes all of them: one hop and one
commit for the lot. Nothing changes for a caller: it awaits its own result,
which exists only once the transaction holding it has committed. When the
process is idle a batch is one action, as before.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Result = TypeVar("Result")

Action = Callable[[], Result]
RunTogether = Callable[[Sequence[Action[Result]]], Awaitable[list[Result | Exception]]]


class _Queue(Generic[Result]):
    """The actions waiting in one event loop, and the task taking them to the database."""

    def __init__(self) -> None:
        self.waiting: list[tuple[Action[Result], asyncio.Future[Result]]] = []
        self.draining: asyncio.Task[None] | None = None


class GroupCommit(Generic[Result]):
    def __init__(self, run_together: RunTogether[Result]) -> None:
        """``run_together`` runs a batch in one transaction and returns a result or error per action."""
        self._run_together = run_together
        self._queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Queue[Result]] = weakref.WeakKeyDictionary()

    async def run(self, action: Action[Result]) -> Result:
        """Run ``action`` in the next batch; its result once that batch has committed."""
        loop = asyncio.get_running_loop()
        queue = self._queues.get(loop)
        if queue is None:
            queue = self._queues[loop] = _Queue()
        future: asyncio.Future[Result] = loop.create_future()
        queue.waiting.append((action, future))
        if queue.draining is None or queue.draining.done():
            queue.draining = loop.create_task(self._drain(queue))
        return await future

    async def _drain(self, queue: _Queue[Result]) -> None:
        while queue.waiting:
            batch, queue.waiting = queue.waiting, []
            try:
                results = await self._run_together([action for action, _ in batch])
            except Exception as error:  # the batch could not be run at all
                results = [error] * len(batch)
            for (_, future), result in zip(batch, results, strict=True):
                if future.done():
                    continue  # its caller went away (the socket closed)
                if isinstance(result, Exception):
                    future.set_exception(result)
                else:
                    future.set_result(result)
