"""The load generator: pairs of players playing legal random games over real WebSockets.

A :class:`Game` is two :class:`Seat` s (one socket each) in one room. Seats
keep their own view of the game from what they receive, as a browser does,
and a driver sends the next move from whichever seat's turn it is: at a
fixed pace (one move per ``interval``) or as soon as the turn arrives
(``interval=0``, which finds the peak). At most one move per game is in
flight, so a move's latency is simply the time from its ``send`` to the
opponent's socket receiving it.

The seats (:mod:`bench.seats`) speak tictac's protocol or the naive relay's.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass

from bench.seats import SEAT_CLASSES, SETUP_TIMEOUT, Key, Seat, SeatTarget
from bench.stats import PhaseCounts, SetupCounts


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
