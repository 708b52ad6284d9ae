"""Presence, budgets and the resync on two Redis shards: each key on the shard channels-redis picks.

Two real Redis servers of their own (besides the test run's), a pub/sub layer over both, and
presence and budgets made from the settings as a worker would make them; each test looks into
both servers to see where the keys went.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
import redis
from channels.db import database_sync_to_async
from django.test import Client

from game.actions import rooms
from game.models import Room
from game.realtime import budgets, presence
from game.realtime.local_sockets import LocalSockets
from game.realtime.presence import RedisPresence
from game.realtime.shards import room_group
from game.storage.layer_internals import group_shard, key_shard
from tictac.embedded_redis import EmbeddedRedis

PRESENCE = "tictac:presence:"
ACTIVITY = "tictac:room-activity"


@pytest.fixture(scope="module")
def servers() -> Iterator[list[EmbeddedRedis]]:
    started = [EmbeddedRedis().start() for _ in range(2)]
    yield started
    for server in started:
        server.stop()


@pytest.fixture
def shards(servers: list[EmbeddedRedis], settings: Any) -> Iterator[list[redis.Redis]]:
    """The process on two shards (REDIS_URL naming both): a client of each server, emptied first."""
    for server in servers:
        if server.process is None:  # stopped by a restart test that failed half-way
            server.start()
    urls = [server.url for server in servers]
    settings.REDIS_URLS = urls
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer", "CONFIG": {"hosts": urls}}
    }
    presence.stores.reset()  # made again from these settings
    clients = [redis.Redis.from_url(url, decode_responses=True) for url in urls]
    for client in clients:
        client.flushall()
    yield clients
    presence.stores.reset()
    for client in clients:
        client.close()


def store() -> RedisPresence:
    made = presence.presence()
    assert isinstance(made, RedisPresence)
    return made


def code_on(shard: int, length: int = 8) -> str:
    """A room code of ``length`` characters whose group the process's channel layer puts on ``shard``."""
    while group_shard(room_group(code := uuid.uuid4().hex[:length])) != shard:
        pass
    return code


def holders(clients: list[redis.Redis], key: str) -> list[int]:
    """The shards that hold ``key``."""
    return [shard for shard, client in enumerate(clients) if client.exists(key)]


async def test_a_rooms_presence_and_activity_live_only_on_the_shard_of_its_group(
    shards: list[redis.Redis],
) -> None:
    # Codes of several lengths: over two shards, CRC32 picks alike for two names of one length
    # whatever the prefix (so a room's key hashed by its own name could pass with one length).
    codes = {code_on(n % 2, length=n): n % 2 for n in range(6, 14)}
    for code in codes:
        await store().add(code, f"specific.{code}", "session-" + code, "10.1.1.1")
    for code, shard in codes.items():
        assert store().room_shard(code) == shard
        assert holders(shards, PRESENCE + code) == [shard]
        assert shards[shard].zscore(ACTIVITY, code) is not None
        assert shards[1 - shard].zscore(ACTIVITY, code) is None
        session_key = "tictac:session-sockets:session-" + code
        assert holders(shards, session_key) == [key_shard(session_key, 2)]
    assert holders(shards, "tictac:address-sockets:10.1.1.1") == [key_shard("tictac:address-sockets:10.1.1.1", 2)]


async def test_a_socket_is_counted_in_its_room_session_and_address_across_shards(shards: list[redis.Redis]) -> None:
    code, other = code_on(0), code_on(1)
    await store().add(code, "specific.a", "alice", "10.2.2.2")
    await store().add(other, "specific.b", "alice", "10.2.2.2")
    counts = await store().add(code, "specific.c", "bob", "10.2.2.2")
    assert (counts.in_room, counts.of_session, counts.of_address) == (2, 1, 3)
    await store().remove(code, "specific.c", "bob", "10.2.2.2")
    seen = await store().snapshots([code, other])
    assert seen[code].sessions == {"alice"}
    assert seen[other].sessions == {"alice"}
    blocking = store().snapshots_blocking([other, code])  # the views' read, one shard after the other
    assert (blocking[code].sessions, blocking[other].sessions) == ({"alice"}, {"alice"})


async def test_the_lobby_merges_the_most_recent_rooms_of_every_shard(shards: list[redis.Redis]) -> None:
    first, second, third = code_on(0), code_on(1), code_on(0)
    for code in (first, second, third):
        await store().add(code, f"specific.{code}", None)
    latest = store().active_rooms_blocking(since=0, limit=2)
    assert list(latest) == [third, second]  # most recent first, whichever shard holds it


def test_healthz_names_the_shard_that_does_not_answer(
    shards: list[redis.Redis], settings: Any, client: Client, transactional_db: None
) -> None:
    presence.stores.use(RedisPresence([settings.REDIS_URLS[0], "redis://127.0.0.1:1/0"], ttl_seconds=30))
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["presence"] == "error"
    assert response.json()["presence_shards"] == ["ok", "error"]


