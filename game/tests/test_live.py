"""Real server processes sharing one Redis and one SQLite file, spoken to over real sockets."""

from __future__ import annotations

import asyncio
import json
import random
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import psutil
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from game.domain.rules import Board
from testing.clients import LiveSocket, chat_until_the_address_budget_is_spent, new_room, seated
from testing.live import Browser, LiveServer, manage, migrate, migrated_sqlite, query
from testing.postgres import EmbeddedPostgres

pytestmark = pytest.mark.live


async def test_a_game_with_one_player_on_each_process_works_like_one_on_a_single_process(
    two_servers: list[LiveServer],
) -> None:
    first, second = two_servers
    alice_browser = Browser()
    code = new_room(first, alice_browser)
    alice = await seated(alice_browser, first, code, "alice")
    bob = await seated(Browser(), second, code, "bob")
    await alice.next_state(status="playing")
    seen: dict[str, set[int]] = {"alice": set(), "bob": set()}
    for number, cell in enumerate([4, 0, 2, 6, 3, 5, 8, 1, 7], start=1):
        mover = alice if number % 2 else bob
        await mover.send({"type": "move", "cell": cell})
        for name, socket in (("alice", alice), ("bob", bob)):
            state = await socket.next_state(moves=number)
            seen[name].add(state["game"]["moves"])
    assert seen["alice"] == seen["bob"] == set(range(1, 10))
    assert state["game"]["status"] == "draw"
    api = json.loads(first.get(f"/api/rooms/{code}/").read())
    assert api["game"]["board"] == state["game"]["board"]
    await alice.close()
    offline = await bob.until_offline("X")
    assert offline["players"]["X"] == {
        "name": "alice",
        "online": False,
        "computer": None,
        "username": None,
        "rating": None,
    }
    await bob.close()


async def _drain_until_pong(socket: LiveSocket) -> list[str]:
    """Read until the pong that follows everything sent so far; return the error codes on the way."""
    await socket.send({"type": "ping"})
    codes = []
    while True:
        message = await socket.receive()
        if message["type"] == "error":
            codes.append(message["code"])
        elif message["type"] == "pong":
            return codes


async def test_moves_racing_from_two_processes_and_two_tabs_never_both_land_on_one_turn(
    two_servers: list[LiveServer], database: str
) -> None:
    first, second = two_servers
    alice_browser, bob_browser = Browser(), Browser()
    code = new_room(first, alice_browser, size=7, win_length=7)  # a long game: many turns to race on
    alice = await seated(alice_browser, first, code, "alice")
    bob = await seated(bob_browser, second, code, "bob")
    alice_tab = await LiveSocket.open(second.ws_url, code, alice_browser.ws_headers(second), alice_browser.session_key)
    sockets = [alice, alice_tab, bob]
    rng = random.Random(7)
    sent = 0
    errors: list[str] = []
    for _ in range(6):
        burst = [(socket, rng.randrange(49)) for socket in sockets for _ in range(12)]
        rng.shuffle(burst)
        await asyncio.gather(*(socket.send({"type": "move", "cell": cell}) for socket, cell in burst))
        sent += len(burst)
        for codes in await asyncio.gather(*(_drain_until_pong(socket) for socket in sockets)):
            errors += codes
    # Losing a race is a rule's refusal; contention never surfaces ("database is locked" would be unavailable).
    assert set(errors) <= {"not_your_turn", "cell_taken", "game_over"}
    state = json.loads(first.get(f"/api/rooms/{code}/").read())
    game = state["game"]
    assert game["moves"] == sent - len(errors)  # every move was answered: applied once, or refused
    assert game["moves"] > 0
    replay = Board.empty(7, 7)
    for cell in game["history"]:
        replay = replay.play(cell)
    assert list(replay.cells) == game["board"]
    rows = query(database, "SELECT number, cell, mark FROM game_move WHERE game_id = %s ORDER BY number", (game["id"],))
    assert [number for number, _, _ in rows] == list(range(1, game["moves"] + 1))
    assert [cell for _, cell, _ in rows] == game["history"]
    assert [mark for _, _, mark in rows] == ["X" if n % 2 else "O" for n in range(1, game["moves"] + 1)]
    for socket in sockets:
        await socket.close()


