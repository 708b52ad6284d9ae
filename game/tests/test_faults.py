"""Faults injected for real: Redis restarts under live server processes."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import websockets
from channels_redis.pubsub import RedisPubSubChannelLayer
from websockets.exceptions import ConnectionClosed

from game.realtime.shards import room_group
from game.storage.layer_internals import group_shard
from testing.clients import LiveSocket, new_room, seated
from testing.live import Browser, LiveServer, migrated_sqlite
from testing.wait import auntil, until
from tictac.embedded_redis import EmbeddedRedis

pytestmark = pytest.mark.live


def health(server: LiveServer) -> tuple[int, dict[str, str]]:
    try:
        with server.get("/healthz") as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def wait_for_health(server: LiveServer, status: int, within: float) -> dict[str, str]:
    """Poll /healthz until it answers ``status``; fail after ``within`` seconds."""

    def answers_status() -> dict[str, str] | None:
        code, body = health(server)
        return body if code == status else None

    return until(
        answers_status, timeout=within, interval=0.2, message=lambda: f"/healthz {status}, not {health(server)}"
    )


@pytest.fixture
def redis_server() -> Iterator[EmbeddedRedis]:
    redis = EmbeddedRedis().start()
    yield redis
    redis.stop()


@pytest.fixture
def servers(redis_server: EmbeddedRedis, tmp_path: Path) -> Iterator[list[LiveServer]]:
    database_url = migrated_sqlite(tmp_path)
    started = [
        LiveServer("daphne", database_url, tmp_path / f"daphne-{n}.log", REDIS_URL=redis_server.url).start()
        for n in range(2)
    ]
    yield started
    for server in started:
        server.stop()


async def test_when_redis_restarts_mid_game_then_nothing_is_lost_and_every_page_catches_up(
    redis_server: EmbeddedRedis, servers: list[LiveServer]
) -> None:
    first, second = servers
    alice_browser = Browser()
    code = new_room(first, alice_browser)
    alice = await seated(alice_browser, first, code, "alice")
    bob = await seated(Browser(), second, code, "bob")
    await alice.send({"type": "move", "cell": 4})
    await bob.next_state(moves=1)

    redis_server.stop()
    for server in servers:
        down = wait_for_health(server, 503, within=5)
        assert down["channel_layer"] == "error"
        assert down["db"] == "ok"

    # A move while Redis is away is judged, persisted and told to its mover.
    await bob.send({"type": "move", "cell": 0})
    assert (await bob.next_state(moves=2))["game"]["board"][0] == "O"

    redis_server.start()
    wait_for_health(first, 200, within=15)
    wait_for_health(second, 200, within=15)
    # What was published while Redis was away reaches the other page without a new move.
    caught_up = await alice.next_state(moves=2)
    assert caught_up["game"]["board"][0] == "O"

    # And broadcasting works again, both ways.
    await alice.send({"type": "move", "cell": 8})
    assert (await bob.next_state(moves=3))["game"]["last_move"] == {"cell": 8, "mark": "X"}
    await bob.send({"type": "move", "cell": 2})
    assert (await alice.next_state(moves=4))["game"]["last_move"] == {"cell": 2, "mark": "O"}
    api = json.loads(second.get(f"/api/rooms/{code}/").read())
    assert api["game"]["history"] == [4, 0, 8, 2]
    await alice.close()
    await bob.close()


@pytest.fixture
def two_shards() -> Iterator[list[EmbeddedRedis]]:
    started = [EmbeddedRedis().start() for _ in range(2)]
    yield started
    for redis in started:
        redis.stop()


def room_on_shard(server: LiveServer, shard: int, urls: list[str]) -> tuple[str, Browser]:
    """A room made through the lobby form whose group the workers' layer puts on ``shard``, and its maker."""
    layer = RedisPubSubChannelLayer(hosts=urls)  # configured as the workers' (settings.CHANNEL_LAYERS)
    while True:  # codes are random: about one room in two lands there
        browser = Browser()
        code = new_room(server, browser)
        if group_shard(room_group(code), layer) == shard:
            return code, browser


def room_api(server: LiveServer, code: str) -> dict[str, Any]:
    read: dict[str, Any] = json.loads(server.get(f"/api/rooms/{code}/").read())
    return read


def wait_until_both_online(server: LiveServer, code: str, within: float) -> dict[str, Any]:
    """Poll the room's JSON (a fresh presence read) until both seats show online; fail after ``within`` s."""

    def both_online() -> dict[str, Any] | None:
        players = room_api(server, code)["players"]
        return players if all(players[mark] is not None and players[mark]["online"] for mark in ("X", "O")) else None

    return until(
        both_online, timeout=within, interval=0.2, message=lambda: f"both online, not {room_api(server, code)}"
    )


