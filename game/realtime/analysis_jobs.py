"""Larger boards' analyses: searched position by position in the computer's search process, fairly, then kept.

A 3×3 game is solved (game.domain.analysis reads game.domain.search's table, about a
millisecond a game), but a larger board's analysis is a search per position,
pure Python and CPU-bound: never for the event loop. It runs in the one search process each
server process already has for the computer's moves (game.realtime.computer_turns), one position
at a time: a person's move waits behind at most one position's search (at
most ``analysis.MAX_SECONDS_PER_POSITION``), never behind a whole game. The
positions wait in a :class:`~game.domain.fair_queue.FairQueue`, a queue per client
address served in turn, so one address asking for many games delays another's
by one position each.

A game's analysis is searched once per process however many ask at once (they
share it), and kept (game.actions.analysis_store) as soon as it is done, even if
every request that asked has gone: the next request reads it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from channels.db import database_sync_to_async

from game.actions import analysis_store
from game.domain import analysis
from game.domain.fair_queue import FairQueue
from game.domain.rules import Board, Cell
from game.realtime.computer_turns import computer_players
from game.storage.per_process import kept

logger = logging.getLogger(__name__)

MAX_GAMES_AT_ONCE: Final = 8
"""Games a process analyses at once, over every client; past it a request is refused (``busy``)."""
MAX_GAMES_PER_CLIENT: Final = 2
"""Games one client address has analysed at once in a process; past it it is refused (``too_many_analyses``)."""

RunPosition = Callable[[Board, float], Awaitable[analysis.SearchedPosition]]
"""Searches one position for so many seconds: the search process in a server, a stand-in in tests."""


class AnalysisRefusedError(Exception):
    """Not now: ``code`` says why (``busy`` or ``too_many_analyses``), ``message`` in words."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(eq=False)
class _Position:
    board: Board
    seconds: float
    answer: asyncio.Future[analysis.SearchedPosition] = field(repr=False)


async def _in_search_process(board: Board, seconds: float) -> analysis.SearchedPosition:
    return await computer_players.in_search_process(analysis.search_position, board, seconds)


class Analyses:
    """This process's analyses of larger boards: one search at a time, the clients' positions in turn."""

    def __init__(self, run_position: RunPosition | None = None) -> None:
        self._run = run_position or _in_search_process
        self._queue: FairQueue[str, _Position] = FairQueue(per_client=1)
        self._searching = False
        self._games: dict[int, asyncio.Task[dict[str, Any]]] = {}
        self._clients: Counter[str] = Counter()
        self._tasks: set[asyncio.Task[None]] = set()
        self.seconds_per_game = analysis.SECONDS_PER_GAME
        self.searched = 0
        """Positions handed to ``run_position`` since the process began (observed by tests)."""

    def __len__(self) -> int:
        """How many games are being analysed."""
        return len(self._games)

    def waiting(self) -> int:
        """How many positions wait for the search process."""
        return len(self._queue)

    def reset(self) -> None:
        """Analyse nothing, as a new process (the tests start each from here; a test's event loop, and
        the tasks on it, end with the test)."""
        self._queue = FairQueue(per_client=1)
        self._searching = False
        self._games.clear()
        self._clients.clear()
        self._tasks.clear()

    async def analyse(
        self, client: str, game_id: int, size: int, win_length: int, moves: Sequence[Cell]
    ) -> dict[str, Any]:
        """The analysis of the finished game ``game_id`` (larger than 3×3), searched in ``client``'s turn and
        kept; shared with any request for the same game already under way. Raises
        :class:`AnalysisRefusedError` rather than start one past the limits."""
        job = self._games.get(game_id)
        if job is None:
            if len(self._games) >= MAX_GAMES_AT_ONCE:
                raise AnalysisRefusedError("busy", "The server is analysing many games: try again in a minute.")
            if self._clients[client] >= MAX_GAMES_PER_CLIENT:
                raise AnalysisRefusedError(
                    "too_many_analyses", "Your other games are being analysed: try this one when they are done."
                )
            job = asyncio.get_running_loop().create_task(self._analyse(client, game_id, size, win_length, moves))
            self._games[game_id] = job
            self._clients[client] += 1
            job.add_done_callback(lambda _: self._finished(game_id, client, job))
        return await asyncio.shield(job)

    def _finished(self, game_id: int, client: str, job: asyncio.Task[dict[str, Any]]) -> None:
        # Logged here, once, whether or not a request still waits for it (each that does answers 503).
        if not job.cancelled() and (error := job.exception()) is not None:
            logger.error("a game's analysis failed", exc_info=error, extra={"game": game_id})
        if self._games.get(game_id) is job:
            del self._games[game_id]
            self._clients[client] -= 1
            if self._clients[client] <= 0:
                del self._clients[client]

    async def _analyse(
        self, client: str, game_id: int, size: int, win_length: int, moves: Sequence[Cell]
    ) -> dict[str, Any]:
        in_play = analysis.positions_in_play(size, win_length, moves)
        seconds = analysis.seconds_per_position(len(in_play), self.seconds_per_game)
        # One position at a time: the client's next waits for its turn again, behind other clients'.
        searched = [await self._search(client, board, seconds) for board in in_play]
        found = analysis.analyse_bounded(size, win_length, moves, searched)
        await database_sync_to_async(analysis_store.store_analysis)(game_id, found)
        return found

    async def _search(self, client: str, board: Board, seconds: float) -> analysis.SearchedPosition:
        answer: asyncio.Future[analysis.SearchedPosition] = asyncio.get_running_loop().create_future()
        self._queue.push(client, _Position(board, seconds, answer))
        self._start_next()
        return await answer

    def _start_next(self) -> None:
        while not self._searching and (next_position := self._queue.pop()) is not None:
            client, position = next_position
            if position.answer.done():  # its analysis was cancelled (a shutdown): skip it
                self._queue.done(client)
                continue
            self._searching = True
            self.searched += 1
            task = asyncio.get_running_loop().create_task(self._finish(client, position))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _finish(self, client: str, position: _Position) -> None:
        try:
            found = await self._run(position.board, position.seconds)
        except asyncio.CancelledError:
            position.answer.cancel()
            raise
        except Exception as error:  # a failed search fails its analysis, not the queue
            if not position.answer.done():
                position.answer.set_exception(error)
        else:
            if not position.answer.done():
                position.answer.set_result(found)
        finally:
            self._searching = False
            self._queue.done(client)
            self._start_next()


analyses = kept(Analyses())
