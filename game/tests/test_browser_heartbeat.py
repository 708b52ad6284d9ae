"""The room page says "connection trouble" while its room's messages stop reaching it over an open socket.

The server's room heartbeat (game/realtime/local_sockets.py) comes through the room's group every
``TICTAC_HEARTBEAT_SECONDS``, a second for this module's server; the page (static/game/socket.js)
watches that group messages keep coming. Here the page's socket stays open and its pongs pass, while
everything else the server sends it is held back for a while, as a Redis outage would.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import WebSocketRoute, expect

from testing.browser import NewContext, create_room, join, screenshot
from testing.live import LiveServer, migrated_sqlite

pytestmark = pytest.mark.browser

HEARTBEAT_SECONDS = 1


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A live server whose rooms hear a heartbeat every second (ten by default)."""
    directory = tmp_path_factory.mktemp("heartbeat")
    live = LiveServer(
        "daphne",
        migrated_sqlite(directory),
        directory / "daphne.log",
        TICTAC_HEARTBEAT_SECONDS=str(HEARTBEAT_SECONDS),
    ).start()
    yield live
    live.stop()


def test_the_page_says_connection_trouble_while_its_room_is_silent_and_stops_once_it_is_heard_again(
    server: LiveServer, new_context: NewContext
) -> None:
    alice = new_context().new_page()
    code = create_room(alice, server, "Quiet")
    bob = new_context().new_page()
    held_back = {"on": False}
    heartbeats: list[dict[str, object]] = []

    def hold_back_all_but_pongs(page_socket: WebSocketRoute) -> None:
        server_socket = page_socket.connect_to_server()

        def to_page(message: str | bytes) -> None:
            data = json.loads(message)
            if data["type"] == "heartbeat":
                heartbeats.append(data)
            if held_back["on"] and data["type"] != "pong":
                return
            page_socket.send(message)

        server_socket.on_message(to_page)

    bob.route_web_socket(re.compile(r"/ws/rooms/"), hold_back_all_but_pongs)
    bob.goto(f"{server.url}/rooms/{code}/")
    join(bob, "bob")
    banner = bob.locator("#connection-trouble")
    expect(banner).to_be_hidden()

    held_back["on"] = True
    expect(banner).to_be_visible()
    expect(banner).to_have_text("connection trouble — your moves are kept")
    expect(banner).to_have_attribute("role", "status")
    expect(bob.locator("#status")).to_have_text("alice to move")  # the socket is open: no "reconnecting"
    screenshot(bob, "connection-trouble.png")

    held_back["on"] = False
    expect(banner).to_be_hidden()
    expect(alice.locator("#connection-trouble")).to_be_hidden()  # alice's page heard its room all along
    assert heartbeats
    assert {beat["number"] for beat in heartbeats} == {1}
