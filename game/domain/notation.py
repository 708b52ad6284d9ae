"""A game written down: its result in words and its text notation, one line per move.

This module is pure, like ``game.domain.rules``: it imports only the standard
library and takes plain values, so the replay views, a bot or a script can
all use it. The notation is documented in docs/protocol.md ("Game records").

>>> record = GameRecord(
...     room="friday", number=1, size=3, win_length=3, x="alice", o="bob",
...     status="won", reason="line", winner="X", moves=(4, 0, 2, 1, 6), date="2025-06-01",
... )
>>> record.result_words
'alice wins (three in a row)'
>>> print(record.text(), end="")
[Room "friday"]
[Game "1"]
[Size "3"]
[WinLength "3"]
[X "alice"]
[O "bob"]
[Result "1-0"]
[Status "won"]
[Reason "line"]
[Date "2025-06-01"]
<BLANKLINE>
1. X r2c2
2. O r1c1
3. X r1c3
4. O r1c2
5. X r3c1
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

_COUNTS = {3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine", 10: "ten"}
_COUNTS |= {11: "eleven", 12: "twelve", 13: "thirteen", 14: "fourteen", 15: "fifteen"}


def mark_of(position: int) -> str:
    """The mark that played the ``position``-th move (0-based): X moves first.

    >>> mark_of(0), mark_of(1)
    ('X', 'O')
    """
    return "X" if position % 2 == 0 else "O"


def cell_name(cell: int, size: int) -> str:
    """A cell as ``r<row>c<column>``, 1-based, as the room page's move list writes it.

    >>> cell_name(0, 3), cell_name(4, 3), cell_name(224, 15)
    ('r1c1', 'r2c2', 'r15c15')
    """
    row, column = divmod(cell, size)
    return f"r{row + 1}c{column + 1}"


def move_lines(moves: Sequence[int], size: int) -> list[str]:
    """One line per move, ``1. X r2c2``.

    >>> move_lines([4, 0], 3)
    ['1. X r2c2', '2. O r1c1']
    """
    return [f"{position + 1}. {mark_of(position)} {cell_name(cell, size)}" for position, cell in enumerate(moves)]


@dataclass(frozen=True)
class GameRecord:
    """A game as plain values: who played, how it ended and every move, in order."""

    room: str
    number: int
    size: int
    win_length: int
    x: str | None
    o: str | None
    status: str
    reason: str
    winner: str | None
    moves: tuple[int, ...]
    date: str
    """The day the game ended (or, while it is played, its last change), ``YYYY-MM-DD``, UTC."""

    def name(self, mark: str) -> str:
        """The name of whoever played ``mark``, or the mark itself when the seat was empty."""
        name = self.x if mark == "X" else self.o
        return name or mark

    @property
    def result(self) -> str:
        """``1-0`` (X won), ``0-1`` (O won), ``1/2-1/2`` (a draw) or ``*`` (no result: aborted or not over)."""
        if self.status == "draw":
            return "1/2-1/2"
        if self.winner == "X":
            return "1-0"
        if self.winner == "O":
            return "0-1"
        return "*"

    @property
    def result_words(self) -> str:
        """How the game ended, in words: "alice wins (three in a row)", "bob ran out of time — alice wins".

        >>> GameRecord("r", 1, 5, 4, "al", "bo", "timeout", "timeout", "O", (), "2025-06-01").result_words
        'al ran out of time — bo wins'
        """
        if self.status == "draw":
            return {"agreed": "Draw agreed", "claimed_draw": "Draw claimed"}.get(self.reason, "Draw")
        if self.status == "aborted":
            return "Game aborted"
        if self.status == "waiting":
            return "Not started yet" if not self.moves else "Waiting for a player"
        if self.status == "playing":
            return f"{self.name(mark_of(len(self.moves)))} to move"
        if self.winner not in ("X", "O"):
            return "Finished"
        winner = self.name(self.winner)
        loser = self.name("O" if self.winner == "X" else "X")
        if self.status == "resigned":
            return f"{loser} resigned — {winner} wins"
        if self.status == "timeout":
            return f"{loser} ran out of time — {winner} wins"
        if self.status == "abandoned":
            return f"{loser} left — {winner} wins"
        return f"{winner} wins ({_COUNTS.get(self.win_length, str(self.win_length))} in a row)"

    def headers(self) -> list[tuple[str, str]]:
        """The header block's keys and values, in the order they are written."""
        return [
            ("Room", self.room),
            ("Game", str(self.number)),
            ("Size", str(self.size)),
            ("WinLength", str(self.win_length)),
            ("X", self.x or "?"),
            ("O", self.o or "?"),
            ("Result", self.result),
            ("Status", self.status),
            ("Reason", self.reason or "?"),
            ("Date", self.date),
        ]

    def text(self) -> str:
        """The text notation: ``[Key "value"]`` lines, a blank line, then one line per move."""
        header = [f'[{key} "{_quoted(value)}"]' for key, value in self.headers()]
        return "\n".join([*header, "", *move_lines(self.moves, self.size)]) + "\n"


def _quoted(value: str) -> str:
    r"""A header value with ``\`` and ``"`` escaped by a backslash, on one line.

    >>> print(_quoted('say "hi" \\o/'))
    say \"hi\" \\o/
    """
    return " ".join(value.splitlines()).replace("\\", "\\\\").replace('"', '\\"')
