"""Make daphne send the close codes the protocol promises.

Where daphne (4.2) falls short of RFC 6455 or of uvicorn, each measured here:

* A consumer's ``close(code=1009)`` goes through autobahn's ``sendClose``,
  which only accepts 1000 and 3000-4999 and raises on anything else; daphne
  turns that exception into a 1011 close. Codes a server may legitimately
  send (1001, 1008, 1009, 1011, 1012, ...) are written straight as a frame.
* A message over daphne's own size limit makes autobahn drop the TCP
  connection (``failByDrop``) so the client sees 1006 and cannot tell why;
  with it off autobahn sends a 1009 close frame first.

* On SIGTERM daphne cancels the applications and stops the reactor, which
  drops every WebSocket's TCP connection without a close frame (1006), so a
  page cannot tell a restart from a network fault. Before that, each open
  socket is now sent 1012 ("service restart") and given a moment to answer,
  as uvicorn does.

* daphne reads WebSocket messages of up to 1 MiB by default before the
  application's 4 KiB limit (``TICTAC["MAX_FRAME_BYTES"]``) can refuse them.
  Each connection's frame and message limits are now that size (or the
  ``--websocket-max-*-size`` flags, when smaller), so autobahn refuses a bigger
  frame with 1009 from its header, before reading the payload.

* Twisted closes an HTTP connection only after 60 s with no byte at all, so a
  client sending its headers a byte a minute is never timed out. Each
  request's headers must now be complete within
  ``TICTAC["HEADER_TIMEOUT_SECONDS"]``: of the connection opening for its
  first request, of a kept-alive request's first byte for the later ones
  (as uvicorn's ``tictac.servers.uvicorn_http``). The idle timeout between requests
  is that long too. That idle timeout, reset by every byte, was all a body
  had: one sent a byte every few seconds was read for as long as it lasted.
  A body must now be complete within ``TICTAC["BODY_TIMEOUT_SECONDS"]`` of
  its headers' end, or the client is answered 408 and the connection closed
  (daphne starts the application only once the body is whole, so no view
  waits meanwhile).

* autobahn waits only about a second (``closeHandshakeTimeout``, on a batched
  timer: measured 0.4 s) for a client to answer the server's close, then
  resets the connection. A client slow to read then loses the close frame
  with the reset and reports 1006, so a page refused with 4403 (or told its
  room is gone with 4404) takes it for a dropped network and retries. The
  client now gets ``tictac.origin.CLOSE_ANSWER_SECONDS``, as long as a
  refused socket is held for it.

All six are applied when this ASGI application is loaded, so ``daphne
tictac.asgi:application`` with no flags (and ``runserver``, which takes no
such flags) behave like uvicorn started with ``--ws-max-size 4096``. Servers
other than daphne are untouched.
"""

import time
from typing import Any, Final

WRITTEN_FOR: Final = {"daphne": "4.2", "twisted": "26.10", "autobahn": "26.10"}
"""The releases this was written for, checked at start-up (tictac.servers.written_for);
game/tests/test_upgrade_daphne_internals.py checks what is used here."""

CLOSE_SERVICE_RESTART = 1012
BODY_TOO_SLOW = b"The request's body did not arrive in time.\n"
REQUEST_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\nContent-Type: text/plain; charset=utf-8\r\n"
    b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(BODY_TOO_SLOW), BODY_TOO_SLOW)
)
SHUTDOWN_GRACE_SECONDS = 3.0


