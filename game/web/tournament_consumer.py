"""A tournament page's socket, at ``ws/tournaments/<id>/``: the standings live, and the way to each game.

On connect the socket gets the tournament (its standings, and ``you``: this
session's place in it); then the tournament again whenever its standings
change, and, for a player, ``paired`` with the room of each new game. While it
is open its player counts as present (game.actions.tournaments.mark_present): only a
present player is paired. Who the socket is comes from the session cookie;
the socket only pings.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from game.actions import identities, tournaments
from game.realtime import budgets
from game.realtime.metrics import MESSAGES_REFUSED
from game.realtime.tournament_feed import tournament_feed, tournament_group
from game.web.access import socket_address
from game.web.lobby_consumer import ListeningConsumer
from game.web.socket_session import session_from_headers
from game.web.sockets import CLOSE_INTERNAL_ERROR, CLOSE_TOO_MANY_SOCKETS

logger = logging.getLogger(__name__)

CLOSE_UNKNOWN_TOURNAMENT = 4404


class TournamentConsumer(ListeningConsumer):
    """One socket on a tournament's page."""

    tournament_id: int
    player_id: int | None = None
    """The session's player, if it has one (a spectator's may have none)."""
    sent_to: str | None = None
    """The room this socket last sent its page to."""
    joined_group = False

    async def connect(self) -> None:
        await self.accept()
        self.tournament_id = int(self.scope["url_route"]["kwargs"]["tournament_id"])
        address = socket_address(self.scope)
        if address and not await budgets.spend("connect_per_address", address):
            MESSAGES_REFUSED.labels("too_many_connects").inc()
            await self.close(code=CLOSE_TOO_MANY_SOCKETS)
            return
        try:
            tournament = await tournaments.aget_tournament(self.tournament_id)
            if tournament is None:
                await self.close(code=CLOSE_UNKNOWN_TOURNAMENT)
                return
            identity = await identities.aidentify(session_from_headers(self.scope["headers"]))
            self.player_id = identity.player_id
            await self.channel_layer.group_add(tournament_group(self.tournament_id), self.channel_name)
            self.joined_group = True
            tournament_feed.add(self)
            rooms = await tournaments.amark_present(self.tournament_id, [self.player_id] if self.player_id else [])
            standings = await tournaments.aread_standings(tournament)
        except Exception:
            logger.exception("tournament socket failed", extra={"tournament": self.tournament_id})
            await self.close(code=CLOSE_INTERNAL_ERROR)
            return
        await self._send_tournament(standings.message(), standings.player_ids)
        if self.player_id in rooms:
            await self.send_paired(rooms[self.player_id])

    async def disconnect(self, code: int) -> None:
        if not self.joined_group:
            return
        self.joined_group = False
        last_here = tournament_feed.discard(self)
        try:
            await self.channel_layer.group_discard(tournament_group(self.tournament_id), self.channel_name)
            if last_here and self.player_id is not None:
                await tournaments.amark_gone(self.tournament_id, self.player_id)
        except Exception:  # the mark of presence runs out on its own
            logger.warning("tournament socket cleanup failed", exc_info=True)

    async def send_paired(self, room_code: str) -> None:
        if room_code == self.sent_to:
            return
        self.sent_to = room_code
        await self.send(text_data=json.dumps({"type": "paired", "room": room_code, "url": f"/rooms/{room_code}/"}))

    async def _send_tournament(self, message: dict[str, Any], player_ids: list[int]) -> None:
        await self.send(text_data=json.dumps(tournaments.with_you(message, player_ids, self.player_id)))

    # --- Group messages (game.realtime.tournament_feed) ---------------------------------------------------

    async def tournament_standings(self, event: dict[str, Any]) -> None:
        await self._send_tournament(event["message"], event["player_ids"])

    async def tournament_paired(self, event: dict[str, Any]) -> None:
        if self.player_id is not None and self.player_id in event["players"]:
            await self.send_paired(event["room"])
