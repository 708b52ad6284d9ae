"""Say which worker answered, for checking a deployment of several: ``X-Served-By: <hostname>``.

Off unless ``TICTAC_SERVED_BY`` is set (``docker-compose.yml`` passes it on,
empty by default): a worker's hostname is nobody else's business, and the
wrapper around every ``send`` costs a little on every message. The deploy
check (testing/deploy_check.py) sets it to see that nginx put two players on
two web containers, and where a player landed after one was stopped.
Both a page's answer and a socket's handshake carry the header.
"""

from __future__ import annotations

import socket
from typing import Any, cast

from asgiref.typing import ASGI3Application, ASGIReceiveCallable, ASGISendCallable, ASGISendEvent, Scope

HEADER = b"x-served-by"
# The ASGI messages that start an answer, whose headers reach the client.
ANSWER_STARTS = ("http.response.start", "websocket.accept")


class ServedBy:
    """ASGI middleware adding ``X-Served-By`` (this host's name) to every HTTP answer and socket handshake."""

    def __init__(self, application: ASGI3Application, name: str | None = None) -> None:
        self.application = application
        self.name = (name or socket.gethostname()).encode("latin-1")

    async def __call__(self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        async def send_named(message: ASGISendEvent) -> None:
            if message["type"] in ANSWER_STARTS:
                named: dict[str, Any] = dict(message)
                named["headers"] = [*named.get("headers", ()), (HEADER, self.name)]
                message = cast(ASGISendEvent, named)
            await send(message)

        await self.application(scope, receive, send_named)