async def test_budgets_counted_by_two_workers_hold_on_the_shard_of_their_key(
    shards: list[redis.Redis], settings: Any
) -> None:
    settings.TICTAC = {**settings.TICTAC, "MESSAGES_PER_ADDRESS_PER_SECOND": 3}  # 30 a window, each reported
    addresses = [f"10.3.{n}.{n**3}" for n in range(1, 9)]  # of several lengths, on both shards
    for address in addresses:
        # Two workers: each its own process state, one window per address between them, on its shard.
        workers = [
            budgets.SharedRate("messages_per_address", "MESSAGES_PER_ADDRESS_PER_SECOND", clock=lambda: 1e7)
            for _ in range(2)
        ]
        allowed = 0
        for _ in range(40):
            allowed += sum([await worker.allow(address) for worker in workers])
        assert allowed == 30
        counter = f"tictac:budget:messages_per_address:{address}"
        written = [shard for shard, client in enumerate(shards) if client.keys(counter + ":*")]
        assert written == [key_shard(counter, 2)]
    assert {key_shard(f"tictac:budget:messages_per_address:{address}", 2) for address in addresses} == {0, 1}


def test_a_views_budget_holds_on_the_shard_of_its_key(shards: list[redis.Redis], settings: Any) -> None:
    settings.TICTAC = {**settings.TICTAC, "BUDGETS": {**settings.TICTAC["BUDGETS"], "rooms_per_address": (2, 3600)}}
    addresses = [f"10.4.{n}.{n**3}" for n in range(1, 9)]  # of several lengths, on both shards
    for address in addresses:
        assert [budgets.spend_blocking("rooms_per_address", address) for _ in range(3)] == [True, True, False]
        counter = f"tictac:budget:rooms_per_address:{address}"
        assert [shard for shard, client in enumerate(shards) if client.keys(counter + ":*")] == [key_shard(counter, 2)]
    assert {key_shard(f"tictac:budget:rooms_per_address:{address}", 2) for address in addresses} == {0, 1}


async def test_a_shard_that_refuses_info_is_watched_by_ping(shards: list[redis.Redis]) -> None:
    shards[1].execute_command("ACL", "SETUSER", "default", "-info")  # as some hosted Redis do
    try:
        runs = await store().shard_runs()
    finally:
        shards[1].execute_command("ACL", "SETUSER", "default", "+info")
    assert runs[0] == shards[0].info("server")["run_id"]
    assert runs[1] == "answers"


@dataclass(eq=False)
class StandIn:
    """What the resync reads of a room socket, and what it was sent."""

    room: Room
    session_hash: str
    channel_name: str = field(default_factory=lambda: f"specific.{uuid.uuid4().hex}")
    address: str | None = None
    pushed: list[Any] = field(default_factory=list)

    @property
    def identity(self) -> Any:
        return SimpleNamespace(session_hash=self.session_hash)

    async def push_state(self, state: Any) -> None:
        self.pushed.append(state)


def session_on(shard: int) -> str:
    """A session hash whose socket set is kept on ``shard``."""
    while key_shard(f"tictac:session-sockets:{(session := uuid.uuid4().hex)}", 2) != shard:
        pass
    return session


make_room = database_sync_to_async(rooms.create_room)


async def room_on(shard: int) -> Room:
    """A new room whose group the process's channel layer puts on ``shard`` (codes are random)."""
    while True:
        room = await make_room(name="sharded", size=3, win_length=3)
        if group_shard(room_group(room.code)) == shard:
            return room


@pytest.fixture
async def local(shards: list[redis.Redis]) -> AsyncIterator[LocalSockets]:
    """A process's local sockets whose jobs wait an hour: the test runs each step itself."""
    sockets = LocalSockets(check_every=3600, heartbeat_every=3600)
    yield sockets
    sockets.reset()


@pytest.mark.parametrize("seen_away", [True, False], ids=["seen-away", "restarted-between-two-looks"])
async def test_when_one_shard_comes_back_only_what_it_held_is_resynced(
    seen_away: bool,
    servers: list[EmbeddedRedis],
    shards: list[redis.Redis],
    local: LocalSockets,
    transactional_db: None,
) -> None:
    kept_room, restarted_room = await room_on(0), await room_on(1)
    # The kept room's socket has its session's set on the shard that restarts: put back, not pushed.
    kept, restarted = StandIn(kept_room, session_on(1)), StandIn(restarted_room, session_on(0))
    local.add(kept_room.code, kept)  # type: ignore[arg-type]
    local.add(restarted_room.code, restarted)  # type: ignore[arg-type]
    await local.keep_present()
    await local.resync_when_redis_returns()  # both answer: nothing to do
    assert kept.pushed == restarted.pushed == []

    servers[1].stop()
    if seen_away:
        await local.resync_when_redis_returns()  # shard 1 noted away (else only its new run id tells)
    await local.keep_present()  # shard 0's entries are still refreshed
    assert shards[0].exists(PRESENCE + kept_room.code)
    servers[1].start()  # empty: it kept nothing on disk
    assert not shards[1].exists(PRESENCE + restarted_room.code)

    await local.resync_when_redis_returns()
    assert not kept.pushed  # only the restarted shard's room missed anything
    assert len(restarted.pushed) == 1
    assert restarted.pushed[-1].message["room"]["code"] == restarted_room.code
    assert (await store().snapshot(restarted_room.code)).sessions == {restarted.session_hash}
    assert shards[1].exists(f"tictac:session-sockets:{kept.session_hash}")  # the other room's, on this shard
    assert not shards[1].exists(f"tictac:session-sockets:{restarted.session_hash}")  # on shard 0, kept there
    assert shards[0].exists(f"tictac:session-sockets:{restarted.session_hash}")
