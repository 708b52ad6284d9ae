"""testing.wait: a condition is polled until it holds, and a wait that runs out says what it waited for."""

from __future__ import annotations

import itertools

import pytest

from testing.wait import auntil, until


def test_until_returns_the_first_true_value_the_condition_gives() -> None:
    answers = iter([None, 0, "", "ready", "later"])
    assert until(lambda: next(answers), interval=0, message="an answer") == "ready"
    assert next(answers) == "later"  # asked no more once it held


def test_until_that_runs_out_names_what_it_awaited_and_the_last_value_seen() -> None:
    counter = itertools.count()
    with pytest.raises(AssertionError) as missed:
        until(lambda: next(counter) < 0, timeout=0.05, interval=0.01, message="a negative count")
    assert str(missed.value).startswith("waited 0.05 s for a negative count; last saw False")


def test_until_asks_a_callable_message_only_when_it_runs_out() -> None:
    asked: list[str] = []

    def message() -> str:
        asked.append("asked")
        return "the log's tail"

    assert until(lambda: True, message=message) is True
    assert asked == []
    with pytest.raises(AssertionError, match="for the log's tail; last saw None"):
        until(lambda: None, timeout=0, message=message)
    assert asked == ["asked"]


def test_an_exception_from_the_condition_ends_the_wait_at_once() -> None:
    def exited() -> bool:
        raise RuntimeError("the server exited")

    with pytest.raises(RuntimeError, match="exited"):
        until(exited, timeout=60, message="a server that is gone")


async def test_auntil_awaits_the_condition_and_fails_as_until_does() -> None:
    answers = iter([[], [], ["channel"]])

    async def channels() -> list[str]:
        return next(answers)

    assert await auntil(channels, interval=0, message="a channel") == ["channel"]

    async def never() -> list[str]:
        return []

    with pytest.raises(AssertionError, match=r"^waited 0 s for a channel; last saw \[\]$"):
        await auntil(never, timeout=0, message="a channel")
