"""A board as the computer's search sees it: windows of k cells, their counts and the threats in them.

Pure, like :mod:`game.domain.search`, which plays and takes back moves on a
:class:`Position`; the weaker levels (:mod:`game.domain.weaker_levels`) read
the same tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Final

from game.domain import rules
from game.domain.rules import Board, Cell

Side = int
"""0 for X, 1 for O: an index into the per-side tables of :class:`Position`."""

WIN: Final = 1 << 60
"""A won position's score before the distance to the win is taken off; beyond any evaluation."""


@dataclass(frozen=True)
class _Geometry:
    """The fixed shapes of a size×k board, computed once per variant.

    A *window* is k consecutive cells on a line: a side can only win by
    filling one, so the evaluation and the threat tables are kept per window.
    """

    size: int
    win_length: int
    windows: tuple[tuple[Cell, ...], ...]
    cell_windows: tuple[tuple[int, ...], ...]
    """For each cell, the windows it lies in: the only ones a move there changes."""
    neighbours: tuple[tuple[Cell, ...], ...]
    """For each cell, the cells up to two steps away along a line: where sensible replies lie."""
    weights: tuple[int, ...]
    """A window holding ``n`` marks of one side and none of the other is worth ``weights[n]``."""


@cache
def _geometry(size: int, win_length: int) -> _Geometry:
    windows: list[tuple[Cell, ...]] = []
    cell_windows: list[list[int]] = [[] for _ in range(size * size)]
    steps = ((0, 1), (1, 0), (1, 1), (1, -1))
    for d_row, d_column in steps:
        for row in range(size):
            for column in range(size):
                end_row, end_column = row + (win_length - 1) * d_row, column + (win_length - 1) * d_column
                if not (0 <= end_row < size and 0 <= end_column < size):
                    continue
                window = tuple((row + i * d_row) * size + column + i * d_column for i in range(win_length))
                for cell in window:
                    cell_windows[cell].append(len(windows))
                windows.append(window)
    neighbours: list[tuple[Cell, ...]] = []
    for cell in range(size * size):
        row, column = divmod(cell, size)
        near = [
            (row + sign * distance * d_row) * size + column + sign * distance * d_column
            for d_row, d_column in steps
            for sign in (1, -1)
            for distance in (1, 2)
            if 0 <= row + sign * distance * d_row < size and 0 <= column + sign * distance * d_column < size
        ]
        neighbours.append(tuple(near))
    # Each extra mark in a window is worth eight times the last: one window a
    # mark short of a threat outweighs a handful of thinner ones.
    weights = (0, *(8 ** (count - 1) for count in range(1, win_length + 1)))
    return _Geometry(
        size,
        win_length,
        tuple(windows),
        tuple(tuple(ids) for ids in cell_windows),
        tuple(neighbours),
        weights,
    )


def side_of(mark: rules.Mark) -> Side:
    return 0 if mark == rules.X else 1


