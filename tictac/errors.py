"""A page and a plain log line, instead of a bare 500, when Redis is not answering."""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import urlsplit

import redis.exceptions
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.template import loader

logger = logging.getLogger("tictac.redis")

_REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, ConnectionRefusedError)


def redis_is_down(error: BaseException | None) -> bool:
    """Whether ``error``, or an error it was raised from, is Redis not answering."""
    seen = 0
    while error is not None and seen < 10:
        if isinstance(error, _REDIS_DOWN):
            return True
        error = error.__cause__ or error.__context__
        seen += 1
    return False


class RedisUnavailableMiddleware:
    """Answer a view that failed for want of Redis with 503 and the 500 page saying so, and log
    it in words (the traceback alone read as an unexplained 500)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not redis_is_down(exception):
            return None
        # Every shard is named: the error does not say which one failed.
        where = ", ".join(f"{url.hostname}:{url.port or 6379}" for url in map(urlsplit, settings.REDIS_URLS))
        logger.error(
            "Redis is not answering at %s, so pages that show live rooms fail (%s). "
            "Start redis-server, or python3 run.py (which starts one), or set REDIS_URL.",
            where,
            exception.__class__.__name__,
        )
        page = loader.get_template("500.html").render({"redis_down": True})
        return HttpResponse(page, status=503)
