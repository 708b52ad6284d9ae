"""The computer opponent: picks a move for the side to move, at three levels.

Like :mod:`game.domain.rules`, this module is pure: it imports only the standard
library and the rules, and knows nothing of Django, sockets or storage. The
caller plays the cell :func:`choose_move` returns through the same service
as a person's move; on boards larger than 3×3 it runs it off the event loop
(a search takes up to ``time_budget_s``), while any 3×3 move costs
microseconds and may be chosen anywhere.

- ``perfect`` on 3×3 reads the solved game from a table built once (it never
  loses: :func:`game.domain.solved_3x3.solved_3x3_move`); on larger boards it
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
from typing import Final, Literal

from game.domain import rules
from game.domain.position import WIN, Position, Side, centre, centre_first, side_of
from game.domain.rules import Board, Cell
from game.domain.solved_3x3 import solved_table
from game.domain.weaker_levels import easy_move, medium_move

Level = Literal["easy", "medium", "perfect"]
LEVELS: Final[tuple[Level, ...]] = ("easy", "medium", "perfect")

DEFAULT_TIME_BUDGET_S: Final = 0.8
"""Leaves a fifth of a second of the one-second promise for everything around the search."""

_DECISIVE: Final = WIN - 10_000
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
        return medium_move(board, rng)
    return easy_move(board, rng)


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
        score, move = solved_table()[board.cells]
        return SearchResult(move, score, len(board.legal_moves()), 0, "solved")
    if board.move_count == 0:
        return SearchResult(centre(board.size), 0, 0, 0, "opening")
    position = Position(board)
    side = side_of(board.turn)
    wins = position.winning_cells(side)
    if wins:
        return SearchResult(wins[0], WIN - 1, 0, 0, "win")
    blocks = position.winning_cells(1 - side)
    if blocks:  # with two or more the game is lost, but the opponent may yet miss the other
        return SearchResult(blocks[0], 0 if len(blocks) == 1 else -(WIN - 2), 0, 0, "block")
    return _Search(position, side, time_budget_s).run()


# --- Larger boards: the search ----------------------------------------------------------------------


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

    def __init__(self, position: Position, side: Side, time_budget_s: float) -> None:
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
            moves = [cell for cell in centre_first(position.geometry.size) if position.cells[cell] == 0][:1]
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
        alpha, beta = -WIN - 1, WIN + 1
        best_move, best_score = moves[0], -WIN - 1
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
            return WIN - ply - 1  # wins with its next move
        if position.threats[1 - side]:
            blocks = position.winning_cells(1 - side)
            if len(blocks) > 1:
                return -(WIN - ply - 2)  # blocks one, loses to the other
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
        best = -WIN - 1
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
