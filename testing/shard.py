"""A pytest plugin (``-p testing.shard --shard=2/3``) that keeps one share of the
collected tests: the 2nd, 5th, 8th, ... of every three.

``run.py test --fast`` runs one pytest process per core, each with its own
share and its own Redis, so that the quick loop uses every core without
pytest-xdist. Taking every n-th test, not every n-th file, evens the shares
out: a few files hold most of the socket tests.
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--shard", metavar="K/N", help="run only the K-th of every N collected tests (K from 1)")


def shard_of(value: str) -> tuple[int, int]:
    """``"2/3"`` -> ``(2, 3)``, checked.

    >>> shard_of("2/3")
    (2, 3)
    >>> shard_of("4/3")
    Traceback (most recent call last):
    ...
    ValueError: --shard must be K/N with 1 <= K <= N, not '4/3'
    """
    number, _, count = value.partition("/")
    if not (number.isdigit() and count.isdigit() and 1 <= int(number) <= int(count)):
        raise ValueError(f"--shard must be K/N with 1 <= K <= N, not {value!r}")
    return int(number), int(count)


@pytest.hookimpl(trylast=True)  # after -m and -k have deselected theirs, so that the shares come out even
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    value = config.getoption("shard")
    if value is None:
        return
    number, count = shard_of(value)
    kept = [item for index, item in enumerate(items) if index % count == number - 1]
    deselected = [item for index, item in enumerate(items) if index % count != number - 1]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
    items[:] = kept
