"""Every attribute of Channels' and channels-redis's layers that is not their public API, read here and nowhere else.

Channels has no public call for how many messages wait for a channel in this
process, and the hang-up of a client too far behind (local_sockets) needs it.
Each layer keeps a queue per channel:

* ``RedisPubSubChannelLayer``: ``_get_layer()`` (this event loop's
  ``RedisPubSubLoopLayer``) and its ``channels``;
* ``RedisChannelLayer``: ``receive_buffer``;
* ``InMemoryChannelLayer``: ``channels``.

Presence and budgets put each key on the Redis shard channels-redis would
pick for it (game/realtime/shards.py), and there is no public call for that either:

* ``key_shard``: channels-redis's hash of a name over N hosts
  (``channels_redis.utils._consistent_hash``);
* ``group_shard``: the host a group's messages go through, which the two
  layers pick by different names (the pub/sub layer hashes the group's
  prefixed channel name, ``RedisPubSubLoopLayer._get_group_channel_name``;
  the core layer the group name, ``RedisChannelLayer.consistent_hash``).

game/tests/test_layer_internals.py checks each on real layers of the
installed packages (the shards against two real Redis servers), so an
upgrade that renames or reshapes one fails there rather than at the first
slow client or the first room whose presence lives on another host.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Mapping
from typing import Any, Final

from channels.layers import InMemoryChannelLayer, get_channel_layer
from channels_redis.core import RedisChannelLayer
from channels_redis.pubsub import RedisPubSubChannelLayer, RedisPubSubLoopLayer
from channels_redis.utils import _consistent_hash

WRITTEN_FOR: Final = {"channels": "4.3", "channels-redis": "4.3"}
"""The releases this was written for, checked at start-up (tictac.servers.written_for);
game/tests/test_upgrade_channels_internals.py and test_upgrade_channels_redis_internals.py check what is used here."""


class LayerInternalsError(RuntimeError):
    """An installed channel layer no longer has an attribute this module reads."""


def channel_queues(layer: Any) -> Mapping[str, asyncio.Queue[Any]] | None:
    """This process's queue of waiting messages per channel; None for a layer not listed above."""
    try:
        if isinstance(layer, RedisPubSubChannelLayer):
            queues = layer._get_layer().channels
        elif isinstance(layer, RedisChannelLayer):
            queues = layer.receive_buffer
        elif isinstance(layer, InMemoryChannelLayer):
            queues = layer.channels
        else:
            return None
    except AttributeError as error:
        raise LayerInternalsError(
            f"{type(layer).__name__} changed: {error} (see game/storage/layer_internals.py)"
        ) from error
    if not isinstance(queues, Mapping):
        raise LayerInternalsError(f"{type(layer).__name__}'s channel queues are a {type(queues).__name__} now")
    return queues


def pending_messages(layer: Any, channel: str) -> int:
    """How many messages wait in this process for ``channel`` to take them (0 on an unknown layer).

    Unbounded for the Redis layers (their local buffer), bounded by its
    capacity for the in-memory one.
    """
    queues = channel_queues(layer)
    # .get, never [ ]: RedisChannelLayer's buffer is a defaultdict that would keep an empty queue.
    queue = queues.get(channel) if queues is not None else None
    return queue.qsize() if queue is not None else 0


def key_shard(name: str, shard_count: int) -> int:
    """The index, among ``shard_count`` hosts, of the one channels-redis puts ``name`` on."""
    shard: int = _consistent_hash(name, shard_count)
    return shard


def group_shard(group: str, layer: Any = None) -> int:
    """The index, in the layer's hosts (the process's layer unless given), of the Redis that carries
    ``group``'s messages; 0 for a layer without hosts."""
    layer = get_channel_layer() if layer is None else layer
    try:
        if isinstance(layer, RedisPubSubChannelLayer):
            # The per-event-loop layer holds the naming and the shards; one made here opens no
            # connection (works without an event loop) and is kept for the next call.
            loop_layer = _pubsub_namers.get(layer)
            if loop_layer is None:
                loop_layer = RedisPubSubLoopLayer(*layer._args, **layer._kwargs, channel_layer=layer)
                _pubsub_namers[layer] = loop_layer
            shards: list[object] = loop_layer._shards
            return shards.index(loop_layer._get_shard(loop_layer._get_group_channel_name(group)))
        if isinstance(layer, RedisChannelLayer):
            shard: int = layer.consistent_hash(group)
            return shard
    except AttributeError as error:
        raise LayerInternalsError(
            f"{type(layer).__name__} changed: {error} (see game/storage/layer_internals.py)"
        ) from error
    return 0


_pubsub_namers: weakref.WeakKeyDictionary[RedisPubSubChannelLayer, RedisPubSubLoopLayer] = weakref.WeakKeyDictionary()
"""Per pub/sub layer, a loop layer of its own that only names and hashes (never connects)."""
