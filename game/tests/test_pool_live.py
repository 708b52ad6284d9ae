"""Quick play's pool over two real server processes that share one Redis and one database."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request

import pytest
import websockets

from game.domain.pools import Pool
from testing.clients import LiveSocket
from testing.live import Browser, LiveServer, query

pytestmark = pytest.mark.live

# A pool no other test seeks in: what waits in it is this test's alone.
POOL = Pool.parse("4x3-move:30")


def press_quick_play(browser: Browser, server: LiveServer, name: str) -> str:
    """Post the lobby's quick-play form for POOL, as a person would; the page it lands on."""
    browser.visit(server, "/")
    token = next(cookie.value for cookie in browser.jar if cookie.name == "csrftoken")
    data = urllib.parse.urlencode({"pool": POOL.key, "name": name, "csrfmiddlewaretoken": token}).encode()
    request = urllib.request.Request(server.url + "/play/", data=data, headers={"Referer": server.url + "/"})
    with browser.opener.open(request, timeout=10) as response:
        landed: str = response.url
    return landed


async def open_seek(browser: Browser, server: LiveServer) -> LiveSocket:
    connection = await websockets.connect(
        f"{server.ws_url}/ws/play/{POOL.key}/", additional_headers=browser.ws_headers(server)
    )
    return LiveSocket(connection, browser.session_key)


async def test_two_seekers_on_two_processes_are_paired_and_a_third_keeps_waiting(
    two_servers: list[LiveServer], database: str
) -> None:
    first, second = two_servers
    alice, bob, carol = Browser(), Browser(), Browser()
    for browser, server, name in ((alice, first, "alice"), (bob, second, "bob"), (carol, first, "carol")):
        assert press_quick_play(browser, server, name) == f"{server.url}/play/{POOL.key}/"
    alice_socket = await open_seek(alice, first)
    assert await alice_socket.receive() == {"type": "seeking", "pool": POOL.key, "waiting": 1}
    bob_socket = await open_seek(bob, second)
    told_bob = await bob_socket.next_message("paired")
    assert await alice_socket.next_message("paired") == told_bob  # told by the other process
    code = told_bob["room"]
    state = json.loads(first.get(f"/api/rooms/{code}/").read())
    assert state["game"]["status"] == "playing"
    assert {state["players"]["X"]["name"], state["players"]["O"]["name"]} == {"alice", "bob"}
    assert (state["room"]["size"], state["room"]["win_length"]) == (4, 3)
    assert state["room"]["time_control"] == {"kind": "move", "seconds": 30}

    carol_socket = await open_seek(carol, first)
    assert await carol_socket.receive() == {"type": "seeking", "pool": POOL.key, "waiting": 1}
    await carol_socket.send({"type": "ping"})
    assert await carol_socket.receive() == {"type": "pong"}  # still waiting: nobody was paired with her
    assert query(database, "SELECT count(*) FROM game_room WHERE name = 'Quick play'") == [(1,)]
    for socket in (alice_socket, bob_socket, carol_socket):
        await socket.close()
