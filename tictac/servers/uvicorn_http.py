"""uvicorn's httptools protocol with deadlines for a request's headers and body.

uvicorn times out only an idle kept-alive connection between requests
(``--timeout-keep-alive``): a connection that never sends a byte, or sends a
request's headers a byte at a time, is held open for ever, and 1,000 of them
were. Here each connection must deliver a request's complete headers within
``TICTAC["HEADER_TIMEOUT_SECONDS"]`` of opening (or, kept alive, of that
request's first byte), or it is closed.

A body sent a byte a second was held for as long as it lasted, and its view
waited in ``receive()`` all that while. Its body must now be complete within
``TICTAC["BODY_TIMEOUT_SECONDS"]`` of its headers' end: if not, the view is
told the client left (``http.disconnect``), the client gets 408 if no answer
has begun, and the connection is closed. WebSocket handshakes have no body and
are unaffected.

    uvicorn --http tictac.servers.uvicorn_http:HttpToolsProtocol ... tictac.asgi:application
"""

from __future__ import annotations

import asyncio
from typing import Final

from django.conf import settings
from uvicorn.protocols.http.httptools_impl import STATUS_LINE
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _HttpToolsProtocol

WRITTEN_FOR: Final = {"uvicorn": "0.54"}
"""The releases this was written for, checked at start-up (tictac.servers.written_for);
game/tests/test_upgrade_uvicorn_internals.py checks what is used here."""

BODY_TOO_SLOW = b"The request's body did not arrive in time.\n"


class HttpToolsProtocol(_HttpToolsProtocol):
    _header_deadline: asyncio.TimerHandle | None = None
    _body_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_deadline()
        self._cancel_body_deadline()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._header_deadline is None:  # a kept-alive connection's next request
            self._start_header_deadline()

    def on_headers_complete(self) -> None:
        self._cancel_header_deadline()
        super().on_headers_complete()
        if not (self.parser.should_upgrade() and self._should_upgrade()):
            # A request without a body completes at once (on_message_complete, in this same
            # feed of data), which cancels this again.
            self._start_body_deadline()

    def on_message_complete(self) -> None:
        self._cancel_body_deadline()
        super().on_message_complete()

    def _start_header_deadline(self) -> None:
        seconds: float = settings.TICTAC["HEADER_TIMEOUT_SECONDS"]
        if seconds > 0:
            self._header_deadline = self.loop.call_later(seconds, self._headers_too_slow)

    def _cancel_header_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_too_slow(self) -> None:
        self._header_deadline = None
        if not self.transport.is_closing():
            self.transport.close()

    def _start_body_deadline(self) -> None:
        seconds: float = settings.TICTAC["BODY_TIMEOUT_SECONDS"]
        if seconds > 0:
            self._body_deadline = self.loop.call_later(seconds, self._body_too_slow)

    def _cancel_body_deadline(self) -> None:
        if self._body_deadline is not None:
            self._body_deadline.cancel()
            self._body_deadline = None

    def _body_too_slow(self) -> None:
        self._body_deadline = None
        cycle = self.cycle
        if any(waiting is cycle for waiting, _ in self.pipeline):
            # Pipelined behind a request still being answered: uvicorn stopped reading, so
            # the client's time starts again when this request's turn comes.
            self._start_body_deadline()
            return
        if self.transport.is_closing():
            return
        # As uvicorn does on a lost connection: the view's receive() now says http.disconnect
        # (Django's handler then returns without running the view) and nothing more is written.
        cycle.disconnected = True
        cycle.message_event.set()
        if not cycle.response_started:
            self._send_408_response()
        self.transport.close()

    def _send_408_response(self) -> None:
        content = [STATUS_LINE[408]]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend(
            [
                b"content-type: text/plain; charset=utf-8\r\n",
                b"content-length: " + str(len(BODY_TOO_SLOW)).encode("ascii") + b"\r\n",
                b"connection: close\r\n",
                b"\r\n",
                BODY_TOO_SLOW,
            ]
        )
        self.transport.write(b"".join(content))
