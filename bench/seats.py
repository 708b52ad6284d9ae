"""One player's socket and what it knows of the game: the protocol client of the load generator.

tictac seats speak docs/protocol.md (session cookie, ``join``, ``move``,
``rematch`` once a game ends). Naive seats send the same moves to the
naive broadcast consumer and judge the game themselves with tictac's rules.
A seat tells its :class:`bench.loadgen.Game` what it saw; the game decides
which seat moves next and counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from bench.stats import SetupCounts
from game.domain.rules import Board

if TYPE_CHECKING:
    from bench.loadgen import Game

Key = tuple[int, int]
"""(game number, move number): which move a frame is about."""

SETUP_TIMEOUT = 30.0
FINISHED = ("won", "draw", "resigned")


@dataclass(frozen=True)
class SeatTarget:
    """Where one player connects."""

    host: str
    port: int
    path: str
    """The room page (tictac) or the naive room's WebSocket path."""


class Seat:
    """One player's socket and what it knows of the game."""

    number = 0
    moves = 0
    mark: str | None = None
    my_turn = False
    sent_for: Key | None = None
    """The view a move was last sent from: no second move from the same view."""

    def __init__(self, game: Game, index: int, target: SeatTarget, deflate: bool) -> None:
        self.game = game
        self.index = index
        self.target = target
        self.deflate = deflate
        self.ws: ClientConnection | None = None
        self.reader: asyncio.Task[None] | None = None
        self.closing = False

    @property
    def view(self) -> Key:
        return (self.number, self.moves)

    def can_move(self) -> bool:
        return self.my_turn and self.sent_for != self.view

    async def connect(self, path: str, headers: dict[str, str]) -> ClientConnection:
        self.ws = await websockets.connect(
            f"ws://{self.target.host}:{self.target.port}{path}",
            additional_headers=headers,
            compression="deflate" if self.deflate else None,
            # The servers ping; a second keepalive from each of 1,000 clients is noise.
            ping_interval=None,
            open_timeout=SETUP_TIMEOUT,
            close_timeout=2,
        )
        return self.ws

    async def open(self, setup: SetupCounts) -> None:
        raise NotImplementedError

    def observe(self, frame: str) -> Key | None:
        """Update the view from a frame; the key of the move it shows, if any."""
        raise NotImplementedError

    def move_frame(self) -> str:
        raise NotImplementedError

    def follow_up(self) -> str | None:
        """A frame to send after the last one received (tictac's rematch), if any."""
        return None

    def resync(self, next_number: int) -> None:
        """Recover after a lost frame: forget the last send and ask for the truth (or agree on a new game)."""
        self.sent_for = None

    @property
    def closed(self) -> bool:
        return self.reader is not None and self.reader.done()

    async def send(self, frame: str) -> None:
        assert self.ws is not None
        # After a close the reader has counted (or will count) it: nothing more to do here.
        with contextlib.suppress(ConnectionClosed):
            await self.ws.send(frame)

    def start_reading(self) -> None:
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.ws is not None
        try:
            async for frame in self.ws:
                assert isinstance(frame, str)
                key = self.observe(frame)
                if key is not None:
                    self.game.observed(self, key)
                self.game.changed.set()
                if reply := self.follow_up():
                    await self.ws.send(reply)
        except ConnectionClosed:
            pass
        finally:
            if not self.closing:
                self.game.fleet.closes[str(self.ws.close_code)] += 1

    async def close(self) -> None:
        self.closing = True
        if self.ws is not None:
            await self.ws.close()
        if self.reader is not None:
            await self.reader


