"""Which room states one socket shows, in what order.

States reach a socket from several processes (its own answers, and the room's
group) and may arrive out of order: a move committed on one worker can be
published after the next move, committed on another, was. Each carries its
stamp, ``(game number, game version, presence read time)``, larger being
newer (:data:`StateStamp`). A socket never lets an older state replace a
newer one, and skips a repeat of one it has shown.

Every change of a game bumps its version (``Game.version``, the
compare-and-swap counter) by one and is published to the whole room, so a
state whose game version is more than one past the last shown means the
ones between are still on their way. Such a state is held
until they arrive, so that every socket shows every move, in order (a page
announces "Alice played the centre" from the state that carries it). A gap
that is not filled within ``HOLD_SECONDS`` is given up: the held states are
shown in order, each a full snapshot of the room. A state the socket asked
for (``sync``, its seat) is shown at once: the page wants the room as it is.
"""

from __future__ import annotations

from typing import Generic, TypeVar

StateStamp = tuple[int, int, int]
"""(game number, ``Game.version``, presence read time in µs of Redis's clock): larger is newer.
Made by ``state.build``; carried between processes as the group event's ``stamp``."""
Payload = TypeVar("Payload")

HOLD_SECONDS = 2.0
"""How long a socket waits for the states of a gap before it shows what it holds. Every change is
published, so a gap fills as soon as the missing state arrives; this only bounds a change nobody
published, and must outlast a loaded worker's delay (0.5 s was seen to fall short in CI)."""


class StateOrder(Generic[Payload]):
    """What one socket has shown, and which of the states reaching it to show next.

    Each state comes with a payload (whatever the socket sends for it);
    :meth:`offer` and :meth:`release` answer the payloads to send now, oldest
    first.
    """

    __slots__ = ("_held", "last")

    def __init__(self) -> None:
        self.last: StateStamp | None = None
        """The stamp of the newest state shown, or None before the first."""
        self._held: dict[StateStamp, Payload] = {}

    @property
    def holding(self) -> bool:
        """Whether states wait for a gap before them to be filled (the caller then calls :meth:`release` later)."""
        return bool(self._held)

    def offer(self, stamp: StateStamp, payload: Payload, *, force: bool = False) -> list[Payload]:
        """The payloads to show now, oldest first, now that a state stamped ``stamp`` has arrived.

        ``force`` shows a state at once (an answer the socket asked for, a
        resync), even one not newer than the last shown, or past a gap; it
        becomes the last only if it is newer.
        """
        last = self.last
        if last is not None and stamp <= last:
            return [payload] if force else []
        if not force and last is not None and stamp[0] == last[0] and stamp[1] > last[1] + 1:
            self._held[stamp] = payload  # the game versions between are on their way
            return []
        return self._show(stamp, payload)

    def release(self) -> list[Payload]:
        """Give up waiting: every held state's payload, oldest first."""
        held, self._held = sorted(self._held.items()), {}
        shown = []
        for stamp, payload in held:
            if self.last is None or stamp > self.last:
                self.last = stamp
                shown.append(payload)
        return shown

    def _show(self, stamp: StateStamp, payload: Payload) -> list[Payload]:
        # A new game: the last one's held moves first, even with a gap among them.
        new_game = self.last is not None and stamp[0] > self.last[0]
        shown = self.release() if new_game else []
        self.last = stamp
        shown.append(payload)
        while self._held:  # the held states the gap was waiting for this one to fill
            following = min(self._held)
            if following <= self.last:
                del self._held[following]  # a repeat of one shown meanwhile
                continue
            if following[0] == self.last[0] and following[1] > self.last[1] + 1:
                break
            self.last = following
            shown.append(self._held.pop(following))
        return shown

    def misses_a_presence_change(self, stamp: StateStamp) -> bool:
        """Whether a state stamped ``stamp`` is too old to show yet read presence after the one shown.

        Someone came or went while a newer move was published with the
        presence read before it: the socket must read the room again, or it
        keeps showing who was there before.
        """
        last = self.last
        return last is not None and stamp[:2] < last[:2] and stamp[2] > last[2]
