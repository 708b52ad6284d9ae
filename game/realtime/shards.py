"""Which Redis shard holds each key tictac keeps: the one channels-redis picks for the same name.

``REDIS_URL`` may name several Redis servers (settings.REDIS_URLS). The
channel layer spreads its groups over them by a hash of the group's name;
presence and budgets follow it, so that one host carries everything about a
room: its group's messages, its presence and the clock that orders its
states (game/realtime/presence.py). A host that goes away then takes only its own
rooms with it. Keys that belong to no room (a session's or an address's
sockets, a budget's window) go by a hash of their own name.

With one shard nothing is hashed: every key is on shard 0, as it was before
there were shards.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

import redis as redis_sync
import redis.asyncio as redis
from django.conf import settings

from game.storage.layer_internals import group_shard, key_shard

Item = TypeVar("Item")


def room_group(code: str) -> str:
    """The channel-layer group of a room's sockets."""
    return f"room.{code}"


class RedisShards:
    """A client per Redis shard (per event loop for asyncio), in ``REDIS_URLS`` order, and which shard holds a key."""

    def __init__(self, urls: Sequence[str]) -> None:
        """``urls``: the process's channel layer has one host for each, in this order (settings.py)."""
        if not urls:
            raise ValueError("at least one Redis URL is needed")
        self.urls = tuple(urls)
        # redis.asyncio clients belong to the event loop that made them.
        self._clients: list[weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, redis.Redis]] = [
            weakref.WeakKeyDictionary() for _ in self.urls
        ]
        self._blocking_clients: list[redis_sync.Redis | None] = [None] * len(self.urls)

    def __len__(self) -> int:
        return len(self.urls)

    def of_room(self, code: str) -> int:
        """The shard of the room's group: where its presence and its clock live too."""
        if len(self.urls) == 1:
            return 0
        shard = group_shard(room_group(code))
        if shard >= len(self.urls):
            raise ValueError(f"the channel layer has more hosts than REDIS_URL names ({len(self.urls)})")
        return shard

    def of_key(self, key: str) -> int:
        """The shard of a key that belongs to no room."""
        return 0 if len(self.urls) == 1 else key_shard(key, len(self.urls))

    def group(self, items: Iterable[Item], shard_of: Callable[[Item], int]) -> dict[int, list[Item]]:
        """``items`` by shard, each shard's in their order."""
        by_shard: dict[int, list[Item]] = {}
        for item in items:
            by_shard.setdefault(shard_of(item), []).append(item)
        return by_shard

    def client(self, shard: int) -> redis.Redis:
        """This event loop's client of ``shard``."""
        loop = asyncio.get_running_loop()
        client = self._clients[shard].get(loop)
        if client is None:
            # A blocking pool makes a burst of connects queue for a connection
            # instead of failing once every connection is in use.
            pool = redis.BlockingConnectionPool.from_url(
                self.urls[shard],
                decode_responses=True,
                socket_timeout=5,
                socket_connect_timeout=2,
                max_connections=100,
                timeout=10,
                driver_info=settings.REDIS_DRIVER_INFO,
            )
            client = redis.Redis(connection_pool=pool)
            self._clients[shard][loop] = client
        return client

    def blocking_client(self, shard: int) -> redis_sync.Redis:
        """The synchronous client of ``shard`` (views, the database thread)."""
        client = self._blocking_clients[shard]
        if client is None:
            client = redis_sync.Redis.from_url(
                self.urls[shard],
                decode_responses=True,
                socket_timeout=2,
                socket_connect_timeout=2,
                driver_info=settings.REDIS_DRIVER_INFO,
            )
            self._blocking_clients[shard] = client
        return client
