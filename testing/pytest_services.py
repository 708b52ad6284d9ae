"""A pytest plugin (``-p testing.pytest_services`` in pytest.ini) that gives
the test run a real Redis server.

It starts before pytest-django sets Django up, so REDIS_URL in the settings,
and in every server process the tests start, points at it. A REDIS_URL that
is already set is used as it is.
"""

from __future__ import annotations

import os

import pytest

from testing.one_address import LIMITS_OFF
from tictac.embedded_redis import EmbeddedRedis

_redis: EmbeddedRedis | None = None
# Set when this run started the Redis in REDIS_URL (and so may start more).
_STARTED_HERE = "TICTAC_TEST_REDIS_STARTED"


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    global _redis
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tictac.settings")
    os.environ.setdefault("TICTAC_CHANNEL_LAYER", "pubsub")
    # Every test's traffic comes from one address (127.0.0.1), so the per-address budgets are
    # set out of reach here, in this process and in the servers it starts; the tests of those
    # budgets set their own limits.
    for name, value in LIMITS_OFF.items():
        os.environ.setdefault(name, value)
    # Under pytest-xdist (run.py test --fast) each worker starts a Redis of its own instead of
    # using the one the run started: presence keys and per-address budgets live in Redis, and two
    # workers' tests, all from 127.0.0.1, must not meet there. A REDIS_URL given from outside is
    # used by every process as it is.
    in_a_worker_of_our_run = "PYTEST_XDIST_WORKER" in os.environ and os.environ.get(_STARTED_HERE) == "1"
    if "REDIS_URL" not in os.environ or in_a_worker_of_our_run:
        # Tied to this process: a run that ends before pytest_unconfigure (a usage error ends
        # it right after this hook) must not leave its Redis running.
        _redis = EmbeddedRedis(die_with_parent=True).start()
        os.environ["REDIS_URL"] = _redis.url
        os.environ[_STARTED_HERE] = "1"


def pytest_unconfigure(config: pytest.Config) -> None:
    if _redis is not None:
        _redis.stop()
