"""Django's ASGI handler with every request's synchronous code on the process's one database thread.

Django runs each HTTP request's synchronous code (its middleware and views)
in a thread made for that request (a ``ThreadSensitiveContext``), so a
request's database connection is the thread's and ends with it. On SQLite
that meant, for every page view, opening a connection (which reads the
whole schema again, about 6 ms here) and queueing for the one write lock on
SQLite's busy handler, which sleeps in steps of up to 100 ms: 20 page
views at a time made about 55 a second on one worker, each waiting 300 ms.

Without that context asgiref runs all thread-sensitive code of the process
on one thread: the one Channels' ``database_sync_to_async`` already uses for
every socket's database calls (game/storage/group_commit.py counts on it). Page
views then share its kept connection (``CONN_MAX_AGE``) and take the write
lock in turn. What is given up is running two requests' Python at once,
which the GIL never allowed anyway; a request that waits on the database
now holds up the others (and the sockets' moves) for that long, so views
must stay short, which they are (a handful of indexed queries each).
"""

from __future__ import annotations

from typing import Any, Final

import django
from django.core.handlers.asgi import ASGIHandler

WRITTEN_FOR: Final = {"django": "5.2"}
"""The releases this was written for, checked at start-up (tictac.servers.written_for);
game/tests/test_upgrade_django_internals.py checks what is used here."""


class OneThreadASGIHandler(ASGIHandler):
    """Django's handler; its ``__call__`` is Django's, less the ``ThreadSensitiveContext``."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        await self.handle(scope, receive, send)


def get_asgi_application() -> OneThreadASGIHandler:
    """:func:`django.core.asgi.get_asgi_application`, with the handler above."""
    django.setup(set_prefix=False)
    return OneThreadASGIHandler()
