"""This process's last presence reading per room: reused by a move's state, and the fallback when Redis cannot be read.

Presence itself (``game.realtime.presence``) is shared by every process, in Redis;
what is here is one process's memory of what it last read there, safe to
lose. It sits beside the game cache (``game.storage.cached_games``), the process's other
per-room memory, and is bounded the same way.
"""

from __future__ import annotations

import logging
import time

from redis.exceptions import RedisError

from game.realtime.presence import PresenceSnapshot, presence
from game.storage.cached_games import RoomCache
from game.storage.per_process import kept

logger = logging.getLogger(__name__)

NOBODY = PresenceSnapshot(frozenset(), 0, 0)
"""What a room's presence is taken to be when Redis cannot be read and nothing was read before."""

# How long a move's state may reuse a reading: the gap after which it is stale. Presence changes when
# people come and go, not when they move, and every such change publishes a state carrying the reading
# made for it, which each process serving the room keeps (room_states.note_received); a newer reading not
# carried ends the reuse at once (LastPresence.forget_older_than). What nobody announces is presence that
# only expired (a dead worker's sockets): the referee reads every served room's presence every
# PRESENCE_CHECK_EVERY_SECONDS (5 s) and confirms or replaces the reading kept here (LastPresence.confirm),
# so a kept reading is never older than that while the referee runs, and a move never reads Redis. The
# bound is for a referee that stopped (a loop held up, Redis away): two of its rounds and a little more.
PRESENCE_REUSE_SECONDS = 12.0


class LastPresence:
    """The newest presence read per room, and when (this process's monotonic clock).

    It is the fallback when Redis cannot be read: a move that was committed
    must still be told, with slightly old online dots. And a move's state
    reuses it, which spares a Redis round trip on every move: it is kept
    current from the states that announce a change (:meth:`keep`) and from
    the referee's rounds (:meth:`confirm`), not by reading Redis on a move.
    """

    def __init__(self) -> None:
        self._readings: RoomCache[str, tuple[PresenceSnapshot, float]] = RoomCache()

    def reusable(self, room_code: str) -> PresenceSnapshot | None:
        """The room's reading if it is recent enough for a move's state to reuse."""
        known = self._readings.get(room_code)
        if known is None or time.monotonic() - known[1] > PRESENCE_REUSE_SECONDS:
            return None
        return known[0]

    def last(self, room_code: str) -> PresenceSnapshot | None:
        known = self._readings.get(room_code)
        return None if known is None else known[0]

    def keep(self, room_code: str, seen: PresenceSnapshot) -> None:
        """Keep ``seen`` unless a newer reading is kept already (of two readings racing here, the newer wins)."""
        known = self._readings.get(room_code)
        if known is None or known[0].read_at_us <= seen.read_at_us:
            self._readings.keep(room_code, (seen, time.monotonic()))

    def confirm(self, room_code: str, seen: PresenceSnapshot) -> bool:
        """A periodic reading (the referee's): the kept reading, if it says the same, holds as of now, under its
        own read time (so the states built from it keep their stamps, and no process needs to read again);
        if it differs (presence that expired unannounced), ``seen`` replaces it.

        Whether the room's presence changed without a state announcing it here (or this process keeps no
        reading of it): only then can its countdowns be out of step with it.
        """
        known = self._readings.get(room_code)
        if known is None:
            self.keep(room_code, seen)
            return True
        kept = known[0]
        if kept.sessions == seen.sessions and kept.anonymous == seen.anonymous:
            if kept.read_at_us <= seen.read_at_us:
                self._readings.keep(room_code, (kept, time.monotonic()))
            return False
        self.keep(room_code, seen)
        return True

    def forget_older_than(self, room_code: str, read_at_us: int) -> None:
        """A state with a newer presence reading reached this process: its own reading is out of date."""
        known = self._readings.get(room_code)
        if known is not None and known[0].read_at_us < read_at_us:
            self._readings.pop(room_code, None)

    def forget(self, room_code: str) -> None:
        self._readings.pop(room_code, None)

    def knows(self, room_code: str) -> bool:
        return room_code in self._readings

    def reset(self) -> None:
        """Hold nothing, as a new process (the tests start each from here)."""
        self._readings.clear()


last_presence = kept(LastPresence())
"""The process's one record of the presence it last read per room."""


async def read(room_code: str) -> PresenceSnapshot:
    """The room's presence now, kept as the last reading; the last known (or nobody) when Redis cannot be read."""
    try:
        seen = await presence().snapshot(room_code)
    except (RedisError, OSError):
        logger.warning("presence unreadable; using the last known", extra={"room": room_code})
        return last_presence.last(room_code) or NOBODY
    last_presence.keep(room_code, seen)
    return seen
