"""Channels' consumer dispatch, without its hop to the database thread for every message.

Channels' ``AsyncConsumer.dispatch`` first awaits ``aclose_old_connections``
for every message, a hop to the process's single database thread: every
state fanned out to every socket queued behind the moves being stored.
tictac's consumers reach the database only through ``database_sync_to_async``,
which closes old connections itself, so :class:`DirectDispatch` is
Channels' dispatch less that hop: a copy of private behaviour, so it is
guarded as the other patches are.
"""

from __future__ import annotations

from typing import Any, Final

from channels.consumer import get_handler_name

WRITTEN_FOR: Final = {"channels": "4.3"}
"""The releases this was written for, checked at start-up (tictac.servers.written_for);
game/tests/test_upgrade_channels_internals.py checks what is used here."""


class DirectDispatch:
    """Put first among a Channels consumer's bases: each message goes straight to its handler."""

    async def dispatch(self, message: dict[str, Any]) -> None:
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)
