"""This process's sockets on tournament pages, and the one task that runs the arena for them.

While the process has a socket on a tournament's page, about once a second
(``TICTAC["ARENA_TICK_SECONDS"]``) its task runs the tournament's round
(game.actions.arena_rounds): every such process asks, the one holding the lease
pairs. The leader then publishes what the round did: each new room's state
(so the lobby lists the game), a ``tournament.paired`` event to the
tournament's group (every socket of the two players, on whichever process,
goes to the room), and the standings whenever they changed.

Every few seconds each process also keeps its own sockets' players present
(game.actions.tournaments.mark_present) and, from the same read, sends any of them
that is in a game it has not been sent to there: a pairing whose leader died
before telling anyone reaches its players all the same.

The lobbies are told when a tournament starts (``lobby.tournament`` to the
lobby group) by the lobby feed's task (game.realtime.lobby_feed), through
:func:`announce_started`: whichever process claims the announcement sends it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import platform
import secrets
import time
from typing import Any, Final, Protocol

from channels.layers import BaseChannelLayer, get_channel_layer
from django.conf import settings

from game.actions import arena_rounds, tournaments
from game.messages.lobby import LOBBY_GROUP
from game.realtime.broadcast import announce, group_send
from game.storage.per_process import kept

logger = logging.getLogger(__name__)

# How often a process renews its sockets' players' presence (they last tournaments.PRESENT_FOR_SECONDS).
PRESENCE_EVERY_SECONDS: Final = 3.0

HOLDER: Final = f"{platform.node()}:{os.getpid()}:{secrets.token_hex(4)}"
"""This process, as a tournament's lease names its holder (the live tests read its pid)."""


def tournament_group(tournament_id: int) -> str:
    return f"tournament.{tournament_id}"


class TournamentSocket(Protocol):
    tournament_id: int
    player_id: int | None

    async def send_paired(self, room_code: str) -> None:
        """Send the page to ``room_code`` (once per room)."""


class TournamentFeed:
    """One task per process and event loop, running while the process has sockets on tournament pages."""

    def __init__(self) -> None:
        self._sockets: dict[int, set[TournamentSocket]] = {}
        self._task: asyncio.Task[None] | None = None
        self._published: dict[int, dict[str, Any]] = {}
        """The standings this process last sent each tournament's group, while it leads."""
        self._over: set[int] = set()
        """Tournaments finished with no game left: nothing more to pair or count."""
        self._present_at: dict[int, float] = {}

    def add(self, socket: TournamentSocket) -> None:
        self._sockets.setdefault(socket.tournament_id, set()).add(socket)
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done() or self._task.get_loop() is not loop:
            self._task = loop.create_task(self._run())

    def discard(self, socket: TournamentSocket) -> bool:
        """Forget a socket; whether its player has no other socket on the page in this process."""
        sockets = self._sockets.get(socket.tournament_id, set())
        sockets.discard(socket)
        if not sockets:
            self._sockets.pop(socket.tournament_id, None)
            self._published.pop(socket.tournament_id, None)
            self._present_at.pop(socket.tournament_id, None)
            self._over.discard(socket.tournament_id)  # a host may give it more time meanwhile
        return socket.player_id is None or all(other.player_id != socket.player_id for other in sockets)

    async def _run(self) -> None:
        while self._sockets:
            await asyncio.sleep(settings.TICTAC["ARENA_TICK_SECONDS"])
            for tournament_id in list(self._sockets):
                try:
                    await self.tick(tournament_id)
                except Exception:
                    logger.exception("arena round failed", extra={"tournament": tournament_id})

    async def tick(self, tournament_id: int, layer: BaseChannelLayer | None = None) -> None:
        """Keep this process's players present (every few seconds), then run the tournament's round."""
        if time.monotonic() - self._present_at.get(tournament_id, 0.0) >= PRESENCE_EVERY_SECONDS:
            self._present_at[tournament_id] = time.monotonic()
            await self.keep_present(tournament_id)
        if tournament_id in self._over:
            return
        layer = layer or get_channel_layer()
        played = await arena_rounds.arun_round(tournament_id, HOLDER)
        if not played.leading or played.standings is None:
            self._published.pop(tournament_id, None)  # a leader again later publishes its first standings
            return
        for room, game in played.settled:
            await announce(room, game, layer=layer)
        for new in played.paired:
            await announce(new.room, new.game, layer=layer)
            event = {"type": "tournament.paired", "room": new.room.code, "players": list(new.player_ids)}
            if layer is not None:
                await group_send(layer, tournament_group(tournament_id), event)
        message = played.standings.message()
        if message != self._published.get(tournament_id) and layer is not None:
            event = {"type": "tournament.standings", "message": message, "player_ids": played.standings.player_ids}
            if await group_send(layer, tournament_group(tournament_id), event):
                self._published[tournament_id] = message
        if message["status"] == "finished" and message["games_in_play"] == 0:
            self._over.add(tournament_id)

    async def keep_present(self, tournament_id: int) -> None:
        """Mark this process's players on the page present; send each in a game not yet sent there to its room."""
        sockets = list(self._sockets.get(tournament_id, ()))
        player_ids = sorted({socket.player_id for socket in sockets if socket.player_id is not None})
        rooms = await tournaments.amark_present(tournament_id, player_ids)
        for socket in sockets:
            if socket.player_id in rooms:
                await socket.send_paired(rooms[socket.player_id])

    def reset(self) -> None:
        """Forget every socket and what was published (tests: each starts as a new process would)."""
        self._sockets.clear()
        self._published.clear()
        self._over.clear()
        self._present_at.clear()
        self._task = None


tournament_feed = kept(TournamentFeed())


async def announce_started(layer: BaseChannelLayer | None = None) -> int:
    """Tell every open lobby of each tournament that has started since; how many this process told of."""
    layer = layer or get_channel_layer()
    if layer is None:
        return 0
    started = await arena_rounds.aclaim_announcements()
    for tournament in started:
        summary = await tournaments.asummary(tournament)
        await group_send(layer, LOBBY_GROUP, {"type": "lobby.tournament", "tournament": summary})
    return len(started)