class TictacSeat(Seat):
    status = "waiting"
    cells: list[str]
    rematch_for = 0

    async def open(self, setup: SetupCounts) -> None:
        started = time.monotonic()
        session_key = await fetch_session(self.target)
        http_done = time.monotonic()
        headers = {"Origin": f"http://{self.target.host}:{self.target.port}", "Cookie": f"sessionid={session_key}"}
        ws = await self.connect(self.target.path.replace("/rooms/", "/ws/rooms/", 1), headers)
        self.observe(await _recv(ws))
        ws_done = time.monotonic()
        await ws.send(json.dumps({"type": "join", "name": f"p{self.index}-{self.game.spec.code}"[:32]}))
        while self.mark is None:
            self.observe(await _recv(ws))
        joined = time.monotonic()
        setup.http_ms.append((http_done - started) * 1000)
        setup.websocket_ms.append((ws_done - http_done) * 1000)
        setup.join_ms.append((joined - ws_done) * 1000)
        setup.total_ms.append((joined - started) * 1000)

    def observe(self, frame: str) -> Key | None:
        message = json.loads(frame)
        kind = message["type"]
        if kind == "error":
            self.game.refused(self, message["code"])
            return None
        if kind != "state":
            return None
        game = message["game"]
        key = (game["number"], game["moves"])
        if key < self.view:
            return None  # an older state: tictac never sends one, but a client must not go back
        self.number, self.moves = key
        self.mark = message["you"]["mark"]
        self.status = game["status"]
        self.cells = game["board"]
        self.my_turn = self.status == "playing" and game["turn"] == self.mark
        return key if key[1] > 0 else None

    def move_frame(self) -> str:
        cell = random.choice([index for index, mark in enumerate(self.cells) if not mark])
        return f'{{"type":"move","cell":{cell}}}'

    def follow_up(self) -> str | None:
        if self.status in FINISHED and self.rematch_for != self.number and self.mark is not None:
            self.rematch_for = self.number
            return '{"type":"rematch"}'
        return None

    def resync(self, next_number: int) -> None:
        super().resync(next_number)
        self.rematch_for = 0  # a lost rematch is asked for again
        # No move from a view that may be stale: the answer to the sync decides whose turn it is.
        self.my_turn = False
        if self.ws is not None:
            asyncio.create_task(self.send('{"type":"sync"}'))  # noqa: RUF006 - the reader sees the answer


class NaiveSeat(Seat):
    """A player of the naive relay: the clients are the only judges of the game."""

    board: Board

    async def open(self, setup: SetupCounts) -> None:
        started = time.monotonic()
        await self.connect(self.target.path, {"Origin": f"http://{self.target.host}:{self.target.port}"})
        elapsed = (time.monotonic() - started) * 1000
        setup.websocket_ms.append(elapsed)
        setup.total_ms.append(elapsed)
        self._new_game(1)

    def _new_game(self, number: int) -> None:
        # Marks swap every game, as tictac's rematch swaps them.
        self.number, self.moves = number, 0
        self.board = Board.empty()
        self.mark = "X" if (number + self.index) % 2 else "O"
        self.my_turn = self.mark == "X"

    def observe(self, frame: str) -> Key | None:
        message = json.loads(frame)
        key: Key = (message["g"], message["m"])
        if key != (self.number, self.moves + 1):
            return key  # a repeat, or a gap after a lost frame: the view cannot follow it
        self.board = self.board.play(message["c"])
        self.moves += 1
        if self.board.outcome is not None:
            self._new_game(self.number + 1)
        else:
            self.my_turn = self.board.turn == self.mark
        return key

    def move_frame(self) -> str:
        cell = random.choice(self.board.legal_moves())
        return json.dumps({"type": "move", "g": self.number, "m": self.moves + 1, "c": cell})

    def resync(self, next_number: int) -> None:
        super().resync(next_number)
        # Both seats start the game after the newest either has seen.
        self._new_game(next_number)


SEAT_CLASSES: dict[str, type[Seat]] = {"tictac": TictacSeat, "naive": NaiveSeat}


async def _recv(ws: ClientConnection) -> str:
    frame = await ws.recv()
    assert isinstance(frame, str)
    return frame


async def get_page(host: str, port: int, path: str) -> tuple[str, str | None, int]:
    """GET a page as a browser's first visit does (no cookie, a connection of its own, the whole body).

    Returns the status, the ``sessionid`` the answer sets (if any) and the body's length.
    """
    reader, writer = await asyncio.open_connection(host, port)
    try:
        request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n"
        writer.write(request.encode())
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        body = await reader.read()  # the page itself, until the server closes
    finally:
        writer.close()
    status = head.split(" ", 2)[1]
    session_key = None
    for line in head.split("\r\n"):
        name, _, value = line.partition(":")
        if name.lower() == "set-cookie" and value.strip().startswith("sessionid="):
            session_key = value.strip().split(";", 1)[0].split("=", 1)[1]
    return status, session_key, len(body)


async def fetch_session(target: SeatTarget) -> str:
    """GET the room page as a browser would and return the ``sessionid`` it sets."""
    status, session_key, _ = await get_page(target.host, target.port, target.path)
    if status != "200":
        raise RuntimeError(f"GET {target.path} answered {status}")
    if session_key is None:
        raise RuntimeError(f"GET {target.path} set no session cookie")
    return session_key
