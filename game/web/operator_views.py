"""What operators read: the health check (/healthz) and the metrics (/metrics)."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.layers import BaseChannelLayer, InMemoryChannelLayer, get_channel_layer
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from game.realtime.presence import MemoryPresence, presence
from game.web.access import operators_only

logger = logging.getLogger(__name__)

Checked = TypeVar("Checked")


@never_cache
@require_GET
async def healthz(request: HttpRequest) -> JsonResponse:
    """Ready when the database, the channel layer and presence's Redis answer; names the part that does not.

    Each part says ``ok``, ``error`` or, on the in-memory layer (one process,
    no Redis), ``in-memory``, which is ready too. The view is asynchronous so
    that waiting on Redis never holds the process's database thread.
    """
    checks = {"db": _check_database, "channel_layer": _check_channel_layer}
    report: dict[str, Any] = {}
    for part, check in checks.items():
        try:
            report[part] = await check()
        except Exception as error:
            logger.warning("health check failed: %s: %s", part, error.__class__.__name__)
            report[part] = "error"
    shards = await _check_presence_shards()
    report["presence"] = shards[0] if len(shards) == 1 else ("ok" if set(shards) == {"ok"} else "error")
    if len(shards) > 1:
        report["presence_shards"] = shards  # which of REDIS_URL's servers fail, in its order
    healthy = "error" not in report.values()
    return JsonResponse({"status": "ok" if healthy else "error", **report}, status=200 if healthy else 503)


@never_cache
@require_GET
@operators_only
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text format: sockets, rooms, games, moves, refusals, latency."""
    from game.realtime import metrics as _registers_collectors  # noqa: F401

    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)


# How long /healthz waits for Redis (the channel layer's round trip, presence's PING) before calling it down.
HEALTH_TIMEOUT_SECONDS = 2.0


def _select_one() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


async def _check_database() -> str:
    await database_sync_to_async(_select_one)()
    return "ok"


async def _check_channel_layer() -> str:
    layer = get_channel_layer()
    if layer is None:
        raise LookupError("no channel layer is configured")
    if isinstance(layer, InMemoryChannelLayer):
        return "in-memory"
    await _within(_round_trip(layer), HEALTH_TIMEOUT_SECONDS)
    return "ok"


async def _check_presence_shards() -> list[str]:
    """Each Redis shard's answer to a PING, all at once: ``ok`` or ``error`` (or ``in-memory``)."""
    store = presence()
    if isinstance(store, MemoryPresence):
        return ["in-memory"]

    async def check(shard: int) -> str:
        try:
            # On a thread of its own: not the database thread, which the sockets' moves need.
            ping = sync_to_async(store.ping_blocking, thread_sensitive=False)(shard)
            await _within(ping, HEALTH_TIMEOUT_SECONDS)
        except Exception as error:
            logger.warning("health check failed: presence shard %d: %s", shard, error.__class__.__name__)
            return "error"
        return "ok"

    return list(await asyncio.gather(*(check(shard) for shard in range(store.shard_count))))


async def _within(work: Awaitable[Checked], seconds: float) -> Checked:
    """What ``work`` returns, or TimeoutError after ``seconds``, without waiting for it to wind down."""
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait([task], timeout=seconds)
    if not done:
        task.cancel()  # a round trip lets go of its channel in the background
        raise TimeoutError(f"no answer within {seconds} s")
    return task.result()


async def _round_trip(layer: BaseChannelLayer) -> None:
    """Send a message to a new channel of this process and receive it back: the path every state takes.

    Under an ASGI server this runs on the server's event loop, so it goes
    through the very connections the process's sockets use (for the pub/sub
    layer, its publishing pool and its one subscribing connection).
    """
    sent = {"type": "health.check", "token": secrets.token_hex(8)}
    channel = await layer.new_channel("healthz.")
    await layer.send(channel, sent)
    received = await layer.receive(channel)  # cancelled while it waits, it lets go of the channel itself
    # A receive cancelled while it waits is how a consumer lets go of its channel when it
    # ends: the pub/sub layer then unsubscribes the channel, which nothing else would.
    letting_go = asyncio.ensure_future(layer.receive(channel))
    await asyncio.sleep(0)  # until it waits
    letting_go.cancel()
    await asyncio.wait([letting_go])
    if received != sent:
        raise ValueError("the channel layer returned another message")
