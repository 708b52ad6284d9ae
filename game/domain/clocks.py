"""Chess-style clocks for tictac: a time control and the two players' remaining time.

Pure like the rules: integers of milliseconds in, values out, no Django and
no reading of the time. The service layer passes the server's "now" in and
stores what comes back, so a clock is the same on every process and a test
can move time by hand.

>>> control = TimeControl.parse("budget:60+2")
>>> clocks = Clocks.start(control, now_ms=0)
>>> clocks.deadline_ms
60000
>>> clocks = clocks.after_move(control, now_ms=10_000)
>>> clocks.x_ms, clocks.o_ms, clocks.running, clocks.deadline_ms
(52000, 60000, 'O', 70000)
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final, Literal

from game.domain.rules import Mark, X, other

TimeControlKind = Literal["none", "move", "budget"]

# The presets a room can be made with from the lobby (the admin takes any values).
PRESETS: Final = (
    "none",
    "move:15",
    "move:30",
    "move:60",
    "budget:60+2",
    "budget:180+2",
    "budget:300+0",
    "budget:300+3",
)
MAX_SECONDS: Final = 3 * 60 * 60
# Each player's first move has a deadline of its own, clock or no clock: missing it aborts the game.
FIRST_MOVE_SECONDS: Final = 30
MAX_INCREMENT: Final = 60


@dataclass(frozen=True)
class TimeControl:
    """How much time the players get: none, ``seconds`` per move, or a ``seconds`` budget plus ``increment``."""

    kind: TimeControlKind = "none"
    seconds: int = 0
    increment: int = 0

    def __post_init__(self) -> None:
        if self.kind == "none":
            return
        if not 1 <= self.seconds <= MAX_SECONDS:
            raise ValueError(f"a time control has 1..{MAX_SECONDS} seconds, not {self.seconds}")
        if not 0 <= self.increment <= MAX_INCREMENT or (self.kind == "move" and self.increment):
            raise ValueError(f"an increment is 0..{MAX_INCREMENT} seconds, and only for a budget")

    @classmethod
    def parse(cls, text: str) -> TimeControl:
        """``none``, ``move:15`` or ``budget:60+2``; ValueError for anything else.

        >>> TimeControl.parse("move:15")
        TimeControl(kind='move', seconds=15, increment=0)
        """
        if text == "none":
            return cls()
        kind, _, amount = text.partition(":")
        seconds, _, increment = amount.partition("+")
        if kind not in ("move", "budget") or not seconds.isdigit() or (increment and not increment.isdigit()):
            raise ValueError(f"not a time control: {text!r}")
        return cls(kind, int(seconds), int(increment or 0))  # type: ignore[arg-type]

    def __str__(self) -> str:
        if self.kind == "none":
            return "none"
        if self.kind == "move":
            return f"move:{self.seconds}"
        return f"budget:{self.seconds}+{self.increment}"

    @property
    def is_on(self) -> bool:
        return self.kind != "none"

    @property
    def initial_ms(self) -> int:
        return self.seconds * 1000

    @property
    def first_move_ms(self) -> int:
        """How long a player has for their first move: FIRST_MOVE_SECONDS, or a shorter per-move limit.

        >>> TimeControl.parse("move:15").first_move_ms, TimeControl.parse("budget:60+2").first_move_ms
        (15000, 30000)
        """
        if self.kind == "move":
            return min(self.initial_ms, FIRST_MOVE_SECONDS * 1000)
        return FIRST_MOVE_SECONDS * 1000


@dataclass(frozen=True)
class Clocks:
    """Each player's remaining time when the running turn began (``since_ms``), and whose time runs."""

    x_ms: int
    o_ms: int
    running: Mark | None = None
    since_ms: int | None = None

    @classmethod
    def start(cls, control: TimeControl, now_ms: int) -> Clocks:
        """Full clocks, X's running from ``now_ms`` (X moves first once both have made their first move)."""
        return cls(control.initial_ms, control.initial_ms, X, now_ms)

    @classmethod
    def waiting(cls, control: TimeControl) -> Clocks:
        """Full clocks that do not run yet: the players still owe their first moves."""
        return cls(control.initial_ms, control.initial_ms)

    def remaining_ms(self, mark: Mark) -> int:
        """``mark``'s remaining time when the running turn began."""
        return self.x_ms if mark == X else self.o_ms

    @property
    def deadline_ms(self) -> int | None:
        """When the running player's time runs out, or None while no time runs."""
        if self.running is None or self.since_ms is None:
            return None
        return self.since_ms + self.remaining_ms(self.running)

    def has_flagged(self, now_ms: int) -> bool:
        """Whether the running player's time had run out by ``now_ms``."""
        deadline = self.deadline_ms
        return deadline is not None and now_ms >= deadline

    def _with_remaining(self, mark: Mark, value: int) -> Clocks:
        return replace(self, x_ms=value) if mark == X else replace(self, o_ms=value)

    def after_move(self, control: TimeControl, now_ms: int) -> Clocks:
        """The running player has moved at ``now_ms`` (in time): charge them, and start the other's turn.

        >>> Clocks.start(TimeControl.parse("move:15"), 0).after_move(TimeControl.parse("move:15"), 9_000)
        Clocks(x_ms=15000, o_ms=15000, running='O', since_ms=9000)
        """
        mover = self.running
        assert mover is not None, "no clock is running"
        assert self.since_ms is not None
        if control.kind == "move":
            left = control.initial_ms
        else:
            left = self.remaining_ms(mover) - (now_ms - self.since_ms) + control.increment * 1000
        return replace(self._with_remaining(mover, left), running=other(mover), since_ms=now_ms)

    def stopped(self, now_ms: int) -> Clocks:
        """Both clocks stopped at ``now_ms`` (the game ended): the running player is charged up to then."""
        if self.running is None or self.since_ms is None:
            return replace(self, running=None, since_ms=None)
        left = max(0, self.remaining_ms(self.running) - (now_ms - self.since_ms))
        return replace(self._with_remaining(self.running, left), running=None, since_ms=None)

    def restarted(self, mark: Mark, now_ms: int) -> Clocks:
        """Stopped clocks going on, ``mark``'s running from ``now_ms`` (a free seat was taken again)."""
        return replace(self, running=mark, since_ms=now_ms)

    def handed_back(self, control: TimeControl, now_ms: int) -> Clocks:
        """A takeback: the running player is charged, and the turn goes back to the other, whose clock restarts."""
        assert self.running is not None
        charged = self.stopped(now_ms)
        back_to = other(self.running)
        if control.kind == "move":
            charged = charged._with_remaining(back_to, control.initial_ms)
        return replace(charged, running=back_to, since_ms=now_ms)
