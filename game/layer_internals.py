"""Every attribute of Channels' and channels-redis's layers that is not their public API, read here and nowhere else.

Channels has no public call for how many messages wait for a channel in this
process, and the hang-up of a client too far behind (local_sockets) needs it.
Each layer keeps a queue per channel:

* ``RedisPubSubChannelLayer``: ``_get_layer()`` (this event loop's
  ``RedisPubSubLoopLayer``) and its ``channels``;
* ``RedisChannelLayer``: ``receive_buffer``;
* ``InMemoryChannelLayer``: ``channels``.

game/tests/test_layer_internals.py checks each on real layers of the
installed packages, so an upgrade that renames or reshapes one fails there
rather than at the first slow client.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from channels.layers import InMemoryChannelLayer
from channels_redis.core import RedisChannelLayer
from channels_redis.pubsub import RedisPubSubChannelLayer


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
        raise LayerInternalsError(f"{type(layer).__name__} changed: {error} (see game/layer_internals.py)") from error
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
