"""The session a WebSocket's handshake names in its cookie."""

from __future__ import annotations

from importlib import import_module

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.http.cookie import parse_cookie


def session_from_headers(headers: list[tuple[bytes, bytes]]) -> SessionBase:
    """The session a socket's cookie names, read once when it connects and not kept.

    A socket never changes its session, so Channels' SessionMiddleware is
    not used: it keeps a session object for the socket's whole life and
    checks it for changes on every frame sent. Nor is its CookieMiddleware:
    it keeps every cookie, in a copy of the scope, for as long (docs/performance.md).
    """
    # A client may split its cookies over several headers (HTTP/2 does, and a
    # proxy may pass them on so); they are one list joined with "; ".
    cookies = b"; ".join(value for name, value in headers if name == b"cookie")
    session_key = parse_cookie(cookies.decode("latin-1")).get(settings.SESSION_COOKIE_NAME)
    session_store: type[SessionBase] = import_module(settings.SESSION_ENGINE).SessionStore
    return session_store(session_key)
