"""The computer's turns: searched in a worker process of its own, played through the service layer.

The search (game.bot) is pure Python and CPU-bound: run on the event loop, or
in a thread sharing its GIL, it would stall every human game of the process.
So each server process hands searches to one worker process of its own (a
pool of one: the machine's other core). The move the search picks is played
with ``services.aplay_move``, exactly as a person's, and published the same
way. Whatever process publishes a state in which the computer is to move (or
has an offer or a rematch to answer) schedules its turn; the version
compare-and-swap makes a duplicate harmless.

The number of rooms a process plays the computer in is capped
(``MAX_BOT_GAMES_PER_PROCESS``), and a session may play a few games at once
(``MAX_BOT_GAMES_PER_SESSION``): more are refused with ``too_many_bots``.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from django.conf import settings

from . import bot, room_states, rules, services
from .broadcast import publish
from .models import FINISHED_STATUSES, Room
from .search_process import end_with_parent
from .state import RoomState

logger = logging.getLogger(__name__)


class ComputerPlayers:
    """This process's computer opponents: their search process and the rooms they play in."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self._rooms: set[str] = set()
        self._turns: set[asyncio.Task[None]] = set()

    def _search_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # "spawn": a forked copy of a running server (its event loop, sockets and
            # threads) is no place to search from; the child imports only game.bot.
            self._pool = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=end_with_parent,
                initargs=(os.getpid(),),
            )
        return self._pool

    def refuse_if_full(self, room_code: str) -> None:
        if room_code not in self._rooms and len(self._rooms) >= settings.TICTAC["MAX_BOT_GAMES_PER_PROCESS"]:
            raise services.ActionRefused("too_many_bots", "The server is playing all the games it can: try later.")

    def playing_in(self, room_code: str) -> None:
        self._rooms.add(room_code)

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

    def after(self, room: Room, state: RoomState) -> None:
        """A state of ``room`` was published: give the computer its turn, if it has one."""
        if _computer_mark(state.message) is None:
            self._rooms.discard(room.code)
            return
        if _computer_has_something_to_do(state.message):
            self._rooms.add(room.code)
            task = asyncio.get_running_loop().create_task(self._take_turn(room, state))
            self._turns.add(task)
            task.add_done_callback(self._turns.discard)

    async def _take_turn(self, room: Room, state: RoomState) -> None:
        try:
            answer = await self._act(room, state)
        except services.ActionRefused:
            return  # the person got there first (moved, resigned, left, took the move back)
        except Exception:
            logger.exception("the computer's turn failed", extra={"room": room.code})
            return
        if answer is not None:
            await publish(answer, lobby=answer.message["game"]["status"] in FINISHED_STATUSES)
            self.after(room, answer)

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
            self._rooms.discard(room.code)
            left = await services.aremove_computer(room)
            return None if left is None else await room_states.read(room, left)
        offer = game["offer"]
        if game["status"] == "playing" and offer is not None and offer["by"] != mark:
            # A takeback is granted (a child learning the game is the point); a draw is not.
            answered = await services.aanswer_offer(room, computer_id, accept=offer["kind"] == "takeback")
            return await room_states.read(room, answered)
        if game["status"] in FINISHED_STATUSES:
            return await room_states.read(room, await services.arequest_rematch(room, computer_id))
        level: Any = message["players"][mark]["computer"]
        board = rules.Board(room.size, room.win_length, game["board"])
        cell = await asyncio.get_running_loop().run_in_executor(self._search_pool(), bot.choose_move, board, level)
        moved = await services.aplay_move(room, computer_id, cell)
        return await room_states.read(room, moved, reuse_presence=True)


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
    if game["status"] in ("won", "draw", "resigned", "timeout", "abandoned", "aborted"):
        return bool(game["rematch"] and mark not in game["rematch"]) or not person["online"]
    return False


computer_players = ComputerPlayers()
