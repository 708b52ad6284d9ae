"""The server's own moves: ending games that nobody will end by sending something.

A flag falls when the running player's time is up, and a game whose player
left before both had moved is aborted when their away limit is reached,
even when every socket stays silent. Every process that serves sockets runs
one referee task; each asks the database for games past their deadline and
ends them through the service layer, whose compare-and-swap lets exactly
one process end a given game, and only that one announces it.

The referee also keeps the absence countdowns true when a player's worker
died: its sockets never said goodbye, so their presence only expires, and
nobody's leave started the countdown (see endings.note_presence).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Final

from channels.db import database_sync_to_async

from game.actions import endings
from game.models import Game, Room, Status
from game.realtime.broadcast import announce
from game.realtime.presence import PresenceSnapshot, presence
from game.realtime.presence_readings import last_presence

logger = logging.getLogger(__name__)

CHECK_EVERY_SECONDS: Final = 0.5
# How often the seated players' presence is compared with their games' countdowns.
PRESENCE_CHECK_EVERY_SECONDS: Final = 5.0


RoomsServed = Callable[[], list[str]]
"""The codes of the rooms this process has sockets in (empty: the referee stops)."""


class Referee:
    """One task per process and event loop, running while ``serving()`` says the process has sockets."""

    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None

    def ensure_running(self, serving: RoomsServed) -> None:
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done() or self._task.get_loop() is not loop:
            self._task = loop.create_task(self._run(serving))

    async def _run(self, serving: RoomsServed) -> None:
        presence_checked = time.monotonic()
        while serving():
            await asyncio.sleep(CHECK_EVERY_SECONDS)
            try:
                await self.end_due_games()
                if time.monotonic() - presence_checked >= PRESENCE_CHECK_EVERY_SECONDS:
                    presence_checked = time.monotonic()
                    await self.check_presence(serving())
            except Exception:
                logger.exception("referee round failed")

    async def end_due_games(self) -> int:
        """End every game that is due; how many this process ended."""
        ended = 0
        for room in await endings.adue_rooms():
            game = await endings.asettle(room)
            if game is not None:
                ended += 1
                await announce(room, game)  # a computer whose person has gone leaves too
        return ended

    async def check_presence(self, room_codes: list[str]) -> None:
        """Start or cancel countdowns in these rooms' games where presence says otherwise."""
        if not room_codes:
            return
        seen = await presence().snapshots(room_codes)
        # Kept for the moves' states, which then read none.
        for code, reading in seen.items():
            last_presence.confirm(code, reading)
        # Every room is looked at, not only those whose reading changed: a process can commit a
        # change to who the game says is here (and a move) and die before announcing it.
        for room in await _arooms_out_of_step(seen):
            game = await endings.anote_presence(room, seen[room.code].sessions)
            if game is not None:  # the computer hears of it too: its turn may have been lost with a process
                await announce(room, game)


def _rooms_out_of_step(seen: dict[str, PresenceSnapshot]) -> list[Room]:
    """The rooms among ``seen`` whose game in play has a countdown that presence contradicts.

    Every served room is looked at every round, so only the columns compared are read, not a
    Game, its Room and two Players per room: the round holds the database thread the moves
    share, and building the models was most of its time (26.6 against 4.8 ms for 150 rooms).
    """
    seats = Game.objects.filter(status=Status.PLAYING, room__code__in=list(seen)).values_list(
        "room__code",
        "player_x__session_hash",
        "player_x__bot_level",
        "x_left_at",
        "player_o__session_hash",
        "player_o__bot_level",
        "o_left_at",
    )
    out_of_step = []
    for code, *both in seats:
        sessions = seen[code].sessions
        for session_hash, bot_level, left_at in (both[:3], both[3:]):
            if session_hash is None or bot_level:  # a free seat, or the computer
                continue
            if (session_hash in sessions) == (left_at is not None):
                out_of_step.append(code)
                break
    return list(Room.objects.filter(code__in=out_of_step)) if out_of_step else []


_arooms_out_of_step = database_sync_to_async(_rooms_out_of_step)


referee = Referee()
