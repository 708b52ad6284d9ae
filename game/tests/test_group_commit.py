"""Group commit: what queues while a batch is out goes together in the next one."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from game.storage.group_commit import Action, GroupCommit


class Recorder:
    """Runs batches like the database thread would, holding the first until released."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.first_out = asyncio.Event()
        self.release_first = asyncio.Event()

    async def run_together(self, actions: Sequence[Action[str]]) -> list[str | Exception]:
        self.batches.append([action() for action in actions])
        if len(self.batches) == 1:
            self.first_out.set()
            await self.release_first.wait()
        return [name if name != "refused" else ValueError(name) for name in self.batches[-1]]


async def test_actions_that_arrive_while_a_batch_is_out_go_together_in_the_next() -> None:
    recorder = Recorder()
    commit = GroupCommit(recorder.run_together)
    first = asyncio.create_task(commit.run(lambda: "a"))
    await recorder.first_out.wait()
    later = [asyncio.create_task(commit.run(lambda name=name: name)) for name in ("b", "refused", "c")]
    await asyncio.sleep(0)  # one turn of the loop: the three are queued
    assert recorder.batches == [["a"]]  # nothing else runs while the first batch is out
    recorder.release_first.set()
    assert await first == "a"
    assert await later[0] == "b"
    with pytest.raises(ValueError, match="refused"):
        await later[1]
    assert await later[2] == "c"
    assert recorder.batches == [["a"], ["b", "refused", "c"]]


async def test_a_batch_that_cannot_run_at_all_fails_each_of_its_callers() -> None:
    async def unreachable(actions: Sequence[Action[str]]) -> list[str | Exception]:
        raise ConnectionError("database away")

    commit = GroupCommit(unreachable)
    for outcome in await asyncio.gather(commit.run(lambda: "a"), commit.run(lambda: "b"), return_exceptions=True):
        assert isinstance(outcome, ConnectionError)
