"""The per-address limits that a run from one address (127.0.0.1) sets out of reach.

Tests, the bench and the README's demo all send every request from this
machine: with the limits a public server keeps per client address, they
would be refused after the first few sockets, rooms or sessions. One list
serves all three, so a new per-address limit is lifted everywhere at once.
"""

from __future__ import annotations

from typing import Final

PER_ADDRESS_LIMITS: Final = (
    "TICTAC_MAX_SOCKETS_PER_ADDRESS",
    "TICTAC_MAX_LOBBY_SOCKETS_PER_ADDRESS",
    "TICTAC_MESSAGES_PER_ADDRESS_PER_SECOND",
    "TICTAC_CONNECTS_PER_ADDRESS_PER_MINUTE",
    "TICTAC_LOBBY_CONNECTS_PER_ADDRESS_PER_MINUTE",
    "TICTAC_CHAT_PER_ADDRESS_PER_MINUTE",
    "TICTAC_ROOMS_PER_SESSION_PER_HOUR",
    "TICTAC_ROOMS_PER_ADDRESS_PER_HOUR",
    "TICTAC_MAX_WAITING_ROOMS_PER_CREATOR",
    "TICTAC_MAX_SEEKS_PER_ADDRESS",
    "TICTAC_SEEKS_PER_SESSION_PER_HOUR",
    "TICTAC_SEEKS_PER_ADDRESS_PER_HOUR",
    "TICTAC_SEEK_CONNECTS_PER_ADDRESS_PER_MINUTE",
    "TICTAC_TOURNAMENT_JOINS_PER_SESSION_PER_HOUR",
    "TICTAC_TOURNAMENT_JOINS_PER_ADDRESS_PER_HOUR",
    "TICTAC_NEW_SESSIONS_PER_ADDRESS_PER_HOUR",
    "TICTAC_COMPUTER_GAMES_PER_ADDRESS_PER_HOUR",
    "TICTAC_SIGNUPS_PER_ADDRESS_PER_HOUR",
    "TICTAC_ANALYSES_PER_ADDRESS_PER_HOUR",
)
"""The settings (environment variables) of every limit counted per client address or per session."""

LIMITS_OFF: Final = {name: "1000000" for name in PER_ADDRESS_LIMITS}
"""Each of them out of reach, as environment variables for a server process."""