async def _next_answer(ws: websockets.ClientConnection) -> dict[str, Any]:
    """The next frame that is not the room's heartbeat (which may come at any moment)."""
    while (frame := json.loads(await asyncio.wait_for(ws.recv(), 5)))["type"] == "heartbeat":
        pass
    return frame  # type: ignore[no-any-return]


async def _read_until_closed(ws: websockets.ClientConnection) -> None:
    while True:
        await asyncio.wait_for(ws.recv(), 5)


@pytest.mark.parametrize("kind", ["daphne", "runserver", "uvicorn"])
async def test_every_supported_server_keeps_the_contract_with_debug_off(
    kind: str, database: str, tmp_path: Path
) -> None:
    server = LiveServer(kind, database, tmp_path / f"{kind}.log").start()
    try:
        code = new_room(server)
        page = Browser()
        html = page.visit(server, f"/rooms/{code}/").decode()
        assert "data-cell" in html or "initial-state" in html
        for asset in ("/static/game/app.css", "/static/game/room/main.js", "/static/game/socket.js"):
            with server.get(asset) as response:
                assert response.status == 200
                assert response.read()
                if asset.endswith(".js"):  # a module script with another type is not run
                    assert "javascript" in response.headers["Content-Type"]
        with pytest.raises(urllib.error.HTTPError) as missing:
            server.get("/rooms/nosuchroom/")
        assert missing.value.code == 404

        headers = page.ws_headers(server)
        async with websockets.connect(f"{server.ws_url}/ws/rooms/{code}/", additional_headers=headers) as ws:
            first = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert first["type"] == "state"
            assert first["you"] == {"mark": None}
            await ws.send(json.dumps({"type": "move", "cell": "4"}))
            assert (await _next_answer(ws))["code"] == "bad_message"
            await ws.send("x" * 5000)
            with pytest.raises(ConnectionClosed) as closed:
                await _read_until_closed(ws)  # past a room heartbeat that may come first
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 1009

        # Bigger than the ASGI server's own limit (daphne: 1 MiB): still a clean 1009.
        async with websockets.connect(
            f"{server.ws_url}/ws/rooms/{code}/", additional_headers=headers, max_size=None
        ) as ws:
            await asyncio.wait_for(ws.recv(), 5)
            await ws.send("y" * (2 * 1024 * 1024))
            with pytest.raises(ConnectionClosed) as closed:
                await _read_until_closed(ws)
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 1009

        # Another site's page: accepted only to be closed with 4403, which a browser shows the page.
        async with websockets.connect(
            f"{server.ws_url}/ws/rooms/{code}/", additional_headers={"Origin": "http://evil.example"}
        ) as ws:
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 5)
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 4403

        async with websockets.connect(f"{server.ws_url}/ws/rooms/nosuchroom/", additional_headers=headers) as ws:
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 5)
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 4404
    finally:
        server.stop()


@pytest.mark.parametrize("kind", ["daphne", "uvicorn"])
async def test_when_a_player_leaves_the_opponent_sees_them_offline_on_every_server(
    kind: str, database: str, tmp_path: Path
) -> None:
    server = LiveServer(kind, database, tmp_path / f"{kind}.log").start()
    try:
        alice_browser = Browser()
        code = new_room(server, alice_browser)
        alice = await seated(alice_browser, server, code, "alice")
        bob = await seated(Browser(), server, code, "bob")
        assert (await alice.fresh_state())["players"]["O"]["online"] is True
        await bob.close()
        gone = await alice.until_offline("O")
        assert gone["players"]["O"] == {
            "name": "bob",
            "online": False,
            "computer": None,
            "username": None,
            "rating": None,
        }
        await alice.close()
    finally:
        server.stop()


