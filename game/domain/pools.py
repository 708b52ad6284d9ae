"""Quick play's pools: which seeks may be paired, named by a key that pages and Redis share.

A pool is a board variant and a time control. Two seeks are paired only
when they are in the same pool, so a pool's key is what a seek waits under
(in Redis) and what a page posts to join it. Quick play is always clocked:
a pool without a clock would let a player who never moves hold the other
for ever. Pure: no Django, no I/O.

>>> pool = Pool.parse("3x3-move:15")
>>> pool.size, pool.win_length, pool.time_control
(3, 3, 'move:15')
>>> pool.key
'3x3-move:15'
>>> Pool.for_room(7, 4, "none").key
'7x4-move:30'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from game.domain import clocks, rules

# The clock a room without one is paired under when its players ask for a new opponent.
DEFAULT_TIME_CONTROL: Final = "move:30"


@dataclass(frozen=True)
class Pool:
    size: int
    win_length: int
    time_control: str
    """A clock of ``clocks.TimeControl.parse``'s form, never ``none``."""

    def __post_init__(self) -> None:
        rules.check_dimensions(self.size, self.win_length)
        if not clocks.TimeControl.parse(self.time_control).is_on:
            raise ValueError("quick play is always clocked")

    @classmethod
    def parse(cls, key: str) -> Pool:
        """The pool a key names (``<size>x<win_length>-<time control>``); ValueError for anything else."""
        board, _, time_control = key.partition("-")
        size, _, win_length = board.partition("x")
        if not (size.isdigit() and win_length.isdigit()) or len(key) > 40:
            raise ValueError(f"not a pool: {key[:40]!r}")
        try:
            control = clocks.TimeControl.parse(time_control)
            pool = cls(int(size), int(win_length), str(control))
        except (ValueError, rules.RuleError) as error:
            raise ValueError(f"not a pool: {key[:40]!r}") from error
        if pool.key != key:
            raise ValueError(f"not a pool: {key[:40]!r}")  # one key per pool: "03x3" is not "3x3"
        return pool

    @classmethod
    def for_room(cls, size: int, win_length: int, time_control: str) -> Pool:
        """The pool a room's players go to for a new opponent: its own settings, clocked."""
        control = clocks.TimeControl.parse(time_control)
        return cls(size, win_length, str(control) if control.is_on else DEFAULT_TIME_CONTROL)

    @property
    def key(self) -> str:
        return f"{self.size}x{self.win_length}-{self.time_control}"

    @property
    def label(self) -> str:
        """What a button says, e.g. ``3×3 · 15 s a move`` or ``7×7, 4 in a row · 3+2``."""
        board = f"{self.size}×{self.size}"
        if self.win_length != self.size:
            board += f", {self.win_length} in a row"
        control = clocks.TimeControl.parse(self.time_control)
        if control.kind == "move":
            return f"{board} · {control.seconds} s a move"
        minutes = control.seconds // 60 if control.seconds % 60 == 0 else control.seconds / 60
        return f"{board} · {minutes}+{control.increment}"


# The lobby's one-click buttons, lichess's pools for this game.
PRESETS: Final = (
    Pool(3, 3, "move:15"),
    Pool(3, 3, "budget:60+2"),
    Pool(7, 4, "budget:180+2"),
    Pool(15, 5, "budget:300+3"),
)
DEFAULT: Final = PRESETS[0]
