"""uvicorn's sans-I/O WebSocket protocol, without the handshake kept for the socket's life.

uvicorn keeps each connection's handshake request and response (their
headers parsed into ``websockets`` ``Headers`` objects) on the protocol for
as long as the socket is open, though nothing reads them once the response
has gone out: about 4 KB per socket, a tenth of what a socket costs the
server. This protocol drops both as soon as the handshake is answered.

    uvicorn --ws tictac.servers.uvicorn_websockets:WebSocketsSansIOProtocol ... tictac.asgi:application
"""

from __future__ import annotations

from typing import Any, Final

from uvicorn.protocols.websockets.websockets_sansio_impl import (
    WebSocketsSansIOProtocol as _WebSocketsSansIOProtocol,
)

WRITTEN_FOR: Final = {"uvicorn": "0.54"}
"""The releases this was written for, checked at start-up (tictac.servers.written_for);
game/tests/test_upgrade_uvicorn_internals.py checks what is used here."""


class WebSocketsSansIOProtocol(_WebSocketsSansIOProtocol):
    # Class-level defaults, so that a connection that never sent a handshake has them too.
    request: Any = None
    response: Any = None

    async def send(self, message: Any) -> None:
        await super().send(message)
        # uvicorn reads the response only to send it, in answer to the application's first
        # message (accept, close or an HTTP response), and never reads the request again.
        if self.handshake_complete and self.response is not None:
            self.request = None
            self.response = None