def install() -> None:
    try:
        from daphne.http_protocol import HTTPFactory
        from daphne.server import Server
        from daphne.ws_protocol import WebSocketProtocol
        from twisted.internet import defer, reactor
    except ImportError:  # served by something else
        return
    from django.conf import settings

    from tictac.origin import CLOSE_ANSWER_SECONDS

    twisted_reactor: Any = reactor
    if getattr(WebSocketProtocol, "_tictac_close_codes", False):
        return
    original_on_connect = WebSocketProtocol.onConnect
    max_bytes: int = settings.TICTAC["MAX_FRAME_BYTES"]
    header_seconds: float = settings.TICTAC["HEADER_TIMEOUT_SECONDS"]
    body_seconds: float = settings.TICTAC["BODY_TIMEOUT_SECONDS"]
    original_build_protocol = HTTPFactory.buildProtocol

    def buildProtocol(self: Any, addr: Any) -> Any:  # noqa: N802 - Twisted's name
        protocol = original_build_protocol(self, addr)
        if header_seconds > 0:
            protocol.timeOut = header_seconds
            _give_headers_a_deadline(protocol._channel, header_seconds)
        if body_seconds > 0:
            _give_bodies_a_deadline(protocol._channel, body_seconds)
        return protocol

    def _give_headers_a_deadline(channel: Any, seconds: float) -> None:
        original_data_received = channel.dataReceived
        original_all_headers_received = channel.allHeadersReceived
        original_connection_lost = channel.connectionLost

        def too_slow() -> None:
            if channel.transport is not None:
                channel.transport.abortConnection()

        deadline = [twisted_reactor.callLater(seconds, too_slow)]

        def cancel() -> None:
            if deadline[0].active():
                deadline[0].cancel()

        def dataReceived(data: bytes) -> Any:  # noqa: N802 - Twisted's name
            # Between requests Twisted waits for a request line again
            # (HTTPChannel's private ``__first_line``): a kept-alive request's
            # first byte starts its own deadline.
            if not deadline[0].active() and getattr(channel, "_HTTPChannel__first_line", None):
                deadline[0] = twisted_reactor.callLater(seconds, too_slow)
            return original_data_received(data)

        def allHeadersReceived() -> Any:  # noqa: N802 - Twisted's name
            cancel()
            return original_all_headers_received()

        def connectionLost(reason: Any) -> Any:  # noqa: N802 - Twisted's name
            cancel()
            return original_connection_lost(reason)

        channel.dataReceived = dataReceived
        channel.allHeadersReceived = allHeadersReceived
        channel.connectionLost = connectionLost

    def _give_bodies_a_deadline(channel: Any, seconds: float) -> None:
        original_all_headers_received = channel.allHeadersReceived
        original_all_content_received = channel.allContentReceived
        original_connection_lost = channel.connectionLost
        deadline: list[Any] = [None]

        def too_slow() -> None:
            deadline[0] = None
            if channel.transport is None:
                return
            if channel.requests and not channel.requests[-1].startedWriting:
                channel.transport.write(REQUEST_TIMEOUT_RESPONSE)
            # Twisted's own way out: close once the 408 is written, abort if the client does not
            # take it within abortTimeout (15 s).
            channel.timeoutConnection()

        def cancel() -> None:
            if deadline[0] is not None and deadline[0].active():
                deadline[0].cancel()
            deadline[0] = None

        def allHeadersReceived() -> Any:  # noqa: N802 - Twisted's name
            result = original_all_headers_received()
            # Twisted's length: 0 without a body, else the Content-Length, or None when chunked.
            if channel.length != 0:
                deadline[0] = twisted_reactor.callLater(seconds, too_slow)
            return result

        def allContentReceived() -> Any:  # noqa: N802 - Twisted's name
            cancel()
            return original_all_content_received()

        def connectionLost(reason: Any) -> Any:  # noqa: N802 - Twisted's name
            cancel()
            return original_connection_lost(reason)

        channel.allHeadersReceived = allHeadersReceived
        channel.allContentReceived = allContentReceived
        channel.connectionLost = connectionLost

    def serverClose(self: Any, code: int | None = None) -> None:  # noqa: N802 - daphne's name
        self.sendCloseFrame(code=1000 if code is None else code, isReply=False)

    def onConnect(self: Any, request: Any) -> Any:  # noqa: N802 - autobahn's name
        self.failByDrop = False
        # 0 means no limit in autobahn.
        self.maxFramePayloadSize = min(self.maxFramePayloadSize or max_bytes, max_bytes)
        self.maxMessagePayloadSize = min(self.maxMessagePayloadSize or max_bytes, max_bytes)
        self.closeHandshakeTimeout = CLOSE_ANSWER_SECONDS
        return original_on_connect(self, request)

    original_kill_all_applications = Server.kill_all_applications

    def kill_all_applications(self: Any) -> Any:
        sockets = [
            protocol
            for protocol in list(self.connections)
            if isinstance(protocol, WebSocketProtocol) and protocol.state == protocol.STATE_OPEN
        ]
        for protocol in sockets:
            protocol.sendCloseFrame(code=CLOSE_SERVICE_RESTART, isReply=False)
        closed: Any = defer.Deferred()
        deadline = time.monotonic() + SHUTDOWN_GRACE_SECONDS

        def wait_for_close_handshakes() -> None:
            if time.monotonic() < deadline and any(p.state != p.STATE_CLOSED for p in sockets):
                twisted_reactor.callLater(0.05, wait_for_close_handshakes)
            else:
                closed.callback(None)

        wait_for_close_handshakes()
        closed.addCallback(lambda _: original_kill_all_applications(self))
        return closed

    WebSocketProtocol.serverClose = serverClose
    WebSocketProtocol.onConnect = onConnect
    Server.kill_all_applications = kill_all_applications
    HTTPFactory.buildProtocol = buildProtocol
    WebSocketProtocol._tictac_close_codes = True
