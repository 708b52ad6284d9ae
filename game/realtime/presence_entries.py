"""What presence knows a socket by, and what a reading of a room's presence is (game.realtime.presence).

Shared by both stores, the Redis one (game.realtime.presence_redis) and the
in-memory one (game.realtime.presence): the keys a socket is kept under in
Redis, and the snapshot a reading of a room gives.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

ROOM_KEY_PREFIX = "tictac:presence:"
# Every room's last moment with someone present, in epoch seconds: what the lobby ranks by. One
# such set per shard, of the rooms on it: written in the pipeline that writes the room's presence.
ACTIVITY_KEY = "tictac:room-activity"
# Activity older than this is dropped from the set now and then (the lobby looks back 10 minutes).
ACTIVITY_KEPT_SECONDS = 24 * 60 * 60
_SESSION_PREFIX = "tictac:session-sockets:"
_ADDRESS_PREFIX = "tictac:address-sockets:"
_LOBBY_ADDRESS_PREFIX = "tictac:lobby-sockets:"
ANONYMOUS = "-"


@dataclass(frozen=True)
class SocketCounts:
    in_room: int
    of_session: int
    of_address: int = 0
    """Room sockets open from the socket's IP address, in every room and process."""


class SocketEntry(NamedTuple):
    """What presence knows a socket by."""

    room_code: str
    connection_id: str
    session: str | None
    """The session's hash (never its key), or None for a socket without a session."""
    address: str | None = None
    """The client's IP address, for the per-address socket count."""


class LobbySocketEntry(NamedTuple):
    """A lobby socket, counted per client address only (the lobby has no presence of its own)."""

    connection_id: str
    address: str


@dataclass(frozen=True)
class PresenceSnapshot:
    """The sessions with at least one open socket, and sockets without a session."""

    sessions: frozenset[str]
    anonymous: int
    read_at_us: int
    """When it was read, in microseconds of Redis's clock."""

    def spectators(self, seated_sessions: set[str]) -> int:
        """People watching: sessions that hold no seat, plus sockets without a session."""
        return len(self.sessions - seated_sessions) + self.anonymous


def _session_sockets_key(connection_id: str, session: str | None) -> str:
    """The key of a session's sockets (a socket without a session is a session of its own)."""
    return _SESSION_PREFIX + (session or ANONYMOUS + connection_id)


def member_name(connection_id: str, session: str | None) -> str:
    return f"{session or ANONYMOUS}|{connection_id}"


def keyed_members(entry: SocketEntry | LobbySocketEntry) -> list[tuple[str, str]]:
    """The sorted sets a socket is a member of, and its member name in each: its room's, its
    session's, and its address's when known (a lobby socket: its address's lobby sockets)."""
    if isinstance(entry, LobbySocketEntry):
        return [(_LOBBY_ADDRESS_PREFIX + entry.address, entry.connection_id)]
    keyed = [
        (ROOM_KEY_PREFIX + entry.room_code, member_name(entry.connection_id, entry.session)),
        (_session_sockets_key(entry.connection_id, entry.session), entry.connection_id),
    ]
    if entry.address:
        keyed.append((_ADDRESS_PREFIX + entry.address, entry.connection_id))
    return keyed


def snapshot_of(members: list[str], read_at_us: int) -> PresenceSnapshot:
    sessions = set()
    anonymous = 0
    for member in members:
        session = member.split("|", 1)[0]
        if session == ANONYMOUS:
            anonymous += 1
        else:
            sessions.add(session)
    return PresenceSnapshot(frozenset(sessions), anonymous, read_at_us)
