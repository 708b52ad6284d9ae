"""People playing the computer at a person's pace, beside the games being measured (issue 15's fifth target).

A person here is a first-time visitor: it ``GET``s a room page (a session of
its own, since a session may play only a couple of games against the
computer at once), opens the room's socket, takes a seat with ``join`` and
asks for the computer with ``add_computer`` (docs/protocol.md). It then plays
random legal moves about once a second, and asks for a rematch whenever a
game ends, until told to stop; then it resigns (so the computer does not
claim an abandoned game later, in the middle of another phase) and leaves.

:func:`play_the_computer` is the person's part; ``bench.bots_and_humans``
(the standalone measurement) and the main bench (:class:`ComputerGames`, run
in the client processes) both use it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from bench.crowd import GAME_OVER, RESIGN_TIMEOUT
from bench.seats import SETUP_TIMEOUT, SeatTarget, fetch_session

STOP_TIMEOUT = 15.0
"""Longest a person may take to stop: a move's pause, a state, a resync after 5 s, the resignation's 5 s."""


async def next_state(ws: ClientConnection, errors: Counter[str] | None = None) -> dict[str, Any]:
    """The next ``state`` frame; ``error`` frames on the way are counted in ``errors`` (if given), others skipped."""
    while True:
        message = json.loads(await ws.recv())
        if message["type"] == "state":
            return message  # type: ignore[no-any-return]
        if message["type"] == "error" and errors is not None:
            errors[message["code"]] += 1


async def play_the_computer(
    ws: ClientConnection,
    stop: asyncio.Event,
    rng: random.Random,
    errors: Counter[str] | None = None,
    state: dict[str, Any] | None = None,
) -> int:
    """Play random moves against the computer (and ask for rematches) until ``stop``; how many moves.

    ``state`` is the room as last seen, if the caller has read it already; else the next one is awaited.
    """
    moves = 0
    if state is None:
        state = await next_state(ws, errors)
    while not stop.is_set():
        game: dict[str, Any] = state["game"]
        you = state["you"]["mark"]
        if game["status"] == "playing" and game["turn"] == you:
            await asyncio.sleep(rng.uniform(0.5, 1.5))  # a person's pace: about a move a second
            cell = rng.choice([index for index, mark in enumerate(game["board"]) if not mark])
            await ws.send(json.dumps({"type": "move", "cell": cell}))
            moves += 1
        elif game["status"] not in ("playing", "waiting") and you not in game["rematch"]:
            await ws.send(json.dumps({"type": "rematch"}))
        try:
            state = await asyncio.wait_for(next_state(ws, errors), 5)
        except TimeoutError:
            await ws.send(json.dumps({"type": "sync"}))
            state = await next_state(ws, errors)
    return moves


@dataclass(frozen=True)
class ComputerSpec:
    """One person who plays the computer: where, and against which level."""

    host: str
    port: int
    code: str
    level: str
    seed: int


@dataclass
class ComputerCounts:
    """What the people playing the computer did, from one client process (or several, merged)."""

    games: int = 0
    """People asked to play the computer."""
    started: int = 0
    """People whose game against the computer is on: the computer seated and its first move seen."""
    setup_ms: list[float] = field(default_factory=list)
    """From the room page's first byte to the computer's first move."""
    failures: Counter[str] = field(default_factory=Counter)
    """People who did not get a game against the computer (or whose play broke off), by reason."""
    moves: int = 0
    """Moves the people sent while they played (the computer answered about as many)."""
    errors: Counter[str] = field(default_factory=Counter)
    closes: Counter[str] = field(default_factory=Counter)
    """Sockets the server closed while they played, by close code."""

    def merge(self, other: ComputerCounts) -> ComputerCounts:
        self.games += other.games
        self.started += other.started
        self.setup_ms.extend(other.setup_ms)
        self.failures.update(other.failures)
        self.moves += other.moves
        self.errors.update(other.errors)
        self.closes.update(other.closes)
        return self


class ComputerGames:
    """One client process's people playing the computer, from :meth:`start` until :meth:`stop`."""

    def __init__(self, deflate: bool) -> None:
        self.deflate = deflate
        self.stopping = asyncio.Event()
        self.players: list[asyncio.Task[None]] = []
        self.counts = ComputerCounts()

    async def start(self, specs: list[ComputerSpec], concurrency: int) -> ComputerCounts:
        """Seat each person and the computer (``concurrency`` rooms at a time), and set them playing."""
        self.stopping = asyncio.Event()
        self.counts = ComputerCounts(games=len(specs))
        gate = asyncio.Semaphore(max(1, concurrency))

        async def set_up(spec: ComputerSpec) -> None:
            async with gate:
                began = time.monotonic()
                try:
                    async with asyncio.timeout(SETUP_TIMEOUT):
                        ws, playing = await self._seat_with_computer(spec)
                except Exception as error:
                    self.counts.failures[str(error) if isinstance(error, RefusedError) else type(error).__name__] += 1
                    return
                self.counts.started += 1
                self.counts.setup_ms.append((time.monotonic() - began) * 1000)
                self.players.append(asyncio.create_task(self._play(ws, random.Random(spec.seed), playing)))

        await asyncio.gather(*(set_up(spec) for spec in specs))
        return self.counts

    async def _seat_with_computer(self, spec: ComputerSpec) -> tuple[ClientConnection, dict[str, Any]]:
        """The person's socket, seated against the computer, and the first state of their game."""
        session_key = await fetch_session(SeatTarget(spec.host, spec.port, f"/rooms/{spec.code}/"))
        ws = await websockets.connect(
            f"ws://{spec.host}:{spec.port}/ws/rooms/{spec.code}/",
            additional_headers={"Origin": f"http://{spec.host}:{spec.port}", "Cookie": f"sessionid={session_key}"},
            compression="deflate" if self.deflate else None,
            ping_interval=None,
            open_timeout=SETUP_TIMEOUT,
            close_timeout=2,
        )
        await _state_where(ws, lambda state: True)
        await ws.send(json.dumps({"type": "join", "name": f"person {spec.seed}"}))
        await _state_where(ws, lambda state: state["you"]["mark"] is not None)
        await ws.send(json.dumps({"type": "add_computer", "level": spec.level}))
        playing = await _state_where(ws, lambda state: state["game"]["status"] == "playing")
        # The person opens at once and waits for the computer's first answer, so that a game counts as
        # started once the computer really plays (its search process up), not merely once it is seated.
        if playing["game"]["turn"] == playing["you"]["mark"]:
            cell = next(index for index, mark in enumerate(playing["game"]["board"]) if not mark)
            await ws.send(json.dumps({"type": "move", "cell": cell}))
        answered = await _state_where(
            ws,
            lambda state: (
                state["game"]["status"] != "playing"
                or (state["game"]["moves"] >= 1 and state["game"]["turn"] == state["you"]["mark"])
            ),
        )
        return ws, answered

    async def _play(self, ws: ClientConnection, rng: random.Random, playing: dict[str, Any]) -> None:
        try:
            # Awaited first: ``counts.moves += await …`` would read the total before the game and lose the others'.
            moves = await play_the_computer(ws, self.stopping, rng, self.counts.errors, playing)
            self.counts.moves += moves
            await _resign(ws)
        except ConnectionClosed:
            self.counts.closes[str(ws.close_code)] += 1
        except Exception as error:  # counted, not lost in the gather of :meth:`stop`
            self.counts.failures[f"while playing: {type(error).__name__}"] += 1
        finally:
            await ws.close()

    async def stop(self) -> ComputerCounts:
        """Stop every person (each resigns its game and leaves); what they did since :meth:`start`."""
        self.stopping.set()
        # A person who waits past this for a state that never comes is given up on (and counted), so
        # that one stuck game does not hold up the bench.
        _, stuck = await asyncio.wait(self.players, timeout=STOP_TIMEOUT) if self.players else (set(), set())
        for player in stuck:
            player.cancel()
            self.counts.failures["stuck at the end"] += 1
        await asyncio.gather(*self.players, return_exceptions=True)
        self.players.clear()
        return self.counts


class RefusedError(Exception):
    """The server answered a person's ``join`` or ``add_computer`` with an error; the message is its code."""


async def _state_where(ws: ClientConnection, wanted: Any) -> dict[str, Any]:
    """The first ``state`` for which ``wanted(state)`` holds; an ``error`` frame first fails the set-up."""
    while True:
        message = json.loads(await ws.recv())
        if message["type"] == "error":
            raise RefusedError(f"refused: {message['code']}")
        if message["type"] == "state" and wanted(message):
            return message  # type: ignore[no-any-return]


async def _resign(ws: ClientConnection) -> None:
    """Resign the game against the computer (if it is still on) and wait until it is over."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(RESIGN_TIMEOUT):
            await ws.send('{"type":"resign"}')
            while True:
                message = json.loads(await ws.recv())
                if message["type"] == "error" or (
                    message["type"] == "state" and message["game"]["status"] in GAME_OVER
                ):
                    return
