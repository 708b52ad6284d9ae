"""Sockets that only listen: the base of the lobby's and the waiting page's, and the lobby's own."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings

from game.domain import protocol
from game.messages.lobby import LOBBY_GROUP
from game.realtime import budgets
from game.realtime.lobby_feed import lobby_feed
from game.realtime.lobby_reads import aread_lobby
from game.realtime.local_sockets import local_sockets
from game.realtime.metrics import MESSAGES_REFUSED
from game.realtime.presence import LobbySocketEntry, presence
from game.web.access import socket_address
from game.web.sockets import CLOSE_TOO_BIG, CLOSE_TOO_MANY_SOCKETS, SocketConsumer, frame_size, logger


class ListeningConsumer(SocketConsumer):
    """A socket that only listens (the lobby's, quick play's waiting page): a ping is answered, so
    that its page can keep it alive; anything else is ignored, and an oversized frame closes it."""

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if frame_size(text_data, bytes_data) > settings.TICTAC["MAX_FRAME_BYTES"]:
            await self.close(code=CLOSE_TOO_BIG)
            return
        try:
            message = protocol.parse(text_data or "")
        except protocol.ProtocolError:
            return
        if isinstance(message, protocol.Ping):
            await self.send(text_data='{"type":"pong"}')


class LobbyConsumer(ListeningConsumer):
    """The lobby's live list (open challenges, games to watch) and its live line, at ``ws/lobby/``."""

    counted: LobbySocketEntry | None = None
    """How presence counts this socket against its address's lobby sockets, while it does."""

    async def connect(self) -> None:
        await self.accept()
        address = socket_address(self.scope)
        if address:
            if not await budgets.spend("lobby_connect_per_address", address):
                await self._refuse()
                return
            self.counted = LobbySocketEntry(self.channel_name, address)
            local_sockets.add_lobby(self.counted)
            if await presence().add_lobby_socket(self.counted) > settings.TICTAC["MAX_LOBBY_SOCKETS_PER_ADDRESS"]:
                await self._refuse()
                return
        await self.channel_layer.group_add(LOBBY_GROUP, self.channel_name)
        lobby = await aread_lobby()
        await self.send(text_data=json.dumps({"type": "rooms", "rooms": lobby.rooms}))
        await self.send(text_data=json.dumps(lobby.stats.message()))
        lobby_feed.add(self, lobby)

    async def _refuse(self) -> None:
        MESSAGES_REFUSED.labels("too_many_sockets").inc()
        await self.close(code=CLOSE_TOO_MANY_SOCKETS)

    async def disconnect(self, code: int) -> None:
        lobby_feed.discard(self)
        if self.counted is not None:
            local_sockets.discard_lobby(self.counted)
            try:
                await presence().remove_lobby_socket(self.counted)
            except Exception:  # its entry expires with the TTL
                logger.warning("lobby socket removal failed", exc_info=True)
            self.counted = None
        await self.channel_layer.group_discard(LOBBY_GROUP, self.channel_name)

    async def lobby_room(self, event: dict[str, Any]) -> None:
        lobby_feed.note(event["room"])
        await self.send(text_data=json.dumps({"type": "room", "room": event["room"]}))

    async def lobby_tournament(self, event: dict[str, Any]) -> None:
        """A tournament started (game.realtime.tournament_feed.announce_started)."""
        await self.send(text_data=json.dumps({"type": "tournament", "tournament": event["tournament"]}))
