"""The computer's turns: 3×3 answered at once, larger boards searched in a process of its own, fairly.

On 3×3 every level's move costs a few microseconds (the perfect one is a
read of the solved table, game.domain.search), so it is answered on the event loop,
with no queue: a person learning the game against the computer never waits
behind anyone's search. Larger boards need a real search, pure Python and
CPU-bound: run on the event loop, or in a thread sharing its GIL, it would
stall every human game of the process. So each server process hands those
to one worker process of its own (a pool of one: the machine's other core),
through :class:`SearchScheduler`, the one owner of the searches waiting for
it: a queue per client (the person's address; their session without one),
served in turn, one search per client at a time. Twenty-four games from one
address delay another address's search by one search, not twenty-four.

The move the search picks is played with ``moves.aplay_move``, exactly as
a person's, and announced the same way (``broadcast.announce``, which
hands this module every state it publishes, with itself to announce the
answer: this module is below it). Whatever process publishes a state
in which the computer is to move (or has an offer or a rematch to answer)
schedules its turn; the version compare-and-swap makes a duplicate
harmless, and a room has at most one search waiting (a newer state's
replaces an older's), so the queue never holds more searches than the
process has rooms.

Refusals, all ``too_many_bots``, are made when a computer game is added, never
in the middle of one: a process plays the computer in at most
``MAX_BOT_GAMES_PER_PROCESS`` rooms, a session in ``MAX_BOT_GAMES_PER_SESSION``
(services), and on boards larger than 3×3 an address in at most
``MAX_SEARCHED_BOT_GAMES_PER_ADDRESS`` at once, and none is added while
``MAX_QUEUED_SEARCHES`` searches wait.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import multiprocessing
import os
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from django.conf import settings

from game.actions import computer, moves, offers, rematch, write
from game.domain import rules, search, solved_3x3
from game.domain.fair_queue import FairQueue
from game.messages.state import RoomState
from game.models import FINISHED_STATUSES, Room
from game.realtime import room_states, search_process
from game.storage.per_process import kept

logger = logging.getLogger(__name__)

ANSWERED_AT_ONCE_SIZE = 3
"""Boards of this size are answered on the event loop (game.domain.search's solved table); larger ones are searched."""

Answer = TypeVar("Answer")

RunSearch = Callable[[rules.Board, search.Level], Awaitable[rules.Cell]]
"""Runs one search to its move: the search process in a server, a controllable stand-in in tests."""


class Announce(Protocol):
    """game.realtime.broadcast.announce, as the computer uses it to announce its answer."""

    def __call__(self, room: Room, *, state: RoomState, lobby: bool) -> Awaitable[RoomState]: ...


IPV6_CLIENT_PREFIX = 64
"""An IPv6 client is its /64: one home or host is given a whole /64, and may pick any address in it."""


def client_of(address: str | None, session_hash: str | None) -> str | None:
    """Whom a person's computer games count against: their address (an IPv6 one's /64), else their
    session, else nobody known.

    >>> client_of("2001:db8:1:2:aaaa::1", None) == client_of("2001:db8:1:2:bbbb::9", "abc")
    True
    >>> client_of("203.0.113.5", "abc"), client_of(None, "abc")
    ('203.0.113.5', 'session:abc')
    """
    if address:
        try:
            parsed = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return address
        if isinstance(parsed, ipaddress.IPv6Address):
            if parsed.ipv4_mapped is not None:
                return str(parsed.ipv4_mapped)
            return str(ipaddress.ip_network(f"{parsed}/{IPV6_CLIENT_PREFIX}", strict=False))
        return address
    return f"session:{session_hash}" if session_hash else None


class SearchSupersededError(Exception):
    """A room's waiting search was replaced by one for a newer state before it started."""


@dataclass(eq=False)
class _Search:
    room_code: str
    board: rules.Board
    level: search.Level
    answer: asyncio.Future[rules.Cell] = field(repr=False)


class SearchScheduler:
    """The searches of one process, fairly across its clients: queued per client, served in turn,
    ``per_client`` of a client's at once and ``slots`` in all (the search process's workers)."""

    def __init__(self, run: RunSearch, *, slots: int = 1, per_client: int = 1) -> None:
        self._run = run
        self._slots = slots
        self._queue: FairQueue[str, _Search] = FairQueue(per_client=per_client)
        self._waiting: dict[str, _Search] = {}
        """Each room's search that has not started: at most one, so the queue is bounded by the rooms."""
        self._running = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self.started = 0
        """Searches handed to ``run`` since the process began (observed by tests and the benchmark)."""

    def __len__(self) -> int:
        """How many searches wait for the search process."""
        return len(self._queue)

    async def search(self, client: str, room_code: str, board: rules.Board, level: search.Level) -> rules.Cell:
        """The move for ``board`` in ``room_code``, searched in ``client``'s turn.

        A room's earlier search that has not started is replaced (its caller gets
        :class:`SearchSupersededError`), or shared if it is for the same board.
        """
        waiting = self._waiting.get(room_code)
        if waiting is not None and (waiting.board, waiting.level) == (board, level):
            return await asyncio.shield(waiting.answer)
        answer: asyncio.Future[rules.Cell] = asyncio.get_running_loop().create_future()
        if waiting is not None:
            waiting.answer.set_exception(SearchSupersededError(room_code))
            waiting.board, waiting.level, waiting.answer = board, level, answer  # keeps its place in the queue
        else:
            queued = _Search(room_code, board, level, answer)
            self._waiting[room_code] = queued
            self._queue.push(client, queued)
            self._start_next()
        return await asyncio.shield(answer)

    def _start_next(self) -> None:
        while self._running < self._slots and (next_search := self._queue.pop()) is not None:
            client, queued = next_search
            del self._waiting[queued.room_code]
            self._running += 1
            self.started += 1
            task = asyncio.get_running_loop().create_task(self._finish(client, queued))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _finish(self, client: str, queued: _Search) -> None:
        try:
            cell = await self._run(queued.board, queued.level)
        except asyncio.CancelledError:  # a shutdown
            queued.answer.cancel()
            raise
        except Exception as error:  # a failed search fails its callers, not the queue
            queued.answer.set_exception(error)
        else:
            queued.answer.set_result(cell)
        finally:
            self._running -= 1
            self._queue.done(client)
            self._start_next()


@dataclass
class _ComputerRoom:
    client: str | None
    """Whom its searches count against; ``None`` until its person acts in this process."""
    searched: bool
    """Its board is larger than 3×3: its moves take searches."""


class ComputerPlayers:
    """This process's computer opponents: the rooms they play in and their searches."""

    def __init__(self, run_search: RunSearch | None = None) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self._rooms: dict[str, _ComputerRoom] = {}
        self._turns: set[asyncio.Task[None]] = set()
        self.searches = SearchScheduler(run_search or self._search_in_process)
        self.answered_at_once = 0
        """3×3 moves answered on the event loop, with no search (observed by tests)."""
        solved_3x3.solved_3x3_move(rules.Board.empty(3))  # the table is built now, at start-up, not during a game

    def _search_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # "spawn": a forked copy of a running server (its event loop, sockets and
            # threads) is no place to search from; the child imports only game.domain.search.
            self._pool = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=search_process.start,
                initargs=(os.getpid(),),
            )
        return self._pool

    async def _search_in_process(self, board: rules.Board, level: search.Level) -> rules.Cell:
        return await self.in_search_process(search.choose_move, board, level)

    async def in_search_process(self, function: Callable[..., Answer], *args: Any) -> Answer:
        """``function(*args)``, run in the search process: a pure module's function (the process imports
        only those). The computer's moves and game analyses (game.realtime.analysis_jobs) take turns in it."""
        return await asyncio.get_running_loop().run_in_executor(self._search_pool(), function, *args)

    def refuse_if_full(self, room_code: str, *, client: str | None = None, size: int = ANSWERED_AT_ONCE_SIZE) -> None:
        """Raise ``too_many_bots`` if the computer may not join another room (``room_code``, of a board of
        ``size``, for ``client``): checked before it is added, never in the middle of a game."""
        if room_code in self._rooms:
            return
        if len(self._rooms) >= settings.TICTAC["MAX_BOT_GAMES_PER_PROCESS"]:
            raise write.ActionRefused("too_many_bots", "The server is playing all the games it can: try later.")
        if size <= ANSWERED_AT_ONCE_SIZE:
            return  # 3×3 costs the search process nothing
        per_address = settings.TICTAC["MAX_SEARCHED_BOT_GAMES_PER_ADDRESS"]
        if client is not None and self.searched_games_of(client) >= per_address:
            raise write.ActionRefused(
                "too_many_bots",
                "Your network is playing the computer on large boards in all the games it may: finish one first.",
            )
        if len(self.searches) >= settings.TICTAC["MAX_QUEUED_SEARCHES"]:
            raise write.ActionRefused(
                "too_many_bots", "The computer is thinking for many people: try later, or play it on 3×3."
            )

    def playing_in(self, room_code: str, *, client: str | None = None, size: int = ANSWERED_AT_ONCE_SIZE) -> None:
        self._note(room_code, client, size)

    def searched_games_of(self, client: str) -> int:
        """Rooms larger than 3×3 in which this process plays the computer against ``client``."""
        return sum(1 for room in self._rooms.values() if room.client == client and room.searched)

    def __len__(self) -> int:
        return len(self._rooms)

    def reset(self) -> None:
        """Play in no room and hold no turn, as a new process (the tests start each from here, after
        :meth:`settled`). The search process is kept: it holds nothing about a room, and starting
        one costs a Python start-up."""
        self._rooms.clear()
        self._turns.clear()

    async def settled(self) -> None:
        """Wait for every turn the computer has started in this process (a test's end, a shutdown)."""
        while self._turns:
            await asyncio.gather(*self._turns, return_exceptions=True)

    def after(self, room: Room, state: RoomState, *, announce: Announce, client: str | None = None) -> None:
        """A state of ``room`` was published (by ``announce``, which calls this): give the computer its
        turn, if it has one, and announce its answer. ``client`` is the person playing it, when the state
        comes from their own socket."""
        if _computer_mark(state.message) is None:
            self._rooms.pop(room.code, None)
            return
        has_something_to_do = _computer_has_something_to_do(state.message)
        if has_something_to_do or client is not None:
            self._note(room.code, client, room.size)
        if has_something_to_do:
            task = asyncio.get_running_loop().create_task(self._take_turn(room, state, announce))
            self._turns.add(task)
            task.add_done_callback(self._turns.discard)

    def _note(self, room_code: str, client: str | None, size: int) -> None:
        known = self._rooms.get(room_code)
        if known is None:
            self._rooms[room_code] = _ComputerRoom(client, size > ANSWERED_AT_ONCE_SIZE)
        elif client is not None:
            known.client = client

    async def _take_turn(self, room: Room, state: RoomState, announce: Announce) -> None:
        try:
            answer = await self._act(room, state)
        except (write.ActionRefused, SearchSupersededError):
            return  # the person got there first (moved, resigned, left, took the move back)
        except Exception:
            logger.exception("the computer's turn failed", extra={"room": room.code})
            return
        if answer is not None:  # announce gives the computer its next turn, if this answer leaves it one
            await announce(room, state=answer, lobby=answer.message["game"]["status"] in FINISHED_STATUSES)

    async def _act(self, room: Room, state: RoomState) -> RoomState | None:
        """The computer's answer to ``state`` (already committed and published): everything it needs
        to decide is in the state, so only its own action reaches the database."""
        message = state.message
        mark = _computer_mark(message)
        assert mark is not None
        computer_id = state.seats[mark]
        person = message["players"][rules.O if mark == rules.X else rules.X]
        game = message["game"]
        if computer_id is None or person is None:
            return None
        if game["status"] in FINISHED_STATUSES and not person["online"]:
            # The person has gone: the computer does not keep the room.
            self._rooms.pop(room.code, None)
            left = await computer.aremove_computer(room)
            return None if left is None else await room_states.read(room, left)
        offer = game["offer"]
        if game["status"] == "playing" and offer is not None and offer["by"] != mark:
            # A takeback is granted (a child learning the game is the point); a draw is not.
            answered = await offers.aanswer_offer(room, computer_id, accept=offer["kind"] == "takeback")
            return await room_states.read(room, answered)
        if game["status"] in FINISHED_STATUSES:
            return await room_states.read(room, await rematch.arequest_rematch(room, computer_id))
        level: Any = message["players"][mark]["computer"]
        board = rules.Board(room.size, room.win_length, game["board"])
        cell = await self._move(room.code, board, level)
        moved = await moves.aplay_move(room, computer_id, cell)
        return await room_states.read(room, moved, reuse_presence=True)

    async def _move(self, room_code: str, board: rules.Board, level: search.Level) -> rules.Cell:
        if board.size <= ANSWERED_AT_ONCE_SIZE:
            self.answered_at_once += 1
            return search.choose_move(board, level)
        known = self._rooms.get(room_code)
        # A turn scheduled by a process that never saw the person's socket (the referee's, after a
        # restart) counts against the room itself until the person acts here.
        client = known.client if known is not None and known.client is not None else f"room:{room_code}"
        return await self.searches.search(client, room_code, board, level)


def _computer_mark(state: dict[str, Any]) -> str | None:
    return next((mark for mark, seat in state["players"].items() if seat and seat.get("computer")), None)


def _computer_has_something_to_do(state: dict[str, Any]) -> bool:
    """Its move, an offer to answer, a rematch to agree to, or a person who has gone."""
    mark = _computer_mark(state)
    game = state["game"]
    person = state["players"][rules.O if mark == rules.X else rules.X]
    if person is None:
        return False
    if game["status"] == "playing":
        offer = game["offer"]
        return game["turn"] == mark or (offer is not None and offer["by"] != mark)
    if game["status"] in FINISHED_STATUSES:
        return bool(game["rematch"] and mark not in game["rematch"]) or not person["online"]
    return False


computer_players = kept(ComputerPlayers())