async def test_when_the_redis_shard_of_a_room_restarts_then_its_game_goes_on_and_the_other_shards_rooms_never_stop(
    two_shards: list[EmbeddedRedis], tmp_path: Path
) -> None:
    urls = [redis.url for redis in two_shards]
    database_url = migrated_sqlite(tmp_path)
    # Heartbeats 40 s apart: within this test only the resync can put the lost presence back.
    env = {"REDIS_URL": ",".join(urls), "TICTAC_PRESENCE_TTL_SECONDS": "120"}
    first, second = workers = [
        LiveServer("uvicorn", database_url, tmp_path / f"uvicorn-{n}.log", **env).start() for n in range(2)
    ]
    try:
        restarted_shard, kept_shard = 1, 0
        code, alice_browser = room_on_shard(first, restarted_shard, urls)
        calm_code, carol_browser = room_on_shard(first, kept_shard, urls)
        # Each game's players on two workers: its moves cross between them through the room's shard.
        alice = await seated(alice_browser, first, code, "alice")
        bob = await seated(Browser(), second, code, "bob")
        carol = await seated(carol_browser, first, calm_code, "carol")
        dave = await seated(Browser(), second, calm_code, "dave")
        await alice.send({"type": "move", "cell": 4})
        await bob.next_state(moves=1)
        await bob.send({"type": "move", "cell": 0})
        await alice.next_state(moves=2)

        two_shards[restarted_shard].stop()
        for worker in workers:
            down = wait_for_health(worker, 503, within=5)
            assert down["presence_shards"] == ["ok", "error"]
        # The other shard's room plays on, both ways, while the first is away.
        await carol.send({"type": "move", "cell": 0})
        assert (await dave.next_state(moves=1))["game"]["board"][0] == "X"
        await dave.send({"type": "move", "cell": 4})
        assert (await carol.next_state(moves=2))["game"]["board"][4] == "O"
        # In the restarted shard's room a move is judged, stored and told to its mover.
        await alice.send({"type": "move", "cell": 8})
        assert (await alice.next_state(moves=3))["game"]["board"][8] == "X"

        two_shards[restarted_shard].start()  # empty: presence and subscriptions there are gone
        for worker in workers:
            wait_for_health(worker, 200, within=15)
        # What was published while the shard was away reaches the other page without a new move.
        assert (await bob.next_state(moves=3))["game"]["board"][8] == "X"
        await bob.send({"type": "move", "cell": 2})
        assert (await alice.next_state(moves=4))["game"]["last_move"] == {"cell": 2, "mark": "O"}
        await alice.send({"type": "move", "cell": 6})
        assert (await bob.next_state(moves=5))["game"]["last_move"] == {"cell": 6, "mark": "X"}
        players = wait_until_both_online(second, code, within=15)  # put back by each worker's resync
        assert (players["X"]["name"], players["O"]["name"]) == ("alice", "bob")
        assert room_api(first, code)["game"]["history"] == [4, 0, 8, 2, 6]

        await carol.send({"type": "move", "cell": 8})
        assert (await dave.next_state(moves=3))["game"]["board"][8] == "X"
        assert room_api(second, calm_code)["game"]["history"] == [0, 4, 8]
        for socket in (alice, bob, carol, dave):
            await socket.close()
    finally:
        for worker in workers:
            worker.stop()


@pytest.mark.parametrize("kind", ["daphne", "uvicorn"])
async def test_when_a_worker_is_stopped_with_sigterm_then_its_sockets_get_a_close_frame(
    kind: str, redis_server: EmbeddedRedis, tmp_path: Path
) -> None:
    database_url = migrated_sqlite(tmp_path)
    server = LiveServer(kind, database_url, tmp_path / f"{kind}.log", REDIS_URL=redis_server.url).start()
    try:
        alice_browser = Browser()
        code = new_room(server, alice_browser)
        alice = await seated(alice_browser, server, code, "alice")
        watcher = await LiveSocket.open(server.ws_url, code, {"Origin": server.url})
        assert server.process is not None
        server.process.send_signal(signal.SIGTERM)
        for socket in (alice, watcher):
            with pytest.raises(ConnectionClosed) as closed:
                await _read_until_closed(socket)
            assert closed.value.rcvd is not None, "the TCP connection was dropped without a close frame"
            assert closed.value.rcvd.code in (1001, 1012)
        assert server.process.wait(timeout=10) is not None
    finally:
        server.stop()


