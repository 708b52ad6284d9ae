"""Two players seated in a room through the service layer, as their sockets' joins would seat them.

The ``seated_pair`` fixture (game/tests/conftest.py) is one such room; ``seat_pair`` seats two
in a room a test made itself (a second room, a clock, names of its own). Over sockets, the
``players`` fixture is the same pair.
"""

from __future__ import annotations

from typing import NamedTuple

from game.actions import identities, seating
from game.models import Room

# The two sessions behind the seats: fixed, so that a test can come back as either player.
X_SESSION = "a" * 32
O_SESSION = "b" * 32


class SeatedPair(NamedTuple):
    """A room whose game is on, with its X's and its O's Player ids: unpacks as ``room, x, o``."""

    room: Room
    x: int
    o: int

    @property
    def x_identity(self) -> identities.Identity:
        """X's session, as the server knows it: joining again with it re-attaches to the X seat."""
        return identities.Identity(session_key=X_SESSION)

    @property
    def o_identity(self) -> identities.Identity:
        return identities.Identity(session_key=O_SESSION)


def seat_pair(room: Room, x_name: str = "alice", o_name: str = "bob") -> SeatedPair:
    """Seat ``x_name`` (X, the first to join) and ``o_name`` (O) in ``room``: its game starts."""
    _, x = seating.join(room, identities.Identity(session_key=X_SESSION), x_name)
    _, o = seating.join(room, identities.Identity(session_key=O_SESSION), o_name)
    return SeatedPair(room, x.id, o.id)
