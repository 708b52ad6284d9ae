"""The channel layers' internals that game/storage/layer_internals.py reads, checked on real layers of the
installed channels and channels-redis (against the test Redis, and two of their own for the shards).

Run this first when channels-redis (or Channels) moves to another release series, then change
layer_internals' WRITTEN_FOR (tictac.servers.written_for stops the server until then). If one of these
fails after an upgrade, the package renamed or reshaped what the adapter reads: change
game/storage/layer_internals.py (and only it) to match, or the hang-up of clients too far behind stops
working.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping

import pytest
import redis.asyncio
from asgiref.sync import async_to_sync
from channels.layers import BaseChannelLayer, InMemoryChannelLayer
from channels_redis.core import RedisChannelLayer
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.conf import settings

from game.storage.layer_internals import LayerInternalsError, channel_queues, group_shard, key_shard, pending_messages
from tictac.embedded_redis import EmbeddedRedis


def _hosts() -> list[str]:
    return list(settings.REDIS_URLS)


def assert_queues_by_channel(queues: Mapping[str, asyncio.Queue[object]] | None, channel: str) -> None:
    assert isinstance(queues, Mapping)
    assert isinstance(queues[channel], asyncio.Queue)


@pytest.fixture
async def pubsub_layer() -> AsyncIterator[RedisPubSubChannelLayer]:
    layer = RedisPubSubChannelLayer(hosts=_hosts(), prefix=f"tictac-test-{uuid.uuid4().hex}")
    yield layer
    await layer.flush()


@pytest.fixture
async def core_layer() -> AsyncIterator[RedisChannelLayer]:
    layer = RedisChannelLayer(hosts=_hosts(), prefix=f"tictac-test-{uuid.uuid4().hex}")
    yield layer
    await layer.flush()


async def test_the_pubsub_layer_keeps_a_queue_per_channel_of_this_event_loop(
    pubsub_layer: RedisPubSubChannelLayer,
) -> None:
    channel, marker = await pubsub_layer.new_channel(), await pubsub_layer.new_channel()
    assert pending_messages(pubsub_layer, channel) == 0
    await pubsub_layer.send(channel, {"type": "probe", "n": 1})
    await pubsub_layer.send(channel, {"type": "probe", "n": 2})
    # One Redis connection delivers in order: once the marker is here, so are the two before it.
    await pubsub_layer.send(marker, {"type": "probe"})
    await asyncio.wait_for(pubsub_layer.receive(marker), 5)
    assert pending_messages(pubsub_layer, channel) == 2
    assert_queues_by_channel(channel_queues(pubsub_layer), channel)
    assert (await pubsub_layer.receive(channel))["n"] == 1
    assert pending_messages(pubsub_layer, channel) == 1


async def test_the_core_layer_buffers_what_arrives_for_another_local_channel(core_layer: RedisChannelLayer) -> None:
    waiting, reading = await core_layer.new_channel(), await core_layer.new_channel()
    await core_layer.send(waiting, {"type": "probe"})
    await core_layer.send(reading, {"type": "probe"})
    # Reading one local channel takes the process's messages in order: the other's is buffered.
    await asyncio.wait_for(core_layer.receive(reading), 5)
    assert pending_messages(core_layer, waiting) == 1
    assert_queues_by_channel(channel_queues(core_layer), waiting)
    assert pending_messages(core_layer, "specific.nobody!here") == 0
    assert "specific.nobody!here" not in (channel_queues(core_layer) or {})  # asked about, not made


async def test_the_in_memory_layer_keeps_a_queue_per_channel() -> None:
    layer = InMemoryChannelLayer()
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "probe"})
    assert pending_messages(layer, channel) == 1
    assert_queues_by_channel(channel_queues(layer), channel)
    await layer.receive(channel)
    assert pending_messages(layer, channel) == 0


async def test_a_layer_the_adapter_does_not_know_has_nothing_pending() -> None:
    assert channel_queues(BaseChannelLayer()) is None
    assert pending_messages(BaseChannelLayer(), "specific.anything") == 0


def test_a_layer_without_the_attribute_read_fails_with_a_clear_error() -> None:
    layer = InMemoryChannelLayer()
    del layer.channels  # as a release that renamed it would leave it
    with pytest.raises(LayerInternalsError, match="layer_internals"):
        pending_messages(layer, "specific.anything")


def test_a_layer_whose_queues_are_no_mapping_fails_with_a_clear_error() -> None:
    layer = InMemoryChannelLayer()
    layer.channels = ["a list now"]
    with pytest.raises(LayerInternalsError, match="list"):
        channel_queues(layer)


# --- The shard of a group: where each layer really puts it, on two real Redis servers ------------


@pytest.fixture(scope="module")
def two_servers() -> Iterator[list[str]]:
    started = [EmbeddedRedis().start() for _ in range(2)]
    yield [server.url for server in started]
    for server in started:
        server.stop()


# Group names of several lengths: over two shards CRC32 picks alike for names of one length.
GROUPS = [f"room.{uuid.uuid4().hex[:length]}" for length in range(4, 16)]


def test_a_pubsub_group_is_subscribed_on_the_shard_group_shard_names(two_servers: list[str]) -> None:
    layer = RedisPubSubChannelLayer(hosts=two_servers, prefix=f"tictac-test-{uuid.uuid4().hex}")
    # Asked with no event loop running, as views and the database thread ask (a lobby read, a budget).
    named = {group: group_shard(group, layer) for group in GROUPS}
    assert set(named.values()) == {0, 1}

    async def subscribed_where() -> dict[str, int]:
        clients = [redis.asyncio.Redis.from_url(url, decode_responses=True) for url in two_servers]
        try:
            channel = await layer.new_channel()
            for group in GROUPS:
                await layer.group_add(group, channel)
            found = {}
            for group in GROUPS:
                subscribed = [bool(await client.pubsub_channels(f"*__group__{group}")) for client in clients]
                assert subscribed.count(True) == 1, group
                found[group] = subscribed.index(True)
            return found
        finally:
            await layer.flush()
            for client in clients:
                await client.aclose()

    assert async_to_sync(subscribed_where)() == named


async def test_a_core_group_is_kept_on_the_shard_group_shard_and_key_shard_name(two_servers: list[str]) -> None:
    prefix = f"tictac-test-{uuid.uuid4().hex}"
    layer = RedisChannelLayer(hosts=two_servers, prefix=prefix)
    clients = [redis.asyncio.Redis.from_url(url, decode_responses=True) for url in two_servers]
    try:
        channel = await layer.new_channel()
        for group in GROUPS:
            await layer.group_add(group, channel)
            held = [bool(await client.exists(f"{prefix}:group:{group}")) for client in clients]
            assert held == [shard == group_shard(group, layer) for shard in range(2)], group
            assert group_shard(group, layer) == key_shard(group, 2)  # the core layer hashes the group's own name
        assert {group_shard(group, layer) for group in GROUPS} == {0, 1}
    finally:
        await layer.flush()
        for client in clients:
            await client.aclose()


def test_a_layer_without_hosts_has_one_shard() -> None:
    assert group_shard("room.x", InMemoryChannelLayer()) == 0
