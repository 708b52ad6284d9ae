"""Client processes: each runs a :class:`~bench.loadgen.Fleet` on its own event loop.

The controller (``python -m bench``) never plays itself: it hands games to
the client processes, tells them when to play, and meanwhile samples the
servers' CPU and memory, so its own work never delays a player.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
from collections import Counter
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from bench.computer import ComputerCounts, ComputerGames, ComputerSpec
from bench.crowd import Crowd, VisitorSpec
from bench.loadgen import Fleet, GameSpec
from bench.stats import CrowdCounts, PhaseCounts, SetupCounts


@dataclass(frozen=True)
class Connect:
    specs: list[GameSpec]
    concurrency: int = 16


@dataclass(frozen=True)
class Play:
    games: int
    """How many of this process's games play (the first ones connected)."""
    interval: float
    start_at: float
    """``time.monotonic()`` (one clock for every process on Linux)."""
    warmup: float
    seconds: float
    lost_after: float
    stalled_after: float


@dataclass(frozen=True)
class CloseAll:
    pass


@dataclass(frozen=True)
class CrowdArrive:
    specs: list[VisitorSpec]
    concurrency: int
    start_at: float


@dataclass(frozen=True)
class CrowdLeave:
    pass


@dataclass(frozen=True)
class ComputerStart:
    specs: list[ComputerSpec]
    concurrency: int = 16


@dataclass(frozen=True)
class ComputerStop:
    pass


Command = Connect | Play | CloseAll | CrowdArrive | CrowdLeave | ComputerStart | ComputerStop


async def _execute(fleet: Fleet, crowd: Crowd, computer: ComputerGames, command: Command) -> Any:
    match command:
        case ComputerStart(specs=specs, concurrency=concurrency):
            return await computer.start(specs, concurrency)
        case ComputerStop():
            return await computer.stop()
        case CrowdArrive(specs=specs, concurrency=concurrency, start_at=start_at):
            return await crowd.arrive(specs, concurrency, start_at)
        case CrowdLeave():
            return await crowd.leave()
        case Connect(specs=specs, concurrency=concurrency):
            return await fleet.connect(specs, concurrency)
        case Play():
            return await fleet.run_phase(
                command.games, command.interval, command.start_at, command.warmup, command.seconds,
                command.lost_after, command.stalled_after,
            )  # fmt: skip
        case CloseAll():
            await fleet.close()
            return None


async def _serve(connection: Connection, deflate: bool) -> None:
    fleet = Fleet(deflate)
    crowd = Crowd(deflate)
    computer = ComputerGames(deflate)
    loop = asyncio.get_running_loop()
    while (command := await loop.run_in_executor(None, connection.recv)) is not None:
        connection.send(await _execute(fleet, crowd, computer, command))
    await computer.stop()
    await crowd.leave()
    await fleet.close()


def _client_main(connection: Connection, deflate: bool) -> None:
    try:
        import uvloop

        loop_factory = uvloop.new_event_loop
    except ImportError:  # the client then runs on asyncio's own loop
        loop_factory = asyncio.new_event_loop
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(_serve(connection, deflate))


class ClientPool:
    """Client processes, each given every ``len(pool)``-th game."""

    def __init__(self, processes: int, deflate: bool) -> None:
        context = multiprocessing.get_context("spawn")
        self.connections: list[Connection] = []
        self.processes = []
        for _ in range(processes):
            ours, theirs = context.Pipe()
            process = context.Process(target=_client_main, args=(theirs, deflate), daemon=True)
            process.start()
            self.connections.append(ours)
            self.processes.append(process)

    def __len__(self) -> int:
        return len(self.connections)

    def _call(self, commands: list[Command]) -> list[Any]:
        for connection, command in zip(self.connections, commands, strict=True):
            connection.send(command)
        return [connection.recv() for connection in self.connections]

    def connect(self, specs: list[GameSpec], concurrency: int = 16) -> SetupCounts:
        share = [Connect(specs[index :: len(self)], max(1, concurrency // len(self))) for index in range(len(self))]
        total = SetupCounts()
        for counts in self._call(list(share)):
            total.merge(counts)
        return total

    def start_play(self, games: int, **timing: float) -> None:
        """Send a :class:`Play` to every process; :meth:`finish_play` collects the counts."""
        for index, connection in enumerate(self.connections):
            connection.send(Play(games=len(range(index, games, len(self))), **timing))

    def finish_play(self) -> PhaseCounts:
        total = PhaseCounts()
        for connection in self.connections:
            total.merge(connection.recv())
        return total

    def close_all(self) -> None:
        self._call([CloseAll() for _ in self.connections])

    def start_crowd(self, specs: list[VisitorSpec], concurrency: int, start_at: float) -> None:
        """Hand every process its share of a crowd (every ``len(pool)``-th visitor); :meth:`finish_crowd` collects."""
        share = max(1, concurrency // len(self))
        for index, connection in enumerate(self.connections):
            connection.send(CrowdArrive(specs[index :: len(self)], share, start_at))

    def finish_crowd(self) -> CrowdCounts:
        total = CrowdCounts()
        for connection in self.connections:
            total.merge(connection.recv())
        return total

    def crowd_leave(self) -> Counter[str]:
        closes: Counter[str] = Counter()
        for counted in self._call([CrowdLeave() for _ in self.connections]):
            closes.update(counted)
        return closes

    def start_computer_games(self, specs: list[ComputerSpec], concurrency: int = 16) -> ComputerCounts:
        """Seat a person and the computer in each room (every ``len(pool)``-th to each process); they play on."""
        share = max(1, concurrency // len(self))
        total = ComputerCounts()
        for counts in self._call([ComputerStart(specs[index :: len(self)], share) for index in range(len(self))]):
            total.merge(counts)
        return total

    def stop_computer_games(self) -> ComputerCounts:
        """Every person playing the computer resigns and leaves; what they did since they started."""
        total = ComputerCounts()
        for counts in self._call([ComputerStop() for _ in self.connections]):
            total.merge(counts)
        return total

    def stop(self) -> None:
        for connection in self.connections:
            with contextlib.suppress(OSError):  # a client that died has closed its end
                connection.send(None)
        for process in self.processes:
            process.join(timeout=15)
            if process.is_alive():
                process.terminate()
