"""What tictac/servers/uvicorn_http.py and uvicorn_websockets.py subclass and read of uvicorn,
checked against the installed release.

Run this first when uvicorn moves to another release series, then change both
modules' WRITTEN_FOR (tictac.servers.written_for stops the server until then).
test_server_limits.py and test_uvicorn_websockets.py check what the subclasses
do, on a real uvicorn; this checks that what they override and read is still there.
"""

from __future__ import annotations

import inspect
from importlib.metadata import version

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol, RequestResponseCycle
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn.server import ServerState

from tictac.servers import uvicorn_http, uvicorn_websockets
from tictac.servers.written_for import series


def test_both_modules_are_written_for_the_installed_uvicorn() -> None:
    for module in (uvicorn_http, uvicorn_websockets):
        assert module.WRITTEN_FOR["uvicorn"] == series(version("uvicorn")), module.__file__


def _assigned(cls: type) -> str:
    return inspect.getsource(cls)


def test_the_httptools_protocol_still_has_what_uvicorn_http_overrides_and_reads() -> None:
    for name in ("connection_made", "connection_lost", "on_message_begin", "on_headers_complete"):
        assert callable(getattr(HttpToolsProtocol, name)), name
    assert callable(HttpToolsProtocol.on_message_complete)
    assert callable(HttpToolsProtocol._should_upgrade)
    source = _assigned(HttpToolsProtocol)
    for attribute in ("self.parser", "self.cycle", "self.pipeline", "self.server_state", "self.loop", "self.transport"):
        assert attribute in source, attribute
    cycle = _assigned(RequestResponseCycle)
    for attribute in ("self.disconnected", "self.message_event", "self.response_started"):
        assert attribute in cycle, attribute
    assert "default_headers" in _assigned(ServerState)
    assert STATUS_LINE[408].startswith(b"HTTP/1.1 408")


def test_the_sans_io_websocket_protocol_still_keeps_the_handshake_uvicorn_websockets_drops() -> None:
    source = _assigned(WebSocketsSansIOProtocol)
    for attribute in ("self.handshake_complete", "self.request", "self.response"):
        assert attribute in source, attribute
    assert inspect.iscoroutinefunction(WebSocketsSansIOProtocol.send)
