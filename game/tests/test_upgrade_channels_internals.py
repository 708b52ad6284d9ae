"""What tictac uses of Channels beyond its public API, checked against the installed release.

Run this first when Channels moves to another release series, then change the
WRITTEN_FOR of game/storage/consumer_dispatch.py (a copy of the consumers'
dispatch) and game/storage/layer_internals.py (the in-memory layer's queues;
the Redis layers' are in test_upgrade_channels_redis_internals.py).
"""

from __future__ import annotations

import inspect
import textwrap
from collections.abc import Mapping

import channels
from channels.consumer import AsyncConsumer, get_handler_name
from channels.layers import InMemoryChannelLayer

from game.storage import consumer_dispatch, layer_internals

# Channels 4.3's AsyncConsumer.dispatch, which DirectDispatch repeats less `await aclose_old_connections()`.
COPIED_DISPATCH = '''
async def dispatch(self, message):
    """
    Works out what to do with a message.
    """
    handler = getattr(self, get_handler_name(message), None)
    if handler:
        await aclose_old_connections()
        await handler(message)
    else:
        raise ValueError("No handler for message type %s" % message["type"])
'''


def test_every_module_here_is_written_for_the_installed_channels() -> None:
    installed = ".".join(channels.__version__.split(".")[:2])
    for module in (consumer_dispatch, layer_internals):
        assert module.WRITTEN_FOR["channels"] == installed, module.__file__


def test_a_consumers_dispatch_is_still_the_one_direct_dispatch_copied() -> None:
    assert textwrap.dedent(inspect.getsource(AsyncConsumer.dispatch)).strip() == COPIED_DISPATCH.strip()
    assert get_handler_name({"type": "room.state"}) == "room_state"


async def test_the_in_memory_layer_keeps_a_queue_per_channel_in_channels() -> None:
    layer = InMemoryChannelLayer()
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "probe"})
    assert isinstance(layer.channels, Mapping)
    assert layer.channels[channel].qsize() == 1