async def _read_until_closed(socket: LiveSocket) -> None:
    while True:
        await socket.connection.recv()


async def test_when_a_worker_is_killed_then_its_players_reconnect_to_another_and_play_on(
    servers: list[LiveServer],
) -> None:
    doomed, survivor = servers
    alice_browser = Browser()
    code = new_room(survivor, alice_browser)
    alice = await seated(alice_browser, doomed, code, "alice")
    bob = await seated(Browser(), survivor, code, "bob")
    await alice.send({"type": "move", "cell": 0})
    await bob.next_state(moves=1)
    await bob.send({"type": "move", "cell": 4})
    await alice.next_state(moves=2)

    assert doomed.process is not None
    doomed.process.kill()
    doomed.process.wait()
    with pytest.raises(ConnectionClosed):
        await _read_until_closed(alice)

    # The page reconnects to the other worker with the same session cookie.
    again = await LiveSocket.open(survivor.ws_url, code, alice_browser.ws_headers(survivor), alice_browser.session_key)
    assert again.state is not None
    assert again.state["you"] == {"mark": "X"}
    assert again.state["game"]["history"] == [0, 4]
    assert again.state["game"]["turn"] == "X"
    await again.send({"type": "move", "cell": 8})
    assert (await bob.next_state(moves=3))["game"]["board"][8] == "X"
    await again.close()
    await bob.close()


async def test_a_burst_of_400_handshakes_and_spectator_churn_cost_no_handshake_and_no_move(
    servers: list[LiveServer],
) -> None:
    server = servers[0]
    alice_browser = Browser()
    code = new_room(server, alice_browser)
    alice = await seated(alice_browser, server, code, "alice")
    bob = await seated(Browser(), server, code, "bob")

    async def watch() -> LiveSocket:
        return await LiveSocket.open(server.ws_url, code, {"Origin": server.url})

    crowd = await asyncio.gather(*(watch() for _ in range(400)))
    assert all(socket.state is not None for socket in crowd)
    assert (await alice.fresh_state())["spectators"] == 400
    await asyncio.gather(*(socket.close() for socket in crowd))

    churned = 0

    async def churn(stop: asyncio.Event) -> None:
        nonlocal churned
        while not stop.is_set() and churned < 300:
            passer_by = await watch()
            await passer_by.close()
            churned += 1

    stop = asyncio.Event()
    churners = [asyncio.create_task(churn(stop)) for _ in range(4)]
    seen: dict[str, list[int]] = {"alice": [], "bob": []}
    for number, cell in enumerate([0, 1, 3, 4, 6], start=1):
        await (alice if number % 2 else bob).send({"type": "move", "cell": cell})
        for name, player in (("alice", alice), ("bob", bob)):
            while not seen[name] or seen[name][-1] < number:
                seen[name].append((await player.next_state())["game"]["moves"])
    stop.set()
    await asyncio.gather(*churners)
    assert churned > 0
    for name in ("alice", "bob"):
        distinct = sorted(set(seen[name]))
        assert distinct == list(range(distinct[0], 6)), f"{name} missed a moves value: {seen[name]}"
        assert seen[name] == sorted(seen[name]), f"{name} saw the count go backwards: {seen[name]}"
    await alice.close()
    await bob.close()


def _silent_websocket(server: LiveServer, code: str, receive_buffer: int | None = None) -> socket.socket:
    """A WebSocket client that completes the handshake and then never answers a ping."""
    connection = socket.socket()
    if receive_buffer is not None:
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    connection.settimeout(15)
    connection.connect(("127.0.0.1", server.port))
    key = base64.b64encode(os.urandom(16)).decode()
    connection.sendall(
        (
            f"GET /ws/rooms/{code}/ HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Origin: {server.url}\r\n\r\n"
        ).encode()
    )
    response = b""
    while b"\r\n\r\n" not in response:
        response += connection.recv(4096)
    assert response.startswith(b"HTTP/1.1 101")
    return connection


@pytest.mark.parametrize(
    ("kind", "flags"),
    [
        ("daphne", ("--ping-interval", "1", "--ping-timeout", "2")),
        ("uvicorn", ("--ws-ping-interval", "1", "--ws-ping-timeout", "2")),
    ],
)
def test_a_socket_that_never_answers_pings_is_closed_by_the_server(
    kind: str, flags: tuple[str, ...], redis_server: EmbeddedRedis, tmp_path: Path
) -> None:
    database_url = migrated_sqlite(tmp_path)
    # Short intervals for the test; the defaults (daphne 20 s + 30 s, uvicorn 20 s + 20 s) behave alike.
    server = LiveServer(kind, database_url, tmp_path / f"{kind}.log", extra_args=flags, REDIS_URL=redis_server.url)
    server.start()
    try:
        code = new_room(server)
        silent = _silent_websocket(server, code)
        pinged = False
        started = time.monotonic()
        try:
            while chunk := silent.recv(65536):
                pinged = pinged or b"\x89" in chunk  # a ping frame's first byte (FIN + opcode 9)
                assert time.monotonic() - started < 15, "the idle socket was never closed"
        except ConnectionResetError:
            pass  # daphne aborts the connection; uvicorn closes it: either way it is gone
        assert pinged
        silent.close()
    finally:
        server.stop()


