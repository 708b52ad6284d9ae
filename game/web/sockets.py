"""What every tictac socket shares: the base consumer, its close codes and its checks of a frame.

The consumers (room_consumer, lobby_consumer, pool_consumer) are transport only: they check a
frame, parse it, hand the action to the actions (game.actions), and publish the resulting state
to the room's group.
Who a socket is comes from its session when it connects, never from what it
writes.
"""

from __future__ import annotations

import logging
from typing import Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from game.realtime.presence import SocketCounts
from game.storage import session_lifetime

logger = logging.getLogger(__name__)

akeep_session = database_sync_to_async(session_lifetime.keep)

# Close codes beyond RFC 6455's, documented in docs/protocol.md.
CLOSE_UNKNOWN_ROOM = 4404
CLOSE_ROOM_CLOSED = 4410
CLOSE_KICKED = 4409
CLOSE_TOO_MANY_SOCKETS = 4429
CLOSE_TOO_BIG = 1009
CLOSE_TOO_FAR_BEHIND = 1013
CLOSE_INTERNAL_ERROR = 1011


def too_many_sockets(counts: SocketCounts) -> bool:
    limits: dict[str, int] = settings.TICTAC
    return (
        counts.in_room > limits["MAX_SOCKETS_PER_ROOM"]
        or counts.of_session > limits["MAX_SOCKETS_PER_SESSION"]
        or counts.of_address > limits["MAX_SOCKETS_PER_ADDRESS"]
    )


def countdowns_out_of_step(state: dict[str, Any]) -> bool:
    """Whether a game in play shows a seated player here but counting down, or gone without a countdown."""
    game = state["game"]
    if game["status"] != "playing":
        return False
    return any(
        seat is not None and seat["online"] == (mark in game["absent"]) for mark, seat in state["players"].items()
    )


def frame_size(text_data: str | None, bytes_data: bytes | None) -> int:
    """A frame's size in bytes, as the client sent it."""
    if bytes_data is not None:
        return len(bytes_data)
    return len((text_data or "").encode())


class SocketConsumer(AsyncWebsocketConsumer):
    """What the room and lobby consumers share: how they dispatch, and how they send."""

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Dispatch each message straight to its handler.

        Channels' ``AsyncConsumer.dispatch`` first awaits ``aclose_old_connections``
        for every message, a hop to the process's single database thread: every
        state fanned out to every socket queued behind the moves being stored.
        Our handlers reach the database only through ``database_sync_to_async``,
        which closes old connections itself, so the extra hop is dropped.
        """
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def send(self, text_data: str | None = None, bytes_data: bytes | None = None, close: bool = False) -> None:
        """Send a frame; one to a client that has already gone is dropped.

        ASGI servers raise an ``OSError`` for a send after the client went away
        (uvicorn's ``ClientDisconnected``); daphne drops it silently. Either
        way the disconnect message follows and does the cleaning up, and what
        was being done when the send failed (a move's broadcast to the room)
        must still be finished.
        """
        try:
            await super().send(text_data, bytes_data, close)
        except Exception:
            # uvicorn raises OSError (ClientDisconnected), or RuntimeError for a
            # send after the close it already sent; daphne raises autobahn's
            # Disconnected. Any of them escaping would end the consumer before
            # it leaves its room, leaving a ghost present for ever.
            logger.debug("send after the client went away", extra={"channel": self.channel_name})

    async def close(self, code: int | bool | None = None, reason: str | None = None) -> None:
        """Close from the server's end; a client that has already gone needs no close.

        Raised out of a handler, the error would end the consumer before it
        reads the disconnect message that is waiting for it, and its socket
        would never leave its room: its presence would be refreshed for ever.
        """
        try:
            await super().close(code, reason)
        except Exception:
            logger.debug("close after the client went away", extra={"channel": self.channel_name})