async def test_players_stay_online_past_the_presence_ttl_while_their_sockets_are_open(tmp_path: Path) -> None:
    database_url = migrated_sqlite(tmp_path)
    # A 2 s TTL: only the process's heartbeat keeps the entries from expiring.
    server = LiveServer(
        "uvicorn",
        database_url,
        tmp_path / "uvicorn.log",
        TICTAC_PRESENCE_TTL_SECONDS="2",
        # alice asks for fresh states as fast as they come: on a quiet machine that is about
        # 1,000 messages a second, which a limit of 1,000 refused now and then.
        TICTAC_MESSAGES_PER_SECOND="100000",
    ).start()
    try:
        alice_browser = Browser()
        code = new_room(server, alice_browser)
        alice = await seated(alice_browser, server, code, "alice")
        bob = await seated(Browser(), server, code, "bob")
        watched_until = time.monotonic() + 3 * 2
        while time.monotonic() < watched_until:
            players = (await alice.fresh_state())["players"]
            assert players["X"]["online"] is True
            assert players["O"]["online"] is True
        await bob.close()
        assert (await alice.until_offline("O"))["players"]["O"]["online"] is False
        await alice.close()
    finally:
        server.stop()


def test_page_loads_on_postgresql_share_pooled_connections(postgres_server: EmbeddedPostgres, tmp_path: Path) -> None:
    """Page loads share connections: left to Django's thread per request, a kept connection
    lasted one request and every page load opened a PostgreSQL session."""
    url = postgres_server.create_database()
    migrate(url)
    sessions_opened = "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
    server = LiveServer("uvicorn", url, tmp_path / "uvicorn.log").start()
    try:
        before = query(url, sessions_opened)[0][0]
        browser = Browser()
        for _ in range(20):
            browser.visit(server, "/")  # the lobby reads its rooms from the database
        opened = query(url, sessions_opened)[0][0] - before
    finally:
        server.stop()
    # One is the session that reads the counter; the pool may have opened one more.
    assert opened <= 2


def test_page_loads_on_sqlite_leave_no_connection_open(tmp_path: Path) -> None:
    """Page loads share the one database thread's connection (tictac.servers.one_thread): left to
    Django's thread per request, each would open its own, which reads the schema again and
    holds its file and page cache until a full garbage collection."""
    database_url = migrated_sqlite(tmp_path)
    database_file = database_url.removeprefix("sqlite:///")
    server = LiveServer("uvicorn", database_url, tmp_path / "uvicorn.log").start()
    try:
        browser = Browser()
        for _ in range(20):
            browser.visit(server, "/")  # the lobby reads its rooms from the database
        open_files = [file.path for file in psutil.Process(server.process.pid).open_files()]
    finally:
        server.stop()
    assert open_files.count(database_file) <= 1  # the database thread's connection


async def test_a_flag_falls_exactly_once_with_four_workers_and_every_socket_silent(
    database: str, tmp_path: Path
) -> None:
    servers = [LiveServer("uvicorn", database, tmp_path / f"uvicorn-{n}.log").start() for n in range(4)]
    try:
        alice_browser, bob_browser = Browser(), Browser()
        code = new_room(servers[0], alice_browser, time_control="move:15")
        alice = await seated(alice_browser, servers[0], code, "alice")
        bob = await seated(bob_browser, servers[1], code, "bob")
        # A socket on every worker, so that every worker runs its referee.
        watchers = []
        for server in servers[2:]:
            watcher = Browser()
            watcher.visit(server, f"/rooms/{code}/")
            watchers.append(await LiveSocket.open(server.ws_url, code, watcher.ws_headers(server), watcher.session_key))
        sockets = [alice, bob, *watchers]
        await alice.next_state(status="playing")
        # Both make a first move: the clocks start with the second.
        await alice.send({"type": "move", "cell": 4})
        await bob.next_state(moves=1)
        await bob.send({"type": "move", "cell": 0})
        playing = await alice.next_state(moves=2)
        assert playing["game"]["clock"]["running"] == "X"
        # X's 15 seconds are made to have run out already (rather than waited for); nobody sends anything.
        manage(
            database,
            "from datetime import timedelta; from django.utils import timezone; from game.models import Game; "
            f"now = timezone.now(); Game.objects.filter(room__code='{code}', status='playing')"
            ".update(turn_started_at=now - timedelta(seconds=16), deadline=now - timedelta(seconds=1))",
        )
        for socket in sockets:
            ended = await socket.next_state(status="timeout")
            assert (ended["game"]["winner"], ended["game"]["version"]) == ("O", playing["game"]["version"] + 1)
        for socket in sockets:
            # Whatever else reached the socket before its pong was not a second ending.
            await socket.send({"type": "ping"})
            while (message := await socket.receive())["type"] != "pong":
                assert message["type"] != "state" or message["game"]["version"] == playing["game"]["version"] + 1
        rows = query(database, "SELECT version, status FROM game_game WHERE id = %s", (playing["game"]["id"],))
        assert rows == [(playing["game"]["version"] + 1, "timeout")]
        for socket in sockets:
            await socket.close()
    finally:
        for server in servers:
            server.stop()


