"""The servers, started as production starts them, refuse oversized frames before buffering them and
hang up on clients too slow to send their headers or their bodies; without Redis they say so."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import shlex
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from testing.live import COMMANDS, LiveServer, migrated_sqlite
from testing.wait import until
from tictac.processes import free_port, stop_process

pytestmark = pytest.mark.live

ROOT = Path(__file__).resolve().parents[2]
MiB = 1024 * 1024
SOCKETS = 20
FRAME_BYTES = 15 * MiB  # what each client announces and tries to send: 300 MiB in all
# The server's resident memory may grow by at most this while the frames come in (measured:
# a few MiB; without the server's own limit uvicorn buffered every frame, hundreds of MiB).
MEMORY_BOUND = 40 * MiB
# How long the slow client below takes to answer a close: well within CLOSE_ANSWER_SECONDS.
SLOW_CLOSE_ANSWER_SECONDS = 2.0
# The body deadline of the test servers below, and how long a test waits for them to hang up: far
# longer than the deadline, and shorter than the crawling body (a byte every 0.2 s: 20 s).
BODY_SECONDS = 3
HANG_UP_BOUND = 15
# Any 32 letters: Django takes a CSRF cookie and form field that match (plain HTTP, no Origin sent).
CSRF_TOKEN = "bodies" * 5 + "ok"


def dockerfile_uvicorn_flags() -> tuple[str, ...]:
    """The flags the Docker image starts uvicorn with (minus where it listens)."""
    text = (ROOT / "Dockerfile").read_text()
    command = re.search(r"^CMD \[(.*?)\]", text.replace("\\\n", " "), re.MULTILINE | re.DOTALL)
    assert command is not None
    parts = [part.strip().strip('"') for part in command.group(1).split(",")]
    assert parts[0] == "uvicorn"
    assert parts[-1] == "tictac.asgi:application"
    flags = parts[1:-1]
    for option in ("--host", "--port"):
        index = flags.index(option)
        del flags[index : index + 2]
    return tuple(flags)


def readme_uvicorn_flags() -> tuple[str, ...]:
    line = next(line for line in (ROOT / "README.md").read_text().splitlines() if "uvicorn --workers" in line)
    words = shlex.split(line.strip().strip("`").split("`")[0].split("uvicorn ", 1)[1])
    return tuple(word for word in words if word != "tictac.asgi:application")


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> str:
    return migrated_sqlite(tmp_path_factory.mktemp("limits"))


def _start(kind: str, database: str, log: Path, **env: str) -> LiveServer:
    # uvicorn with the Docker image's flags; daphne with none (tictac.servers.daphne_compat sets its limits).
    flags = dockerfile_uvicorn_flags() if kind == "uvicorn" else ()
    return LiveServer(kind, database, log, extra_args=flags, **env).start()


@pytest.fixture(params=["uvicorn", "daphne"])
def server(request: pytest.FixtureRequest, database: str, tmp_path: Path) -> Iterator[LiveServer]:
    live = _start(request.param, database, tmp_path / "server.log")
    yield live
    live.stop()


@pytest.fixture(params=["uvicorn", "daphne"])
def impatient_server(request: pytest.FixtureRequest, database: str, tmp_path: Path) -> Iterator[LiveServer]:
    """A server that gives a request's headers 1 s."""
    live = _start(request.param, database, tmp_path / "server.log", TICTAC_HEADER_TIMEOUT_SECONDS="1")
    yield live
    live.stop()


@pytest.fixture(params=["uvicorn", "daphne"])
def body_deadline_server(request: pytest.FixtureRequest, database: str, tmp_path: Path) -> Iterator[LiveServer]:
    """A server that gives a request's body BODY_SECONDS after its headers."""
    live = _start(request.param, database, tmp_path / "server.log", TICTAC_BODY_TIMEOUT_SECONDS=str(BODY_SECONDS))
    yield live
    live.stop()


def nginx_directives() -> dict[str, str]:
    """deploy/nginx.conf's ``name value;`` lines (comments left out)."""
    text = (ROOT / "deploy" / "nginx.conf").read_text()
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return dict(line.rstrip(";").split(None, 1) for line in lines if line.endswith(";"))


def nginx_seconds(value: str) -> float:
    number, unit = re.fullmatch(r"(\d+)(ms|s|m)?", value).groups()  # type: ignore[union-attr]
    return int(number) * {"ms": 0.001, "s": 1, "m": 60, None: 1}[unit]