async def test_a_stuck_client_that_never_reads_cannot_block_the_room(
    redis_server: EmbeddedRedis, tmp_path: Path
) -> None:
    database_url = migrated_sqlite(tmp_path)
    flags = ("--ping-interval", "1", "--ping-timeout", "3")
    server = LiveServer(
        "daphne",
        database_url,
        tmp_path / "daphne.log",
        extra_args=flags,
        REDIS_URL=redis_server.url,
        TICTAC_MESSAGES_PER_SECOND="1000",  # the players chat and move faster than people do
    )
    server.start()
    try:
        alice_browser = Browser()
        code = new_room(server, alice_browser, size=7, win_length=7)
        stuck = _silent_websocket(server, code, receive_buffer=1024)  # reads nothing from here on
        alice = await seated(alice_browser, server, code, "alice")
        bob = await seated(Browser(), server, code, "bob")
        chatter = "x" * 500
        # Cells in order: X completes the anti-diagonal 6, 12, …, 42 on move 43.
        for number in range(1, 44):
            mover, other = (alice, bob) if number % 2 else (bob, alice)
            await mover.send({"type": "chat", "text": chatter})
            await mover.send({"type": "move", "cell": number - 1})
            assert (await other.next_state(moves=number))["game"]["moves"] == number
        assert (await alice.fresh_state())["game"]["status"] == "won"
        # Nothing waited for the stuck socket, and the server drops it once it misses its pings.
        try:
            while stuck.recv(65536):
                pass
        except ConnectionResetError:
            pass  # dropped rather than closed: either way the server let it go
        await alice.close()
        await bob.close()
    finally:
        server.stop()


def _close_code_after_reading_everything(connection: socket.socket) -> int:
    """Read server frames (unmasked) until a close frame and return its code."""
    buffered = b""

    def take(count: int) -> bytes:
        nonlocal buffered
        while len(buffered) < count:
            chunk = connection.recv(65536)
            assert chunk, "the connection ended without a close frame"
            buffered += chunk
        taken, buffered = buffered[:count], buffered[count:]
        return taken

    while True:
        first, second = take(2)
        length = second & 0x7F
        if length == 126:
            length = int.from_bytes(take(2), "big")
        elif length == 127:
            length = int.from_bytes(take(8), "big")
        payload = take(length)
        if first & 0x0F == 0x8:  # a close frame: its code is the first two bytes
            return int.from_bytes(payload[:2], "big")


async def test_a_client_too_far_behind_its_room_is_hung_up_with_1013(
    redis_server: EmbeddedRedis, tmp_path: Path
) -> None:
    """Under uvicorn a send waits for a client that reads nothing, so room messages pile up
    in that socket's channel; past the limit the server hangs it up with a clear code."""
    database_url = migrated_sqlite(tmp_path)
    server = LiveServer(
        "uvicorn",
        database_url,
        tmp_path / "uvicorn.log",
        extra_args=("--ws", "websockets-sansio", "--ws-per-message-deflate", "false"),
        REDIS_URL=redis_server.url,
        TICTAC_MESSAGES_PER_SECOND="100000",  # alice chats as fast as the server answers
        TICTAC_MAX_PENDING_MESSAGES="20",
    )
    server.start()
    try:
        alice_browser = Browser()
        code = new_room(server, alice_browser)
        stuck = _silent_websocket(server, code, receive_buffer=1024)  # reads nothing for now
        alice = await seated(alice_browser, server, code, "alice")
        bob = await seated(Browser(), server, code, "bob")
        assert (await alice.fresh_state())["spectators"] == 1
        # Alice chats (her players read along) until the room is told the stuck spectator
        # left: that takes more than the kernel and uvicorn buffer for a socket, and then
        # its send waiting a whole watchdog check.
        chatter = "x" * 500

        async def chatted_until_the_spectator_left() -> bool:
            await alice.send({"type": "chat", "text": chatter})
            await alice.next_message("chat")
            await bob.next_message("chat")
            return alice.state is not None and alice.state["spectators"] == 0

        # Each round trip of a line is the pace: no pause between them.
        await auntil(chatted_until_the_spectator_left, timeout=30, interval=0, message="the stuck socket's hang-up")
        await alice.send({"type": "move", "cell": 4})
        assert (await bob.next_state(moves=1))["game"]["board"][4] == "X"
        with server.get("/metrics") as response:
            metrics = response.read().decode()
        assert 'tictac_sockets_hung_up_total{reason="too_far_behind"} 1.0' in metrics
        # Once the client reads again it finds, after what was in flight, the reason it was let go.
        # It reads as a client with an ordinary buffer would: through the 1 KiB window kept so far,
        # the backlog crawls in at the pace of TCP's zero-window probes (minutes for 100 KB).
        stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        assert _close_code_after_reading_everything(stuck) == 1013
        stuck.close()
        await alice.close()
        await bob.close()
    finally:
        server.stop()
    assert "Traceback" not in (tmp_path / "uvicorn.log").read_text()


