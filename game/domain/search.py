"""The computer opponent: picks a move for the side to move, at three levels.

Like :mod:`game.domain.rules`, this module is pure: it imports only the standard
library and the rules, and knows nothing of Django, sockets or storage. The
caller plays the cell :func:`choose_move` returns through the same service
as a person's move; on boards larger than 3×3 it runs it off the event loop
(a search takes up to ``time_budget_s``), while any 3×3 move costs
microseconds and may be chosen anywhere.

- ``perfect`` on 3×3 reads the solved game from a table built once (it never
  loses: :func:`solved_3x3_move`); on larger boards it
  takes a win, blocks a loss, then runs an iterative-deepening alpha-beta
  search within ``time_budget_s``.
- ``medium`` takes a win, blocks a loss, and otherwise plays one of the
  moves the evaluation likes best, with a little noise.
- ``easy`` sees a win or a block only half the time and otherwise plays at
  random.

>>> from game.domain.rules import Board
>>> choose_move(Board.from_string("XX./OO./..."), "perfect")  # X completes the top row
2
>>> choose_move(Board.from_string("XX./O../..."), "perfect")  # O blocks it
2
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from functools import cache
from typing import Final, Literal

from game.domain import rules
from game.domain.rules import Board, Cell

Level = Literal["easy", "medium", "perfect"]
LEVELS: Final[tuple[Level, ...]] = ("easy", "medium", "perfect")

DEFAULT_TIME_BUDGET_S: Final = 0.8
"""Leaves a fifth of a second of the one-second promise for everything around the search."""

Side = int
"""0 for X, 1 for O: an index into the per-side tables of :class:`_Position`."""

_WIN: Final = 1 << 60
"""A won position's score before the distance to the win is taken off; beyond any evaluation."""
_DECISIVE: Final = _WIN - 10_000
"""Scores beyond this are proven wins or losses, not evaluations."""

# How many of the best-ordered moves the search looks at: every root move
# within reason, fewer further down. Gomoku-like games have a handful of
# sensible moves per position; the rest only cost time.
_ROOT_WIDTH: Final = 16
_INNER_WIDTHS: Final = (12, 10, 8, 7, 6)
_MAX_PLY: Final = 40
"""Forced blocks extend the search; this bounds the extension."""

# Python's speed decides how often the clock is read: every this many nodes.
_CLOCK_EVERY: Final = 64


def choose_move(
    board: Board,
    level: Level,
    *,
    rng: random.Random | None = None,
    time_budget_s: float = DEFAULT_TIME_BUDGET_S,
) -> Cell:
    """The cell the computer plays for ``board.turn`` at ``level``.

    ``rng`` drives the easy and medium levels' choices (pass a seeded one for
    repeatable games); ``perfect`` ignores it. ``time_budget_s`` bounds the
    search on boards larger than 3×3. Raises :class:`rules.GameOverError` if
    the game is over and ``ValueError`` for an unknown level.

    >>> choose_move(Board.empty(15, 5), "perfect")  # the centre of an empty board
    112
    """
    if board.outcome is not None:
        raise rules.GameOverError("The game is over.")
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}, not {level!r}")
    if level == "perfect":
        return search(board, time_budget_s=time_budget_s).move
    rng = rng if rng is not None else random.Random()
    if level == "medium":
        return _medium_move(board, rng)
    return _easy_move(board, rng)


@dataclass(frozen=True)
class SearchResult:
    """What :func:`search` found: the move, its score for the side to move, and the work done."""

    move: Cell
    score: int
    depth: int
    """Plies of the deepest completed iteration; 0 when no search was needed."""
    nodes: int
    reason: str
    """Why this move: ``"solved"``, ``"win"``, ``"block"``, ``"opening"`` or ``"search"``."""

    @property
    def is_proven_win(self) -> bool:
        return self.score > _DECISIVE

    @property
    def is_proven_loss(self) -> bool:
        return self.score < -_DECISIVE