def test_the_shipped_nginx_hangs_up_on_slow_headers_and_bodies_no_later_than_the_workers_would() -> None:
    from django.conf import settings

    nginx = nginx_directives()
    # nginx buffers every request body, so a worker behind it gets each request whole and at
    # once: a crawling client costs nginx a connection and never a worker's time.
    assert nginx["proxy_request_buffering"] == "on"
    # nginx gives the whole headers client_header_timeout, and the body client_body_timeout
    # between two reads (its defaults: 60 s); a worker reached directly gives the whole headers
    # and the whole body its own deadlines. nginx must not be the laxer of the two on either.
    assert 0 < nginx_seconds(nginx["client_header_timeout"]) <= settings.TICTAC["HEADER_TIMEOUT_SECONDS"]
    assert 0 < nginx_seconds(nginx["client_body_timeout"]) <= settings.TICTAC["BODY_TIMEOUT_SECONDS"]


def test_the_readme_and_the_dockerfile_start_uvicorn_with_the_4_kib_limit_and_tictacs_protocols() -> None:
    for flags in (dockerfile_uvicorn_flags(), readme_uvicorn_flags()):
        assert flags[flags.index("--ws-max-size") + 1] == "4096"
        assert flags[flags.index("--http") + 1] == "tictac.servers.uvicorn_http:HttpToolsProtocol"
        assert flags[flags.index("--ws") + 1] == "tictac.servers.uvicorn_websockets:WebSocketsSansIOProtocol"


