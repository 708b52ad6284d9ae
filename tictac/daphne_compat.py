"""Make daphne send the close codes the protocol promises.

Two gaps between daphne (4.2) and RFC 6455, measured here:

* A consumer's ``close(code=1009)`` goes through autobahn's ``sendClose``,
  which only accepts 1000 and 3000-4999 and raises on anything else; daphne
  turns that exception into a 1011 close. Codes a server may legitimately
  send (1001, 1008, 1009, 1011, 1012, ...) are written straight as a frame.
* A message over daphne's own size limit makes autobahn drop the TCP
  connection (``failByDrop``) so the client sees 1006 and cannot tell why;
  with it off autobahn sends a 1009 close frame first.

Both are applied to the protocol class when this ASGI application is loaded,
so ``daphne tictac.asgi:application`` with no flags (and ``runserver``)
behave like uvicorn. Servers other than daphne are untouched.
"""

from typing import Any


def install() -> None:
    try:
        from daphne.ws_protocol import WebSocketProtocol
    except ImportError:  # served by something else
        return
    if getattr(WebSocketProtocol, "_tictac_close_codes", False):
        return
    original_on_connect = WebSocketProtocol.onConnect

    def serverClose(self: Any, code: int | None = None) -> None:  # noqa: N802 - daphne's name
        self.sendCloseFrame(code=1000 if code is None else code, isReply=False)

    def onConnect(self: Any, request: Any) -> Any:  # noqa: N802 - autobahn's name
        self.failByDrop = False
        return original_on_connect(self, request)

    WebSocketProtocol.serverClose = serverClose
    WebSocketProtocol.onConnect = onConnect
    WebSocketProtocol._tictac_close_codes = True