def _open_sockets_metric(server: LiveServer) -> float:
    text = server.get("/metrics").read().decode()
    return next(float(line.split()[1]) for line in text.splitlines() if line.startswith("tictac_open_sockets "))


@pytest.mark.parametrize("kind", ["daphne", "uvicorn"])
async def test_sockets_that_close_during_broadcasts_leave_no_ghost_behind(kind: str, tmp_path: Path) -> None:
    database_url = migrated_sqlite(tmp_path)
    server = LiveServer(kind, database_url, tmp_path / f"{kind}.log", TICTAC_MESSAGES_PER_SECOND="1000").start()
    try:
        code = new_room(server)
        talker_browser = Browser()
        talker_browser.visit(server, f"/rooms/{code}/")
        talker = await LiveSocket.open(
            server.ws_url, code, talker_browser.ws_headers(server), talker_browser.session_key
        )
        origin = {"Origin": server.url}

        async def listen() -> None:
            while True:
                await talker.receive()

        listening = asyncio.create_task(listen())  # the talker reads the room, as a page does

        async def talk(lines: int) -> None:
            for number in range(lines):
                await talker.send({"type": "chat", "text": f"broadcast {number}"})

        # 300 closes while the room talks: a leak of 1 in 100 would leave about 3 ghosts.
        for _ in range(12):
            sockets = await asyncio.gather(
                *(
                    websockets.connect(
                        f"{server.ws_url}/ws/rooms/{code}/", additional_headers=origin, ping_interval=None
                    )
                    for _ in range(25)
                )
            )
            chatter = asyncio.create_task(talk(25))
            for ws in sockets:
                await ws.close()
            await chatter
        listening.cancel()

        def spectators_and_open_sockets() -> tuple[int, float]:
            return json.loads(server.get(f"/api/rooms/{code}/").read())["spectators"], _open_sockets_metric(server)

        async def only_the_talker_is_left() -> bool:
            return spectators_and_open_sockets() == (1, 1)

        # A correct server gets there in milliseconds; a ghost never leaves.
        await auntil(
            only_the_talker_is_left,
            message=lambda: f"(spectators, open sockets) (1, 1), not {spectators_and_open_sockets()}",
        )
        await talker.close()
    finally:
        server.stop()


_SEARCH_PROCESS_OWNER = """
import os, sys, time
import django
django.setup()
from game.realtime.computer_turns import ComputerPlayers
pool = ComputerPlayers()._search_pool()
print(pool.submit(os.getpid).result(), flush=True)
time.sleep(120)
"""


def test_a_killed_servers_search_process_ends_with_it() -> None:
    # A server killed outright (SIGKILL: a stop that timed out, the OOM killer) runs no clean-up,
    # so only the search process itself can notice that its server is gone.
    owner = subprocess.Popen(
        [sys.executable, "-c", _SEARCH_PROCESS_OWNER],
        stdout=subprocess.PIPE,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tictac.settings"},
    )
    try:
        assert owner.stdout is not None
        search = psutil.Process(int(owner.stdout.readline()))
        assert search.ppid() == owner.pid
        owner.kill()
        owner.wait()
        _ended(search, timeout=10)
    finally:
        owner.kill()
        owner.wait()


def _ended(process: psutil.Process, timeout: float) -> None:
    """Wait until ``process`` is gone, or a zombie (an orphan whose new parent has not reaped it yet)."""

    def gone() -> bool:
        try:
            return bool(process.status() == psutil.STATUS_ZOMBIE)
        except psutil.NoSuchProcess:
            return True

    until(gone, timeout=timeout, message=f"the search process {process.pid} to end with its server")