async def test_per_address_budgets_hold_across_two_workers(database: str, tmp_path: Path) -> None:
    limits = {
        "TICTAC_TRUSTED_PROXY_COUNT": "1",  # as behind nginx: the address is the proxy's X-Forwarded-For
        "TICTAC_MAX_SOCKETS_PER_ADDRESS": "4",
        "TICTAC_CHAT_PER_ADDRESS_PER_MINUTE": "3",
        "TICTAC_MAX_LOBBY_SOCKETS_PER_ADDRESS": "2",
    }
    servers = [LiveServer("uvicorn", database, tmp_path / f"uvicorn-{n}.log", **limits).start() for n in range(2)]
    try:
        code = new_room(servers[0])
        crowd = f"10.77.{random.randrange(256)}.{random.randrange(1, 255)}"
        sockets = [
            await websockets.connect(
                f"{server.ws_url}/ws/rooms/{code}/", additional_headers={"Origin": server.url, "X-Forwarded-For": crowd}
            )
            for server in servers
            for _ in range(2)
        ]
        for ws in sockets:
            assert (await _next_answer(ws))["type"] == "state"
        one_too_many = await websockets.connect(
            f"{servers[1].ws_url}/ws/rooms/{code}/",
            additional_headers={"Origin": servers[1].url, "X-Forwarded-For": crowd},
        )
        with pytest.raises(ConnectionClosed) as refused:
            await _read_until_closed(one_too_many)
        assert refused.value.rcvd is not None
        assert refused.value.rcvd.code == 4429

        talkers_address = f"10.78.{random.randrange(256)}.{random.randrange(1, 255)}"
        talkers = []
        for server in servers:
            browser = Browser()
            browser.visit(server, f"/rooms/{code}/")
            headers = {**browser.ws_headers(server), "X-Forwarded-For": talkers_address}
            talkers.append(await LiveSocket.open(server.ws_url, code, headers, browser.session_key))
        assert await chat_until_the_address_budget_is_spent(*talkers) == "rate_limited"

        readers_address = f"10.79.{random.randrange(256)}.{random.randrange(1, 255)}"
        lobbies = []
        for server in (servers[0], servers[0], servers[1]):  # two on one worker, the third on the other
            lobby = await websockets.connect(
                f"{server.ws_url}/ws/lobby/",
                additional_headers={"Origin": server.url, "X-Forwarded-For": readers_address},
            )
            lobbies.append(lobby)
            if len(lobbies) < 3:  # counted (it has its rooms) before the next one connects
                assert json.loads(await asyncio.wait_for(lobby.recv(), 5))["type"] == "rooms"
        with pytest.raises(ConnectionClosed) as refused:
            await _read_until_closed(lobbies[2])
        assert refused.value.rcvd is not None
        assert refused.value.rcvd.code == 4429
        for closing in [*sockets, *(talker.connection for talker in talkers), *lobbies]:
            await closing.close()
    finally:
        for server in servers:
            server.stop()