def search(board: Board, *, time_budget_s: float = DEFAULT_TIME_BUDGET_S) -> SearchResult:
    """The perfect level's move, with how it was found.

    3×3 is solved outright. Larger boards take a win, then block the
    opponent's win, then search until ``time_budget_s`` is nearly spent.
    """
    if board.outcome is not None:
        raise rules.GameOverError("The game is over.")
    if board.size == 3:
        score, move = _solved_3x3()[board.cells]
        return SearchResult(move, score, len(board.legal_moves()), 0, "solved")
    if board.move_count == 0:
        return SearchResult(_centre(board.size), 0, 0, 0, "opening")
    position = _Position(board)
    side = _side(board.turn)
    wins = position.winning_cells(side)
    if wins:
        return SearchResult(wins[0], _WIN - 1, 0, 0, "win")
    blocks = position.winning_cells(1 - side)
    if blocks:  # with two or more the game is lost, but the opponent may yet miss the other
        return SearchResult(blocks[0], 0 if len(blocks) == 1 else -(_WIN - 2), 0, 0, "block")
    return _Search(position, side, time_budget_s).run()


# --- 3×3: the whole tree, solved once -------------------------------------------------------------

_LINES_3X3: Final = ((0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6))
_OTHERS_IN_LINE_3X3: Final = tuple(
    tuple(tuple(other for other in line if other != cell) for line in _LINES_3X3 if cell in line) for cell in range(9)
)
"""For each cell, the other two cells of every line through it: a move there wins if it owns both."""


def solved_3x3_move(board: Board) -> Cell:
    """The perfect move on a 3×3 board still in play, looked up in the solved table: no search.

    This is cheap enough for an event loop (a dictionary read), which is why
    the server answers 3×3 without its search process. Raises ``KeyError``
    for a board that is not a 3×3 game in play.

    >>> solved_3x3_move(Board.from_string("X../.../..."))  # a corner is answered in the centre
    4
    """
    return _solved_3x3()[board.cells][1]


@cache
def _solved_3x3() -> dict[tuple[str, ...], tuple[int, Cell]]:
    """Every 3×3 position with the game still on (4,520 of them), mapped to the best score for the
    side to move and the first move, nearest the centre, that gets it.

    A win scores more the sooner it comes and a loss less the sooner it
    comes, so the bot wins quickly and, if ever lost, resists longest. Built
    once per process, on first use, over plain tuples (about 20 ms), and
    never grows: the tree has no more positions.
    """
    table: dict[tuple[str, ...], tuple[int, Cell]] = {}
    order = _centre_first(3)

    def solve(cells: tuple[str, ...], moved: int) -> int:
        known = table.get(cells)
        if known is not None:
            return known[0]
        mark = rules.X if moved % 2 == 0 else rules.O
        best_score, best_move = -_WIN, -1
        for cell in order:
            if cells[cell] != rules.EMPTY:
                continue
            child = (*cells[:cell], mark, *cells[cell + 1 :])
            if any(cells[first] == mark == cells[second] for first, second in _OTHERS_IN_LINE_3X3[cell]):
                score = 100 - (moved + 1)
            elif moved + 1 == 9:
                score = 0
            else:
                score = -solve(child, moved + 1)
            if score > best_score:
                best_score, best_move = score, cell
        table[cells] = (best_score, best_move)
        return best_score

    solve((rules.EMPTY,) * 9, 0)
    return table


# --- Larger boards: windows, threats and search ---------------------------------------------------


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


def _side(mark: rules.Mark) -> Side:
    return 0 if mark == rules.X else 1


