"""The load generator: pairs of players playing legal random games over real WebSockets.

A :class:`Game` is two :class:`Seat` s (one socket each) in one room. Seats
keep their own view of the game from what they receive, as a browser does,
and a driver sends the next move from whichever seat's turn it is: at a
fixed pace (one move per ``interval``) or as soon as the turn arrives
(``interval=0``, which finds the peak). At most one move per game is in
flight, so a move's latency is simply the time from its ``send`` to the
opponent's socket receiving it.

tictac seats speak docs/protocol.md (session cookie, ``join``, ``move``,
``rematch`` once a game ends). Naive seats send the same moves to the
naive broadcast consumer and judge the game themselves with tictac's rules.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections import Counter
from dataclasses import dataclass

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from bench.stats import PhaseCounts, SetupCounts
from game.domain.rules import Board

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


@dataclass(frozen=True)
class GameSpec:
    app: str
    code: str
    seats: tuple[SeatTarget, SeatTarget]


class Recorder:
    """Counts one phase.

    Latencies count for moves sent inside the measured window, acceptances
    for moves first seen inside it (the throughput); losses, stalls, errors
    and closes count for the whole phase, warm-up included.
    """

    def __init__(self, window_start: float, window_end: float, stalled_after: float) -> None:
        self.window_start = window_start
        self.window_end = window_end
        self.stalled_after = stalled_after
        self.counts = PhaseCounts(window_seconds=window_end - window_start)

    def in_window(self, moment: float) -> bool:
        return self.window_start <= moment < self.window_end


@dataclass
class InFlight:
    """A move on its way: sent, then seen by the mover (its echo) and by the opponent (delivery)."""

    key: Key
    mover: Seat
    sent_at: float
    seen: bool = False
    """By either seat: the server accepted it."""
    echoed: bool = False
    delivered: bool = False

    @property
    def done(self) -> bool:
        return self.echoed and self.delivered


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


class Game:
    def __init__(self, fleet: Fleet, spec: GameSpec) -> None:
        self.fleet = fleet
        self.spec = spec
        seat_class = SEAT_CLASSES[spec.app]
        self.seats = (
            seat_class(self, 0, spec.seats[0], fleet.deflate),
            seat_class(self, 1, spec.seats[1], fleet.deflate),
        )
        # The move not yet delivered, and possibly the one before it if its echo is still on the way.
        self.in_flight: list[InFlight] = []
        self.changed = asyncio.Event()
        self.last_progress = time.monotonic()

    @property
    def dead(self) -> bool:
        """A socket of this game was closed: it plays no more."""
        return any(seat.closed for seat in self.seats)

    def mover(self) -> Seat | None:
        if self.dead or any(not move.delivered for move in self.in_flight):
            return None
        return next((seat for seat in self.seats if seat.can_move()), None)

    async def play(self, seat: Seat) -> None:
        frame = seat.move_frame()
        seat.sent_for = seat.view
        self.in_flight.append(InFlight((seat.number, seat.moves + 1), seat, time.monotonic()))
        self.fleet.recorder.counts.sent += 1
        await seat.send(frame)

    def observed(self, seat: Seat, key: Key) -> None:
        """``seat`` saw move ``key`` (or a state that far along): an echo, or a delivery."""
        now = time.monotonic()
        self.last_progress = now
        for move in self.in_flight:
            if key >= move.key:
                self._saw(move, seat, key, now)
        self.in_flight = [move for move in self.in_flight if not move.done]

    def _saw(self, move: InFlight, seat: Seat, key: Key, now: float) -> None:
        recorder = self.fleet.recorder
        counts = recorder.counts
        if not move.seen:
            move.seen = True
            if recorder.in_window(now):
                counts.accepted += 1
        if seat is move.mover:
            move.echoed = True
            return
        if move.delivered:
            return
        move.delivered = True
        counts.delivered += 1
        if key != move.key:
            counts.skipped += 1
        latency = now - move.sent_at
        if latency > recorder.stalled_after:
            counts.stalled += 1
        if recorder.in_window(move.sent_at):
            counts.latencies_ms.append(latency * 1000)

    def refused(self, seat: Seat, code: str) -> None:
        self.fleet.recorder.counts.errors[code] += 1
        if self.in_flight and self.in_flight[-1].mover is seat:
            self.in_flight.pop()
            seat.sent_for = None

    def check_stall(self, now: float, lost_after: float) -> None:
        """Give up on moves not seen in time, or on a game that stopped: count them and resync."""
        counts = self.fleet.recorder.counts
        expired = [move for move in self.in_flight if now - move.sent_at >= lost_after]
        for move in expired:
            if not move.seen:
                counts.unanswered += 1
            elif not move.delivered:
                counts.lost += 1
            else:
                counts.echo_lost += 1
        self.in_flight = [move for move in self.in_flight if move not in expired]
        if self.dead:
            return
        stopped = not self.in_flight and self.mover() is None and now - self.last_progress >= lost_after
        if any(not move.delivered for move in expired) or stopped:
            self.resync(now)

    def resync(self, now: float) -> None:
        self.fleet.recorder.counts.resyncs += 1
        self.in_flight.clear()
        self.last_progress = now
        next_number = max(seat.number for seat in self.seats) + 1
        for seat in self.seats:
            seat.resync(next_number)

    async def next_mover(self, stop_at: float, lost_after: float) -> Seat | None:
        while (seat := self.mover()) is None:
            now = time.monotonic()
            if now >= stop_at or self.dead:
                return None
            self.check_stall(now, lost_after)
            self.changed.clear()
            try:
                async with asyncio.timeout(min(0.5, stop_at - now)):
                    await self.changed.wait()
            except TimeoutError:
                pass
        return seat

    async def drive(self, interval: float, start_at: float, stop_at: float, lost_after: float) -> None:
        """Move at one move per ``interval`` (0: as fast as turns come) until ``stop_at``."""
        next_at = start_at + random.uniform(0, interval)
        while True:
            delay = next_at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if time.monotonic() >= stop_at:
                return
            seat = await self.next_mover(stop_at, lost_after)
            if seat is None:
                return
            await self.play(seat)
            # No catch-up burst after a slow move: the pace restarts from now.
            next_at = max(next_at + interval, time.monotonic())


class Fleet:
    """All the games of one client process."""

    def __init__(self, deflate: bool) -> None:
        self.deflate = deflate
        self.games: list[Game] = []
        self.closes: Counter[str] = Counter()
        self.recorder = Recorder(0, 0, 1.0)

    async def connect(self, specs: list[GameSpec], concurrency: int) -> SetupCounts:
        """Seat both players of each game (X first), ``concurrency`` games at a time."""
        setup = SetupCounts()
        started = time.monotonic()
        gate = asyncio.Semaphore(concurrency)

        async def set_up(spec: GameSpec) -> None:
            async with gate:
                game = Game(self, spec)
                try:
                    for seat in game.seats:
                        async with asyncio.timeout(SETUP_TIMEOUT):
                            await seat.open(setup)
                        seat.start_reading()
                        setup.sockets += 1
                except Exception as error:
                    setup.failed += 1
                    setup.failures[type(error).__name__] += 1
                    return
                self.games.append(game)

        await asyncio.gather(*(set_up(spec) for spec in specs))
        setup.wall_seconds = time.monotonic() - started
        return setup

    async def run_phase(
        self, games: int, interval: float, start_at: float, warmup: float, seconds: float, lost_after: float,
        stalled_after: float,
    ) -> PhaseCounts:  # fmt: skip
        """Drive the first ``games`` games; measure from ``start_at + warmup`` for ``seconds``."""
        window_start = start_at + warmup
        self.recorder = Recorder(window_start, window_start + seconds, stalled_after)
        closes_before = Counter(self.closes)
        active = self.games[:games]
        cpu = asyncio.create_task(_cpu_over(window_start, window_start + seconds))
        await asyncio.gather(*(game.drive(interval, start_at, window_start + seconds, lost_after) for game in active))
        await self._drain(active, lost_after)
        counts = self.recorder.counts
        counts.client_cpu_seconds = await cpu
        counts.client_busiest_core = counts.client_cpu_seconds / seconds
        counts.closes = self.closes - closes_before
        return counts

    async def _drain(self, games: list[Game], lost_after: float) -> None:
        """Wait for moves still in flight; what has not arrived after ``lost_after`` never will."""
        while any(game.in_flight for game in games):
            now = time.monotonic()
            for game in games:
                if game.in_flight:
                    game.check_stall(now, lost_after)
            await asyncio.sleep(0.05)

    async def close(self) -> None:
        await asyncio.gather(*(seat.close() for game in self.games for seat in game.seats), return_exceptions=True)
        self.games.clear()


async def _cpu_over(start: float, end: float) -> float:
    """This process's CPU seconds between two moments (it sleeps until both)."""
    await asyncio.sleep(max(0.0, start - time.monotonic()))
    before = time.process_time()
    await asyncio.sleep(max(0.0, end - time.monotonic()))
    return time.process_time() - before


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