async def _open_socket(server: LiveServer, origin: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A raw WebSocket to the lobby, past its handshake (frames are read and written by hand)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(
        (
            f"GET /ws/lobby/ HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nOrigin: {origin}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    assert head.startswith(b"HTTP/1.1 101"), head
    return reader, writer


async def _announce_oversized_frame(server: LiveServer) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Open a socket and send the header of a 15 MiB text frame."""
    reader, writer = await _open_socket(server, server.url)
    writer.write(bytes([0x81, 0x80 | 127]) + struct.pack("!Q", FRAME_BYTES) + b"\0\0\0\0")  # mask 0: payload as is
    await writer.drain()
    return reader, writer


async def _close_code(server: LiveServer) -> int:
    """The close code the server answers a 15 MiB frame's header with (its payload unsent, so
    that no reset from the server can overtake the close frame)."""
    reader, writer = await _announce_oversized_frame(server)
    try:
        while True:
            first, length = await asyncio.wait_for(reader.readexactly(2), 10)
            size = length & 0x7F
            if size == 126:
                size = struct.unpack("!H", await reader.readexactly(2))[0]
            elif size == 127:
                size = struct.unpack("!Q", await reader.readexactly(8))[0]
            payload = await reader.readexactly(size)
            if first & 0x0F == 0x8:  # close
                return int(struct.unpack("!H", payload[:2])[0])
    finally:
        writer.close()


async def test_a_client_slow_to_answer_a_close_is_given_time_to_read_it(server: LiveServer) -> None:
    # A page refused for its address (4403) must read that code to stop retrying. A browser under
    # load may take a while to read the close frame and answer it; a server that resets the
    # connection first can take the unread frame with it, and the page sees only 1006 (autobahn's
    # own wait was under a second). The server holds the connection for CLOSE_ANSWER_SECONDS.
    reader, writer = await _open_socket(server, "http://elsewhere.test")
    try:
        assert await asyncio.wait_for(reader.readexactly(4), 10) == bytes([0x88, 2]) + struct.pack("!H", 4403)
        await asyncio.sleep(SLOW_CLOSE_ANSWER_SECONDS)  # the slow client, not a wait for a message
        # Still connected: neither end of file nor a reset is waiting to be read.
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(reader.read(1), 0.5)
        writer.write(bytes([0x88, 0x82]) + b"\0\0\0\0" + struct.pack("!H", 4403))  # the answer
        await writer.drain()
    finally:
        writer.close()


async def _push_oversized_frame(server: LiveServer) -> int:
    """Send a 15 MiB frame as fast as the server takes it; how many bytes went out before it hung up."""
    _, writer = await _announce_oversized_frame(server)
    chunk = b"a" * (256 * 1024)
    sent = 0
    try:
        while sent < FRAME_BYTES:
            writer.write(chunk)
            await asyncio.wait_for(writer.drain(), 20)
            sent += len(chunk)
    except (ConnectionError, OSError):
        pass  # the server hung up: what it should do
    finally:
        writer.close()
    return sent


def _peak_rss(pid: int, stop: threading.Event, peak: list[int]) -> None:
    process = psutil.Process(pid)
    while not stop.is_set():
        peak[0] = max(peak[0], process.memory_info().rss)
        time.sleep(0.01)  # sampling while the frames arrive


async def test_an_oversized_frame_is_refused_with_1009_without_the_server_buffering_it(server: LiveServer) -> None:
    assert server.process is not None
    assert await _close_code(server) == 1009  # also warms up: the first socket loads the consumer's code
    before = psutil.Process(server.process.pid).memory_info().rss
    stop, peak = threading.Event(), [before]
    sampler = threading.Thread(target=_peak_rss, args=(server.process.pid, stop, peak))
    sampler.start()
    try:
        sent = await asyncio.gather(*(_push_oversized_frame(server) for _ in range(SOCKETS)))
    finally:
        stop.set()
        sampler.join()
    # uvicorn hangs up at once; daphne (autobahn) reads and drops the rest while it waits for
    # the close handshake. Either way nothing is kept:
    growth = peak[0] - before
    assert growth < MEMORY_BOUND, f"{server.kind} grew by {growth / MiB:.1f} MiB"
    print(f"{server.kind}: peak growth {growth / MiB:.1f} MiB; sent at most {max(sent) / MiB:.1f} MiB a socket")


async def _seconds_until_hung_up(server: LiveServer, first: bytes, drip: bytes = b"") -> float:
    """Send ``first``, then ``drip`` a byte every 0.2 s; how long until the server closes the connection."""
    started = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)

    async def dripping() -> None:
        with contextlib.suppress(ConnectionError, OSError):
            for byte in drip:
                await asyncio.sleep(0.2)  # the slow client this test is about
                writer.write(bytes([byte]))
                await writer.drain()

    writer.write(first)
    dripper = asyncio.create_task(dripping())
    try:
        with contextlib.suppress(ConnectionError):
            while await asyncio.wait_for(reader.read(1024), 15):
                pass
        return time.monotonic() - started
    finally:
        dripper.cancel()
        writer.close()


async def test_a_client_too_slow_to_send_its_headers_is_hung_up_on(impatient_server: LiveServer) -> None:
    server = impatient_server
    start_line = f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n".encode()
    seconds = await asyncio.gather(
        _seconds_until_hung_up(server, b""),  # connects and says nothing
        _seconds_until_hung_up(server, start_line),  # stops half-way through its headers
        _seconds_until_hung_up(server, b"G", drip=b"ET /healthz HTTP/1.1\r\nX-Slow: " + b"a" * 200),  # a byte at a time
        # A kept-alive connection: the first request whole, the second a byte at a time.
        _seconds_until_hung_up(server, start_line + b"\r\n", drip=b"GET /healthz HTTP/1.1\r\nX-Slow: " + b"a" * 200),
    )
    assert all(0.9 < taken < 4 for taken in seconds), seconds
    with server.get("/healthz") as response:  # a client that sends its request at once is served
        assert response.status == 200


def test_runserver_without_redis_says_so_and_still_serves_the_pages_that_need_none(
    database: str, tmp_path: Path
) -> None:
    log = tmp_path / "runserver.log"
    nowhere = f"redis://127.0.0.1:{free_port()}/0"
    server = LiveServer("runserver", database, log, REDIS_URL=nowhere, DJANGO_LOG_FORMAT="plain")
    args = [part.format(port=server.port) for part in COMMANDS["runserver"]]
    with open(log, "ab") as output:
        process = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=server.env, stdout=output, stderr=output)
    try:
        health = _wait_for_status(server.url + "/healthz")
        assert health.code == 503
        assert json.loads(health.read())["channel_layer"] == "error"
        lobby = _wait_for_status(server.url + "/")
        assert lobby.code == 503
        assert "The game server can't reach Redis" in lobby.read().decode()
        missing = _wait_for_status(server.url + "/rooms/nosuchroom/")
        assert missing.code == 404
        assert "Back to the lobby" in missing.read().decode()
        with urllib.request.urlopen(server.url + "/admin/login/", timeout=10) as admin:
            assert admin.status == 200
        assert f"Redis is not answering at 127.0.0.1:{nowhere.rsplit(':', 1)[1].split('/')[0]}" in log.read_text()
    finally:
        stop_process(process, timeout=10)


def _wait_for_status(url: str, timeout: float = 30) -> urllib.error.HTTPError:
    """The error answer ``url`` gives once the server is up (every URL asked here answers one)."""

    def answer() -> urllib.error.HTTPError | None:
        try:
            urllib.request.urlopen(url, timeout=10).close()
        except urllib.error.HTTPError as error:
            return error
        except (urllib.error.URLError, ConnectionError):
            return None  # not listening yet
        pytest.fail(f"{url} answered 200")

    return until(answer, timeout=timeout, interval=0.1, message=f"{url} to answer")


def _quick_play_post(server: LiveServer, body_bytes: int = 100) -> tuple[bytes, bytes]:
    """The head and the ``body_bytes``-long body of a POST /play/ that names no pool: a view that
    answers 400 "There is no such quick-play pool." only after reading the body whole."""
    body = f"csrfmiddlewaretoken={CSRF_TOKEN}&pool=no-such-pool&padding=".encode()
    body += b"x" * (body_bytes - len(body))
    head = (
        f"POST /play/ HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nCookie: csrftoken={CSRF_TOKEN}\r\n"
        f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    return head, body


async def _answers_until_hung_up(server: LiveServer, pieces: list[bytes], pause: float) -> bytes:
    """Send ``pieces`` ``pause`` seconds apart (or until the server hangs up); every byte the server
    sends until it closes the connection. Fails if it is still open after HANG_UP_BOUND seconds."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)

    async def sending() -> None:
        with contextlib.suppress(ConnectionError, OSError):
            for number, piece in enumerate(pieces):
                if number:
                    await asyncio.sleep(pause)  # the slow client these tests are about
                writer.write(piece)
                await writer.drain()

    sender = asyncio.create_task(sending())
    received = b""
    try:
        async with asyncio.timeout(HANG_UP_BOUND):
            with contextlib.suppress(ConnectionError):
                while data := await reader.read(4096):
                    received += data
        return received
    finally:
        sender.cancel()
        writer.close()


def _statuses(answers: bytes) -> list[int]:
    return [int(status) for status in re.findall(rb"^HTTP/1\.1 (\d{3}) ", answers, re.MULTILINE)]


async def _lobby_pongs(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
    """Ping the lobby over a raw socket from _open_socket; whether a pong comes back."""
    ping = json.dumps({"type": "ping"}).encode()
    writer.write(bytes([0x81, 0x80 | len(ping)]) + b"\0\0\0\0" + ping)  # mask 0: payload as is
    await writer.drain()
    while True:
        first, length = await asyncio.wait_for(reader.readexactly(2), 10)
        size = length & 0x7F
        if size == 126:
            size = struct.unpack("!H", await reader.readexactly(2))[0]
        payload = await reader.readexactly(size)
        if first & 0x0F == 0x8:  # closed
            return False
        if first & 0x0F == 0x1 and json.loads(payload)["type"] == "pong":
            return True


async def test_a_request_body_not_whole_within_the_deadline_is_answered_408_and_one_in_time_reaches_the_view(
    body_deadline_server: LiveServer,
) -> None:
    server = body_deadline_server
    head, body = _quick_play_post(server)
    # A WebSocket's handshake is a request without a body: the deadline must never close it.
    lobby = await _open_socket(server, server.url)
    close = head.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n")
    stopped, crawling, pipelined, at_once, slowly = await asyncio.gather(
        # Content-Length 100: one byte of the body, then nothing.
        _answers_until_hung_up(server, [head + body[:1]], pause=0),
        # A byte every 0.2 s: the connection is never idle, and the body would take 20 s.
        _answers_until_hung_up(server, [head, *(bytes([byte]) for byte in body)], pause=0.2),
        # Two requests pipelined on one kept-alive connection: the first whole, the second's body
        # stops after a byte.
        _answers_until_hung_up(server, [head + body + head + body[:1]], pause=0),
        _answers_until_hung_up(server, [close + body], pause=0),
        # Five pieces 0.25 s apart: a second in all, well within BODY_SECONDS.
        _answers_until_hung_up(server, [close, *(body[n : n + 20] for n in range(0, 100, 20))], pause=0.25),
    )
    assert _statuses(stopped) == [408], stopped
    assert stopped.endswith(b"The request's body did not arrive in time.\n")
    assert _statuses(crawling) == [408], crawling
    assert _statuses(pipelined) == [400, 408], pipelined
    for answers in (at_once, slowly):
        # The view read the pool field (and Django the CSRF token) from the whole body.
        assert _statuses(answers) == [400], answers
        assert b"There is no such quick-play pool." in answers
    # Open since before the deadline of the requests above passed.
    assert await _lobby_pongs(*lobby)
    lobby[1].close()
