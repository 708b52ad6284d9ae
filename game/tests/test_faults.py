"""Faults injected for real: Redis restarts under live server processes."""

from __future__ import annotations

import json
import time
import urllib.error
from collections.abc import Iterator
from pathlib import Path

import pytest

from testing.live import Browser, LiveServer, migrate
from tictac.embedded_redis import EmbeddedRedis

from .test_live import new_room, seated

pytestmark = pytest.mark.live


def health(server: LiveServer) -> tuple[int, dict[str, str]]:
    try:
        with server.get("/healthz") as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def wait_for_health(server: LiveServer, status: int, within: float) -> dict[str, str]:
    """Poll /healthz until it answers ``status``; fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        code, body = health(server)
        if code == status:
            return body
        assert time.monotonic() < deadline, f"/healthz still {code} {body} after {within} s"
        time.sleep(0.2)


@pytest.fixture
def redis_server() -> Iterator[EmbeddedRedis]:
    redis = EmbeddedRedis().start()
    yield redis
    redis.stop()


@pytest.fixture
def servers(redis_server: EmbeddedRedis, tmp_path: Path) -> Iterator[list[LiveServer]]:
    database_url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    migrate(database_url)
    started = [
        LiveServer("daphne", database_url, tmp_path / f"daphne-{n}.log", REDIS_URL=redis_server.url).start()
        for n in range(2)
    ]
    yield started
    for server in started:
        server.stop()


async def test_when_redis_restarts_mid_game_then_nothing_is_lost_and_every_page_catches_up(
    redis_server: EmbeddedRedis, servers: list[LiveServer]
) -> None:
    first, second = servers
    code = new_room(first)
    alice = await seated(Browser(), first, code, "alice")
    bob = await seated(Browser(), second, code, "bob")
    await alice.send({"type": "move", "cell": 4})
    await bob.next_state(moves=1)

    redis_server.stop()
    for server in servers:
        down = wait_for_health(server, 503, within=5)
        assert down["channel_layer"] == "error"
        assert down["db"] == "ok"

    # A move while Redis is away is judged, persisted and told to its mover.
    await bob.send({"type": "move", "cell": 0})
    assert (await bob.next_state(moves=2))["game"]["board"][0] == "O"

    redis_server.start()
    wait_for_health(first, 200, within=15)
    wait_for_health(second, 200, within=15)
    # What was published while Redis was away reaches the other page without a new move.
    caught_up = await alice.next_state(moves=2)
    assert caught_up["game"]["board"][0] == "O"

    # And broadcasting works again, both ways.
    await alice.send({"type": "move", "cell": 8})
    assert (await bob.next_state(moves=3))["game"]["last_move"] == {"cell": 8, "mark": "X"}
    await bob.send({"type": "move", "cell": 2})
    assert (await alice.next_state(moves=4))["game"]["last_move"] == {"cell": 2, "mark": "O"}
    api = json.loads(second.get(f"/api/rooms/{code}/").read())
    assert api["game"]["history"] == [4, 0, 8, 2]
    await alice.close()
    await bob.close()
