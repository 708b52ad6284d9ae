"""This process's lobby sockets, and the one task that keeps them current between publishes.

Every change a page or a task makes to a room is published to the lobby
group (game.realtime.broadcast), which is how a room enters or leaves an open
lobby's list at once. Two things have nobody to publish them: the live
line's counts, and a room whose player's server process died (its sockets
never said goodbye; their presence just expires). So while this process
has lobby sockets, one task reads the lobby every ``EVERY_SECONDS`` and
sends its sockets the counts when they changed, and a ``room`` update for
each room they were shown that is no longer listed. Each process reads for
its own sockets: nothing is sent through the group, and a process without
lobby sockets reads nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Final, Protocol

from game.messages.lobby import Lobby, LobbyStats
from game.realtime.lobby_reads import aread_lobby
from game.realtime.tournament_feed import announce_started
from game.storage.per_process import kept

logger = logging.getLogger(__name__)

EVERY_SECONDS: Final = 5.0


class LobbySocket(Protocol):
    async def send(self, text_data: str | None = None, bytes_data: bytes | None = None, close: bool = False) -> None:
        """Send a frame (one to a client that has gone is dropped)."""


class LobbyFeed:
    """One task per process and event loop, running while the process has lobby sockets."""

    def __init__(self, *, every: float = EVERY_SECONDS) -> None:
        self.every = every
        self._sockets: set[LobbySocket] = set()
        self._task: asyncio.Task[None] | None = None
        self._stats: LobbyStats | None = None
        self._shown: set[str] = set()
        """Rooms this process's sockets may list: each read's listed rooms, and those published since."""
        self._published: set[str] = set()
        """Rooms published during the read in progress: the read may be older than what the sockets show."""

    def add(self, socket: LobbySocket, lobby: Lobby) -> None:
        """A socket was sent ``lobby``: keep it current from now on."""
        self._sockets.add(socket)
        self._shown |= lobby.listed_codes
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done() or self._task.get_loop() is not loop:
            self._stats = lobby.stats
            self._task = loop.create_task(self._run())

    def discard(self, socket: LobbySocket) -> None:
        self._sockets.discard(socket)

    def note(self, summary: dict[str, Any]) -> None:
        """A room's summary reached this process's sockets through the lobby group."""
        self._published.add(summary["code"])
        if summary.get("listed"):
            self._shown.add(summary["code"])
        else:
            self._shown.discard(summary["code"])

    async def _run(self) -> None:
        while self._sockets:
            await asyncio.sleep(self.every)
            try:
                await self.update()
                await announce_started()  # every open lobby hears of a tournament that started
            except Exception:
                logger.warning("lobby update failed", exc_info=True)

    async def update(self) -> None:
        """Read the lobby; send the sockets what changed that nobody published."""
        shown = set(self._shown)
        self._published.clear()
        lobby = await aread_lobby(also=shown)
        frames = [
            json.dumps({"type": "room", "room": lobby.summaries[code]})
            for code in sorted(shown - lobby.listed_codes - self._published)
            if code in lobby.summaries
        ]
        if lobby.stats != self._stats:
            frames.append(json.dumps(lobby.stats.message()))
        self._stats = lobby.stats
        # What the read lists, and what was published as listed while it was made.
        self._shown = set(lobby.listed_codes) | {
            code for code in self._shown if code in self._published or code not in shown
        }
        if frames:
            await asyncio.gather(*(self._send(socket, frames) for socket in list(self._sockets)))

    @staticmethod
    async def _send(socket: LobbySocket, frames: list[str]) -> None:
        for frame in frames:
            await socket.send(text_data=frame)

    def reset(self) -> None:
        """Forget every socket (tests: each starts as a new process would)."""
        self._sockets.clear()
        self._shown.clear()
        self._published.clear()
        self._stats = None
        self._task = None


lobby_feed = kept(LobbyFeed())
