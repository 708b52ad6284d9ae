"""The rules of tictac: an N×N board where k marks in a row win.

This module is pure: it imports only the standard library, knows nothing of
Django, sockets or storage, and every function is deterministic. The service
layer loads a :class:`Board` from the database, asks it to :meth:`Board.play`
a move, and stores what comes back.

>>> board = Board.empty(3)
>>> board = board.play(4).play(0).play(2).play(6).play(3).play(5)
>>> board.outcome is None, board.turn
(True, 'X')
>>> print(board)
O.X/XXO/O..
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Final, Literal

Mark = Literal["X", "O"]
Cell = int
"""A cell index, row-major: ``row * size + column``."""

X: Final[Mark] = "X"
O: Final[Mark] = "O"  # noqa: E741 - the mark's name
EMPTY: Final = ""
MARKS: Final[tuple[Mark, Mark]] = (X, O)

MIN_SIZE: Final = 3
MAX_SIZE: Final = 15
MIN_WIN_LENGTH: Final = 3

# Row step, column step: right, down, down-right, down-left.
_DIRECTIONS: Final = ((0, 1), (1, 0), (1, 1), (1, -1))


def other(mark: Mark) -> Mark:
    """The opponent's mark."""
    return O if mark == X else X


class RuleError(ValueError):
    """A move the rules refuse. ``code`` is the protocol's error code."""

    code: str = "illegal_move"


class GameOverError(RuleError):
    code = "game_over"


class NotYourTurnError(RuleError):
    code = "not_your_turn"


class InvalidCellError(RuleError):
    code = "invalid_cell"


class CellTakenError(RuleError):
    code = "cell_taken"


@dataclass(frozen=True)
class Outcome:
    """How a finished game ended: a winner and its line, or a draw."""

    winner: Mark | None
    line: tuple[Cell, ...] = ()

    @property
    def is_draw(self) -> bool:
        return self.winner is None


def check_dimensions(size: int, win_length: int) -> None:
    """Raise ValueError unless ``size`` is 3..15 and ``win_length`` 3..size."""
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise ValueError(f"size must be {MIN_SIZE}..{MAX_SIZE}, not {size}")
    if not MIN_WIN_LENGTH <= win_length <= size:
        raise ValueError(f"win_length must be {MIN_WIN_LENGTH}..{size}, not {win_length}")


class Board:
    """An immutable position: the cells, the rules' dimensions and the outcome.

    The outcome is computed once, when the position is made; :meth:`play`
    only looks at the lines through the new mark, so playing is O(size).
    """

    __slots__ = ("cells", "outcome", "size", "win_length")

    size: int
    win_length: int
    cells: tuple[str, ...]
    outcome: Outcome | None

    def __init__(self, size: int, win_length: int, cells: Iterable[str]) -> None:
        check_dimensions(size, win_length)
        cells = tuple(cells)
        if len(cells) != size * size:
            raise ValueError(f"a {size}×{size} board has {size * size} cells, not {len(cells)}")
        if any(cell not in (X, O, EMPTY) for cell in cells):
            raise ValueError("cells must be 'X', 'O' or ''")
        x_count, o_count = cells.count(X), cells.count(O)
        if x_count - o_count not in (0, 1):
            raise ValueError("X moves first and the players alternate")
        self.size = size
        self.win_length = win_length
        self.cells = cells
        self.outcome = _scan_outcome(size, win_length, cells)

    @classmethod
    def empty(cls, size: int = 3, win_length: int = 3) -> Board:
        """A board with no marks."""
        return cls(size, win_length, (EMPTY,) * (size * size))

    @classmethod
    def from_string(cls, text: str, win_length: int | None = None) -> Board:
        """Build a board from rows of ``X``, ``O`` and ``.``.

        Rows are separated by ``/`` or white space; ``win_length`` defaults to
        the size.

        >>> Board.from_string("XO./.X./..O").turn
        'X'
        """
        rows = text.replace("/", " ").split()
        size = len(rows)
        cells = [EMPTY if char == "." else char for row in rows for char in row]
        return cls(size, size if win_length is None else win_length, cells)

    @classmethod
    def _after_move(cls, parent: Board, cells: tuple[str, ...], outcome: Outcome | None) -> Board:
        # Skips validation and the full scan: play() has already judged the move.
        board = object.__new__(cls)
        board.size = parent.size
        board.win_length = parent.win_length
        board.cells = cells
        board.outcome = outcome
        return board

    def __str__(self) -> str:
        return "/".join(
            "".join(cell or "." for cell in self.cells[row * self.size : (row + 1) * self.size])
            for row in range(self.size)
        )

    def __repr__(self) -> str:
        return f"Board.from_string({str(self)!r}, win_length={self.win_length})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Board):
            return NotImplemented
        return (self.size, self.win_length, self.cells) == (other.size, other.win_length, other.cells)

    def __hash__(self) -> int:
        return hash((self.size, self.win_length, self.cells))

    @property
    def move_count(self) -> int:
        return len(self.cells) - self.cells.count(EMPTY)

    @property
    def turn(self) -> Mark:
        """The mark to move next (X moves first). Meaningless once the game is over."""
        return X if self.move_count % 2 == 0 else O

    def is_game_over(self) -> bool:
        return self.outcome is not None

    def legal_moves(self) -> list[Cell]:
        """The empty cells, or none once the game is over."""
        if self.outcome is not None:
            return []
        return [cell for cell, mark in enumerate(self.cells) if mark == EMPTY]

    def play(self, cell: Cell, mark: Mark | None = None) -> Board:
        """Return the board after ``mark`` (default: whoever's turn it is) plays ``cell``.

        Checks in the protocol's order: the game is over, it is not ``mark``'s
        turn, the cell is off the board, the cell is taken.
        """
        if self.outcome is not None:
            raise GameOverError("The game is over.")
        turn = self.turn
        if mark is not None and mark != turn:
            raise NotYourTurnError(f"It is {turn}'s turn.")
        if not 0 <= cell < len(self.cells):
            raise InvalidCellError(f"Cell {cell} is not on the board (0..{len(self.cells) - 1}).")
        if self.cells[cell] != EMPTY:
            raise CellTakenError(f"Cell {cell} is already taken.")
        cells = (*self.cells[:cell], turn, *self.cells[cell + 1 :])
        line = _winning_line_through(self.size, self.win_length, cells, cell)
        if line:
            outcome: Outcome | None = Outcome(turn, line)
        elif EMPTY not in cells:
            outcome = Outcome(None)
        else:
            outcome = None
        return Board._after_move(self, cells, outcome)


