"""Make daphne send the close codes the protocol promises.

Two gaps between daphne (4.2) and RFC 6455, measured here:

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

All three are applied when this ASGI application is loaded, so ``daphne
tictac.asgi:application`` with no flags (and ``runserver``) behave like
uvicorn. Servers other than daphne are untouched.
"""

import time
from typing import Any

CLOSE_SERVICE_RESTART = 1012
SHUTDOWN_GRACE_SECONDS = 3.0


def install() -> None:
    try:
        from daphne.server import Server
        from daphne.ws_protocol import WebSocketProtocol
        from twisted.internet import defer, reactor
    except ImportError:  # served by something else
        return
    twisted_reactor: Any = reactor
    if getattr(WebSocketProtocol, "_tictac_close_codes", False):
        return
    original_on_connect = WebSocketProtocol.onConnect

    def serverClose(self: Any, code: int | None = None) -> None:  # noqa: N802 - daphne's name
        self.sendCloseFrame(code=1000 if code is None else code, isReply=False)

    def onConnect(self: Any, request: Any) -> Any:  # noqa: N802 - autobahn's name
        self.failByDrop = False
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
    WebSocketProtocol._tictac_close_codes = True
