"""Refuse WebSockets opened from other sites' pages, with a close code a page can read.

Channels' ``AllowedHostsOriginValidator`` refuses such a handshake with HTTP
403, which a browser reports to the page only as close ``1006``, the same as
a dropped network: the page cannot tell the two apart and retries for ever.
:class:`AllowedHostsOnly` keeps Channels' rules for which ``Origin`` is
allowed (``ALLOWED_HOSTS``, any port; localhost in ``DEBUG`` with none set;
no ``Origin`` refused) but accepts a refused socket and closes it at once
with ``4403`` (docs/protocol.md), so the page stops and says why. The
application behind it never sees the socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from urllib.parse import ParseResult, urlparse

from asgiref.typing import ASGI3Application, ASGIReceiveCallable, ASGISendCallable, Scope, WebSocketScope
from channels.security.websocket import AllowedHostsOriginValidator

logger = logging.getLogger(__name__)

CLOSE_ORIGIN_REFUSED = 4403
# How long the server waits for a client to answer its close: a refused socket here, and every
# socket under daphne (tictac.servers.daphne_compat).
CLOSE_ANSWER_SECONDS = 5.0


class AllowedHostsOnly:
    """ASGI middleware for WebSockets: the inner application gets only sockets from an allowed ``Origin``."""

    def __init__(self, application: ASGI3Application) -> None:
        self.application = application
        # Channels' own validator, for its reading of the settings and its matching of origins.
        self.validator = AllowedHostsOriginValidator(application)

    async def __call__(self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        if scope["type"] != "websocket":
            raise ValueError("AllowedHostsOnly is for WebSocket connections only")
        origin = _origin(scope)
        if self.validator.valid_origin(origin):
            await self.application(scope, receive, send)
            return
        logger.info("websocket refused: origin not allowed", extra={"origin": origin.geturl() if origin else None})
        await _refuse(receive, send)


def _origin(scope: WebSocketScope) -> ParseResult | None:
    """The handshake's ``Origin`` header, parsed as Channels does (the last one wins), or None."""
    origin = None
    for name, value in scope["headers"]:
        if name == b"origin":
            origin = urlparse(value.decode("latin1"))
    return origin


async def _refuse(receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
    """Accept, then close with 4403 at once: a browser shows the page that code, where a 403 reads as 1006."""
    message = await receive()
    if message["type"] != "websocket.connect":
        return  # the client left before the handshake finished
    await send({"type": "websocket.accept", "subprotocol": None, "headers": []})
    await send({"type": "websocket.close", "code": CLOSE_ORIGIN_REFUSED, "reason": None})
    # Then wait for the client's answer, the end of the closing handshake. Returning at once lets
    # the server drop the connection while the close frame may still be unread, and a browser
    # then reports 1006 and tries again. A client that never answers is cut off after a while.
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(CLOSE_ANSWER_SECONDS):
            while (await receive())["type"] != "websocket.disconnect":
                pass
