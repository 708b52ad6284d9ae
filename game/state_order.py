"""Which room states one socket shows, in what order.

States reach a socket from several processes (its own answers, and the room's
group) and may arrive out of order. Each carries its version, ``(game number,
game version, presence read time)``, larger being newer (``state.Version``):
a socket never lets an older state replace a newer one, and skips a repeat of
one it has shown.
"""

from __future__ import annotations


class StateOrder:
    """The newest state version one socket has shown, and what that lets it show next."""

    __slots__ = ("last",)

    def __init__(self) -> None:
        self.last: tuple[int, int, int] | None = None
        """The newest version shown, or None before the first."""

    def admit(self, version: tuple[int, int, int], *, force: bool = False) -> bool:
        """Whether to show a state of ``version``, noting it if it is the newest yet.

        ``force`` shows it whatever came before (an answer the socket asked
        for, a resync); it still becomes the last only if it is newer.
        """
        if not force and self.last is not None and version <= self.last:
            return False
        if self.last is None or version > self.last:
            self.last = version
        return True

    def misses_a_presence_change(self, version: tuple[int, int, int]) -> bool:
        """Whether a state of ``version`` is too old to show yet read presence after the one shown.

        Someone came or went while a newer move was published with the
        presence read before it: the socket must read the room again, or it
        keeps showing who was there before.
        """
        last = self.last
        return last is not None and version[:2] < last[:2] and version[2] > last[2]
