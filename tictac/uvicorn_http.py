"""uvicorn's httptools protocol with a deadline for a request's headers.

uvicorn times out only an idle kept-alive connection between requests
(``--timeout-keep-alive``): a connection that never sends a byte, or sends a
request's headers a byte at a time, is held open for ever, and 1,000 of them
were. Here each connection must deliver a request's complete headers within
``TICTAC["HEADER_TIMEOUT_SECONDS"]`` of opening (or, kept alive, of that
request's first byte), or it is closed. Bodies and WebSockets are unaffected.

    uvicorn --http tictac.uvicorn_http:HttpToolsProtocol ... tictac.asgi:application
"""

from __future__ import annotations

import asyncio

from django.conf import settings
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _HttpToolsProtocol


class HttpToolsProtocol(_HttpToolsProtocol):
    _header_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_deadline()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._header_deadline is None:  # a kept-alive connection's next request
            self._start_header_deadline()

    def on_headers_complete(self) -> None:
        self._cancel_header_deadline()
        super().on_headers_complete()

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
