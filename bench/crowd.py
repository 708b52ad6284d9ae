"""A crowd arrives: visitors load a room page and connect, half of them to take a seat.

Issue 15's first target: "1,000 visitors open room pages and connect (half
of them taking seats, half watching) on one worker: all connected within
5 s, p99 page load ≤ 500 ms". Every visitor is a first-time visitor: it
``GET``s the page without a cookie (tictac's room page gives it a session
and its cookie), opens the room's socket with that cookie and an allowed
``Origin``, and counts as connected at the socket's first ``state``. A
seat-taker then sends ``join`` and counts as seated at the ``state`` that
gives it a mark. On the naive app a visitor loads the baseline page
(``bench/baseline.py``: a minimal Django view that renders a template and
gives a cookie-less visitor a session) and nothing else: the same crowd of
``GET``s, with the whole server for its pages. A baseline visitor is in
once its page has loaded.

Where they go (:func:`layout`): the seat-takers two to a room, so that each
gets a seat ("a tournament starting"); the watchers into the first of those
rooms, ``class_size - 2`` to a room, so those rooms hold a class of thirty
watching a game. Arrival order is shuffled (seeded: the same order every
run). At most ``concurrency`` visitors are arriving at once, from their
page's first byte until their socket's first frame (until their seat, for a
seat-taker); the others wait for a turn, which counts in the time until all
are connected but not in their page load.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import random
import time
from collections import Counter
from dataclasses import dataclass

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidStatus

from bench.seats import SETUP_TIMEOUT, get_page
from bench.stats import CrowdCounts

SEATS_PER_ROOM = 2
ARRIVAL_SEED = 15
RESIGN_TIMEOUT = 5.0
GAME_OVER = ("won", "draw", "resigned", "timeout", "abandoned", "aborted")


@dataclass(frozen=True)
class VisitorSpec:
    app: str
    host: str
    port: int
    code: str
    seat: bool
    """Takes a seat (tictac: sends ``join``); watches otherwise."""
    name: str
    """The name a seat-taker joins under (two in one room must differ)."""

    @property
    def page_path(self) -> str:
        return f"/rooms/{self.code}/" if self.app == "tictac" else f"/baseline/rooms/{self.code}/"

    @property
    def connects(self) -> bool:
        """Opens the room's socket after the page (tictac); the baseline's visitors load the page only."""
        return self.app == "tictac"


def room_count(visitors: int) -> int:
    """The rooms a crowd of ``visitors`` fills: the seat-takers (half the crowd) two to a room."""
    return max(1, math.ceil((visitors // 2) / SEATS_PER_ROOM))


def layout(visitors: int, codes: list[str], class_size: int) -> list[tuple[str, bool]]:
    """(room code, takes a seat) for each visitor, in arrival order.

    Half the crowd (rounded down) takes seats, two per room, in
    ``codes[:room_count(visitors)]``; the other half watches, filling those
    rooms in order with ``class_size - 2`` watchers each.
    """
    seat_takers = visitors // 2
    rooms = codes[: room_count(visitors)]
    if len(rooms) < room_count(visitors):
        raise ValueError(f"a crowd of {visitors} needs {room_count(visitors)} rooms, not {len(rooms)}")
    watchers_per_room = max(1, class_size - SEATS_PER_ROOM)
    people = [(rooms[index // SEATS_PER_ROOM], True) for index in range(seat_takers)]
    people += [(rooms[(index // watchers_per_room) % len(rooms)], False) for index in range(visitors - seat_takers)]
    random.Random(ARRIVAL_SEED).shuffle(people)
    return people


class CrowdError(Exception):
    """A visitor did not get in; the message is how it is counted."""


class Visitor:
    def __init__(self, crowd: Crowd, spec: VisitorSpec, counts: CrowdCounts) -> None:
        self.crowd = crowd
        self.spec = spec
        self.counts = counts
        self.ws: ClientConnection | None = None
        self.reader: asyncio.Task[None] | None = None
        self.seat_answer: asyncio.Future[str | None] | None = None
        """Set by the reader: ``None`` once seated, or the ``error`` code that refused the seat."""
        self.seated = False
        self.game_over: asyncio.Future[None] | None = None
        """Set by the reader once the game this visitor resigned (or its opponent did) is over."""

    async def arrive(self, gate: asyncio.Semaphore, start_at: float) -> None:
        async with gate:
            began = time.monotonic()
            self.counts.queued_ms.append((began - start_at) * 1000)
            try:
                async with asyncio.timeout(SETUP_TIMEOUT):
                    await self._arrive(began, start_at)
            except CrowdError as failure:
                self.counts.failures[str(failure)] += 1
            except ConnectionClosed as closed:
                self.counts.failures[f"closed {closed.rcvd.code if closed.rcvd else 'without a close frame'}"] += 1
            except InvalidStatus as refused:
                self.counts.failures[f"handshake {refused.response.status_code}"] += 1
            except TimeoutError:
                self.counts.failures["timeout"] += 1
            except Exception as error:
                self.counts.failures[type(error).__name__] += 1

    async def _arrive(self, began: float, start_at: float) -> None:
        spec, counts = self.spec, self.counts
        status, session_key, size = await get_page(spec.host, spec.port, spec.page_path)
        paged = time.monotonic()
        if status != "200":
            raise CrowdError(f"page {status}")
        if session_key is None:
            raise CrowdError("page without a session cookie")
        counts.pages += 1
        counts.page_bytes += size
        counts.page_ms.append((paged - began) * 1000)
        counts.last_page_at = max(counts.last_page_at, paged - start_at)
        if not spec.connects:
            counts.connected += 1
            counts.visitor_ms.append((paged - began) * 1000)
            counts.last_connected_at = counts.last_page_at
            return
        self.ws = await websockets.connect(
            f"ws://{spec.host}:{spec.port}/ws/rooms/{spec.code}/",
            additional_headers={"Origin": f"http://{spec.host}:{spec.port}", "Cookie": f"sessionid={session_key}"},
            compression="deflate" if self.crowd.deflate else None,
            ping_interval=None,
            open_timeout=SETUP_TIMEOUT,
            close_timeout=2,
        )
        first = json.loads(await self.ws.recv())
        if first["type"] != "state":
            raise CrowdError(f"first frame {first['type']}")
        connected = time.monotonic()
        counts.connected += 1
        counts.socket_ms.append((connected - paged) * 1000)
        counts.visitor_ms.append((connected - began) * 1000)
        counts.last_connected_at = max(counts.last_connected_at, connected - start_at)
        if spec.seat:
            self.seat_answer = asyncio.get_running_loop().create_future()
        self.reader = asyncio.create_task(self._read())
        if self.seat_answer is None:
            return
        await self.ws.send(json.dumps({"type": "join", "name": spec.name}))
        refused = await self.seat_answer
        if refused is not None:
            raise CrowdError(f"join refused: {refused}")
        seated = time.monotonic()
        self.seated = True
        counts.seated += 1
        counts.join_ms.append((seated - connected) * 1000)
        counts.last_seated_at = max(counts.last_seated_at, seated - start_at)

    async def _read(self) -> None:
        """Read what the room sends (as a browser does), and hand the answer to a ``join`` to :meth:`_arrive`."""
        assert self.ws is not None
        try:
            async for frame in self.ws:
                self.counts.frames += 1
                answer, over = self.seat_answer, self.game_over
                if answer is not None and not answer.done():
                    message = json.loads(frame)
                    if message["type"] == "error":
                        self.counts.errors[message["code"]] += 1
                        answer.set_result(message["code"])
                    elif message["type"] == "state" and message["you"]["mark"]:
                        answer.set_result(None)
                elif over is not None and not over.done():
                    message = json.loads(frame)
                    kind = message["type"]
                    if kind == "error" or (kind == "state" and message["game"]["status"] in GAME_OVER):
                        over.set_result(None)
        except ConnectionClosed:
            pass
        finally:
            if self.seat_answer is not None and not self.seat_answer.done():
                self.seat_answer.set_result("socket closed")
            if self.game_over is not None and not self.game_over.done():
                self.game_over.set_result(None)
            if not self.crowd.leaving:
                self.crowd.closes[str(self.ws.close_code)] += 1

    async def resign(self) -> None:
        """End this seated visitor's game before it leaves (its opponent's resign may end it first).

        A game whose players both leave mid-game would otherwise be aborted by
        the server at its absence deadline (30 s later), in the middle of the
        ramp that follows the crowd.
        """
        if not self.seated or self.ws is None or self.reader is None or self.reader.done():
            return
        self.game_over = asyncio.get_running_loop().create_future()
        with contextlib.suppress(ConnectionClosed):
            await self.ws.send('{"type":"resign"}')
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(RESIGN_TIMEOUT):
                await self.game_over

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self.reader is not None:
            await self.reader


class Crowd:
    """One client process's share of a crowd, from arrival until it leaves."""

    def __init__(self, deflate: bool) -> None:
        self.deflate = deflate
        self.visitors: list[Visitor] = []
        self.closes: Counter[str] = Counter()
        self.leaving = False

    async def arrive(self, specs: list[VisitorSpec], concurrency: int, start_at: float) -> CrowdCounts:
        """Every visitor at ``start_at``, ``concurrency`` at a time; returns once the last one is in (or failed)."""
        counts = CrowdCounts(visitors=len(specs))
        counts.seat_takers = sum(1 for spec in specs if spec.seat and spec.connects)
        self.visitors = [Visitor(self, spec, counts) for spec in specs]
        self.closes.clear()
        self.leaving = False
        gate = asyncio.Semaphore(max(1, concurrency))
        await asyncio.sleep(max(0.0, start_at - time.monotonic()))
        cpu_before = time.process_time()
        await asyncio.gather(*(visitor.arrive(gate, start_at) for visitor in self.visitors))
        counts.client_cpu_seconds = time.process_time() - cpu_before
        wall = time.monotonic() - start_at
        counts.client_busiest_core = counts.client_cpu_seconds / wall if wall > 0 else 0.0
        counts.closes = Counter(self.closes)
        return counts

    async def leave(self) -> Counter[str]:
        """Seated visitors resign, then every visitor closes its socket; the closes the server made meanwhile."""
        await asyncio.gather(*(visitor.resign() for visitor in self.visitors), return_exceptions=True)
        self.leaving = True
        await asyncio.gather(*(visitor.close() for visitor in self.visitors), return_exceptions=True)
        self.visitors = []
        return Counter(self.closes)
