from typing import Any

from django.apps import AppConfig
from django.core.signals import request_finished
from django.db import connections


def close_request_connections(**kwargs: Any) -> None:
    """Close the database connections an HTTP request opened, as it ends.

    Under ASGI, Django runs each HTTP request's synchronous code in a thread
    of its own, so a connection kept for ``CONN_MAX_AGE`` (which is there for
    the sockets' one database thread) is never used again once its request
    is over. Left open, it waits for a full garbage collection to be closed
    (Django's connection objects form reference cycles), and each such
    SQLite connection holds its page cache: 1,000 page loads left the server
    35 MB bigger, against 9 MB once closed. ``request_finished`` runs on the
    request's own thread, so these are exactly its connections. One inside a
    transaction (a test's ``TestCase`` wraps its requests in one) is left
    alone.
    """
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close()


class GameConfig(AppConfig):
    name = "game"
    verbose_name = "Tic-tac-toe"

    def ready(self) -> None:
        request_finished.connect(close_request_connections, dispatch_uid="game.close_request_connections")