@cache
def _centre_first(size: int) -> tuple[Cell, ...]:
    """Every cell, nearest the centre first (ties row-major): a deterministic, natural order."""
    middle = (size - 1) / 2
    return tuple(
        sorted(range(size * size), key=lambda cell: (abs(cell // size - middle) + abs(cell % size - middle), cell))
    )


def _centre(size: int) -> Cell:
    return _centre_first(size)[0]


class _Position:
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
                self.place(cell, _side(mark))  # type: ignore[arg-type]

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


class _OutOfTimeError(Exception):
    """Raised inside the search when the deadline passes; caught at the root."""


class _Search:
    """Iterative-deepening negamax with alpha-beta over the best-ordered candidates.

    Before expanding any node it checks the threat tables: the side to move
    wins at once if it has a threat window; it has lost if the opponent has
    two winning cells; and it has exactly one move if the opponent has one.
    Those checks run at the leaves too, so a search of depth d sees forcing
    sequences a little deeper than d.
    """

    def __init__(self, position: _Position, side: Side, time_budget_s: float) -> None:
        self.position = position
        self.side = side
        self.started = time.perf_counter()
        self.budget = time_budget_s
        self.deadline = self.started + time_budget_s
        self.nodes = 0

    def run(self) -> SearchResult:
        position, side = self.position, self.side
        moves = position.candidates(side, _ROOT_WIDTH)
        if not moves:  # nothing near a mark: only possible when no window can be won
            moves = [cell for cell in _centre_first(position.geometry.size) if position.cells[cell] == 0][:1]
        best_move, best_score, depth_done = moves[0], position.evaluation(side), 0
        empty = position.cells.count(0)
        for depth in range(1, empty + 1):
            try:
                move, score, moves = self._root(moves, depth)
            except _OutOfTimeError as partial:
                # A move that beat the previous best in the unfinished iteration was fully searched.
                if partial.args and partial.args[0] is not None:
                    best_move, best_score = partial.args[0]
                break
            best_move, best_score, depth_done = move, score, depth
            if abs(score) > _DECISIVE:
                break
            # The next iteration takes several times as long as this one: don't start what can't finish.
            if time.perf_counter() - self.started > self.budget * 0.3:
                break
        return SearchResult(best_move, best_score, depth_done, self.nodes, "search")

    def _root(self, moves: list[Cell], depth: int) -> tuple[Cell, int, list[Cell]]:
        position, side = self.position, self.side
        alpha, beta = -_WIN - 1, _WIN + 1
        best_move, best_score = moves[0], -_WIN - 1
        for index, move in enumerate(moves):
            position.place(move, side)
            try:
                score = -self._negamax(1 - side, depth - 1, -beta, -alpha, 1)
            except _OutOfTimeError:
                raise _OutOfTimeError((best_move, best_score) if index > 0 else None) from None
            finally:
                position.take_back(move, side)
            if score > best_score:
                best_move, best_score = move, score
                alpha = max(alpha, score)
        # The best move goes first next time; the rest keep their gain order.
        reordered = [best_move, *(move for move in moves if move != best_move)]
        return best_move, best_score, reordered

    def _negamax(self, side: Side, depth: int, alpha: int, beta: int, ply: int) -> int:
        self.nodes += 1
        if self.nodes % _CLOCK_EVERY == 0 and time.perf_counter() > self.deadline:
            raise _OutOfTimeError
        position = self.position
        if position.threats[side]:
            return _WIN - ply - 1  # wins with its next move
        if position.threats[1 - side]:
            blocks = position.winning_cells(1 - side)
            if len(blocks) > 1:
                return -(_WIN - ply - 2)  # blocks one, loses to the other
            moves = blocks  # forced: searched even at depth 0, so a leaf never hides a lost block
            depth = max(depth, 1) if ply < _MAX_PLY else depth
            if depth <= 0:
                return position.evaluation(side)
        elif depth <= 0:
            return position.evaluation(side)
        else:
            moves = position.candidates(side, _INNER_WIDTHS[min(ply - 1, len(_INNER_WIDTHS) - 1)])
            if not moves:
                return 0  # the board is full: a draw
        best = -_WIN - 1
        for move in moves:
            position.place(move, side)
            try:
                score = -self._negamax(1 - side, depth - 1, -beta, -alpha, ply + 1)
            finally:
                position.take_back(move, side)
            if score > best:
                best = score
                if score > alpha:
                    alpha = score
                    if alpha >= beta:
                        break
        return best


# --- The weaker levels ----------------------------------------------------------------------------


def _medium_move(board: Board, rng: random.Random) -> Cell:
    """Win, else block, else one of the three moves the evaluation likes best, at random."""
    side = _side(board.turn)
    if board.move_count == 0:
        return _centre(board.size)
    position = _Position(board)
    wins = position.winning_cells(side)
    if wins:
        return rng.choice(wins)
    blocks = position.winning_cells(1 - side)
    if blocks:
        return rng.choice(blocks)
    moves = position.candidates(side, 3)
    if not moves:
        return rng.choice(board.legal_moves())
    # Favour the best of the three, but not always: the noise is what a person can exploit.
    return rng.choices(moves, weights=(6, 3, 1)[: len(moves)])[0]


def _easy_move(board: Board, rng: random.Random) -> Cell:
    """Win half the time, block half the time, and otherwise play anywhere near the game."""
    side = _side(board.turn)
    if board.move_count == 0:
        return rng.choice(board.legal_moves())
    position = _Position(board)
    wins = position.winning_cells(side)
    if wins and rng.random() < 0.5:
        return rng.choice(wins)
    blocks = position.winning_cells(1 - side)
    if blocks and rng.random() < 0.5:
        return rng.choice(blocks)
    # On a big board a truly random cell is far from the play and looks broken; near it is still careless.
    nearby = [cell for cell in board.legal_moves() if position.near[cell]]
    return rng.choice(nearby or board.legal_moves())