@cache
def centre_first(size: int) -> tuple[Cell, ...]:
    """Every cell, nearest the centre first (ties row-major): a deterministic, natural order."""
    middle = (size - 1) / 2
    return tuple(
        sorted(range(size * size), key=lambda cell: (abs(cell // size - middle) + abs(cell % size - middle), cell))
    )


def centre(size: int) -> Cell:
    return centre_first(size)[0]


class Position:
    """A mutable copy of a board that the search plays and takes back moves on.

    Beside the cells it keeps, per window, how many marks each side has in
    it, so a move updates only the windows through its cell (20 on 15×15
    with k=5) rather than rescanning the board. From those counts it keeps
    the evaluation (X's point of view) and each side's *threat windows*: one
    mark short of k with none of the other side's, whose empty cell wins.
    """

    __slots__ = ("cells", "counts", "geometry", "near", "score", "threats")

    def __init__(self, board: Board) -> None:
        self.geometry = _geometry(board.size, board.win_length)
        self.cells = [0] * (board.size * board.size)
        """0 empty, 1 X, 2 O."""
        window_count = len(self.geometry.windows)
        self.counts = ([0] * window_count, [0] * window_count)
        self.threats: tuple[set[int], set[int]] = (set(), set())
        self.near = [0] * (board.size * board.size)
        """How many marks lie within a neighbour step of each cell: candidates have some."""
        self.score = 0
        for cell, mark in enumerate(board.cells):
            if mark != rules.EMPTY:
                self.place(cell, side_of(mark))  # type: ignore[arg-type]

    def place(self, cell: Cell, side: Side) -> None:
        geometry = self.geometry
        weights = geometry.weights
        threat_count = geometry.win_length - 1
        mine, theirs = self.counts[side], self.counts[1 - side]
        my_threats, their_threats = self.threats[side], self.threats[1 - side]
        gain = 0
        for window in geometry.cell_windows[cell]:
            count, other = mine[window], theirs[window]
            mine[window] = count + 1
            if other == 0:
                gain += weights[count + 1] - weights[count]
                if count + 1 == threat_count:
                    my_threats.add(window)
                elif count == threat_count:
                    my_threats.discard(window)
            elif count == 0:
                gain += weights[other]  # the opponent's window dies
                if other == threat_count:
                    their_threats.discard(window)
        self.score += gain if side == 0 else -gain
        self.cells[cell] = side + 1
        near = self.near
        for neighbour in geometry.neighbours[cell]:
            near[neighbour] += 1

    def take_back(self, cell: Cell, side: Side) -> None:
        geometry = self.geometry
        weights = geometry.weights
        threat_count = geometry.win_length - 1
        mine, theirs = self.counts[side], self.counts[1 - side]
        my_threats, their_threats = self.threats[side], self.threats[1 - side]
        loss = 0
        for window in geometry.cell_windows[cell]:
            count, other = mine[window], theirs[window]
            mine[window] = count - 1
            if other == 0:
                loss += weights[count] - weights[count - 1]
                if count == threat_count:
                    my_threats.discard(window)
                elif count - 1 == threat_count:
                    my_threats.add(window)
            elif count == 1:
                loss += weights[other]  # the opponent's window comes back
                if other == threat_count:
                    their_threats.add(window)
        self.score -= loss if side == 0 else -loss
        self.cells[cell] = 0
        near = self.near
        for neighbour in geometry.neighbours[cell]:
            near[neighbour] -= 1

    def winning_cells(self, side: Side) -> list[Cell]:
        """The empty cells where ``side`` completes a line, ascending."""
        cells, windows = self.cells, self.geometry.windows
        return sorted({cell for window in self.threats[side] for cell in windows[window] if cells[cell] == 0})

    def gain(self, cell: Cell, side: Side) -> int:
        """How much playing ``cell`` would raise ``side``'s evaluation: what it builds plus what it kills."""
        weights = self.geometry.weights
        mine, theirs = self.counts[side], self.counts[1 - side]
        gain = 0
        for window in self.geometry.cell_windows[cell]:
            count, other = mine[window], theirs[window]
            if other == 0:
                gain += weights[count + 1] - weights[count]
            elif count == 0:
                gain += weights[other]
        return gain

    def candidates(self, side: Side, limit: int) -> list[Cell]:
        """Up to ``limit`` empty cells near a mark, the biggest :meth:`gain` first.

        Ordering by the gain is what lets alpha-beta cut most of the tree,
        and the limit is what keeps a 15×15 board searchable in Python.
        """
        cells, near = self.cells, self.near
        weights = self.geometry.weights
        cell_windows = self.geometry.cell_windows
        mine, theirs = self.counts[side], self.counts[1 - side]
        scored: list[tuple[int, Cell]] = []
        for cell in range(len(cells)):
            if cells[cell] or not near[cell]:
                continue
            gain = 0
            for window in cell_windows[cell]:
                count, other = mine[window], theirs[window]
                if other == 0:
                    gain += weights[count + 1] - weights[count]
                elif count == 0:
                    gain += weights[other]
            scored.append((-gain, cell))
        scored.sort()
        return [cell for _, cell in scored[:limit]]

    def evaluation(self, side: Side) -> int:
        return self.score if side == 0 else -self.score