def _run_through(size: int, cells: tuple[str, ...], cell: Cell, step: tuple[int, int]) -> list[Cell]:
    """The maximal run of ``cells[cell]``'s mark through ``cell`` along ``step``."""
    mark = cells[cell]
    row, column = divmod(cell, size)
    d_row, d_column = step
    run = [cell]
    for sign in (1, -1):
        r, c = row + sign * d_row, column + sign * d_column
        while 0 <= r < size and 0 <= c < size and cells[r * size + c] == mark:
            run.append(r * size + c)
            r, c = r + sign * d_row, c + sign * d_column
    return run


def _winning_line_through(size: int, win_length: int, cells: tuple[str, ...], cell: Cell) -> tuple[Cell, ...]:
    """Every cell of the runs of ``win_length`` or more through ``cell``, ascending."""
    winning: set[Cell] = set()
    for step in _DIRECTIONS:
        run = _run_through(size, cells, cell, step)
        if len(run) >= win_length:
            winning.update(run)
    return tuple(sorted(winning))


def _scan_outcome(size: int, win_length: int, cells: tuple[str, ...]) -> Outcome | None:
    """The outcome of an arbitrary position, found by scanning every line."""
    for mark in MARKS:
        line: set[Cell] = set()
        for run in _runs(size, win_length, cells, mark):
            line.update(run)
        if line:
            return Outcome(mark, tuple(sorted(line)))
    if EMPTY not in cells:
        return Outcome(None)
    return None


def _runs(size: int, win_length: int, cells: tuple[str, ...], mark: Mark) -> Iterator[list[Cell]]:
    """The maximal runs of ``mark`` that are at least ``win_length`` long."""
    for line in _lines(size):
        run: list[Cell] = []
        for cell in (*line, -1):
            if cell >= 0 and cells[cell] == mark:
                run.append(cell)
                continue
            if len(run) >= win_length:
                yield run
            run = []


@cache
def _lines(size: int) -> tuple[tuple[Cell, ...], ...]:
    """Every full row, column and diagonal of a size×size board."""
    lines: list[tuple[Cell, ...]] = []
    starts = {
        (0, 1): [(r, 0) for r in range(size)],
        (1, 0): [(0, c) for c in range(size)],
        (1, 1): [(r, 0) for r in range(size)] + [(0, c) for c in range(1, size)],
        (1, -1): [(0, c) for c in range(size)] + [(r, size - 1) for r in range(1, size)],
    }
    for (d_row, d_column), origins in starts.items():
        for row, column in origins:
            line = []
            while 0 <= row < size and 0 <= column < size:
                line.append(row * size + column)
                row, column = row + d_row, column + d_column
            lines.append(tuple(line))
    return tuple(lines)
