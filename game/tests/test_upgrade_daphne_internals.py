"""What tictac/servers/daphne_compat.py patches and reads of daphne, Twisted and autobahn, checked
against the installed releases.

Run this first when one of them moves to another release series, then change
daphne_compat's WRITTEN_FOR (tictac.servers.written_for stops the server until
then). test_server_limits.py and test_faults.py check what the patches do, on
a real daphne; this checks that what they wrap and read is still there.
"""

from __future__ import annotations

import inspect
from importlib.metadata import version

from autobahn.websocket.protocol import WebSocketProtocol as AutobahnProtocol
from daphne.http_protocol import HTTPFactory
from daphne.server import Server
from daphne.ws_protocol import WebSocketProtocol
from twisted.web.http import HTTPChannel

from tictac.servers import daphne_compat
from tictac.servers.written_for import series


def test_daphne_compat_is_written_for_the_installed_releases() -> None:
    for distribution, expected in daphne_compat.WRITTEN_FOR.items():
        assert series(version(distribution)) == expected, distribution


def test_daphnes_classes_still_have_what_daphne_compat_wraps() -> None:
    for name in ("onConnect", "serverClose", "sendCloseFrame", "STATE_OPEN", "STATE_CLOSED"):
        assert hasattr(WebSocketProtocol, name), name
    assert callable(Server.kill_all_applications)
    assert "self.connections" in inspect.getsource(Server)


def test_autobahn_still_takes_the_options_daphne_compat_sets_on_a_connection() -> None:
    options = set(AutobahnProtocol.CONFIG_ATTRS_COMMON)
    assert {"failByDrop", "maxFramePayloadSize", "maxMessagePayloadSize", "closeHandshakeTimeout"} <= options


def test_an_http_connection_still_has_the_twisted_channel_daphne_compat_gives_deadlines() -> None:
    protocol = HTTPFactory(server=None).buildProtocol(("127.0.0.1", 1))
    assert isinstance(protocol.timeOut, int | float)
    channel = protocol._channel
    assert isinstance(channel, HTTPChannel)
    for name in ("dataReceived", "allHeadersReceived", "allContentReceived", "connectionLost", "timeoutConnection"):
        assert callable(getattr(channel, name)), name
    assert hasattr(channel, "length")
    assert isinstance(channel.requests, list)
    # Twisted's private flag for "waiting for a request line": a kept-alive request's first byte.
    assert channel._HTTPChannel__first_line
