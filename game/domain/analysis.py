"""A finished game judged position by position: what each move kept or threw away.

Pure, like ``game.domain.rules`` and ``game.domain.search``: the standard library, the rules
and the computer's search, nothing of Django or storage. The analysis views
(``game.web.analysis_views``) turn a game's moves into the answer of
``GET /games/<id>/analysis.json`` (docs/protocol.md, "Analysis").

3×3 is solved (``game.domain.search`` keeps the whole tree in a table), so its
analysis is exact and cheap (about a millisecond for a whole game): each
empty cell's value with perfect play afterwards, for the player to move.

>>> game = analyse_exactly((0, 1, 4, 8))
>>> start = game["positions"][0]
>>> sorted(set(start["values"].values())), start["best"][:3]  # every first move draws
(['draw'], [0, 1, 2])
>>> after_corner = game["positions"][1]
>>> [cell for cell, value in after_corner["values"].items() if value == "draw"]  # only the centre holds
['4']
>>> after_corner["played"], after_corner["verdict"]  # O took an edge: the draw thrown away
(1, 'mistake')

Larger boards are not solved: each position gets the engine's move and its
score from a search bounded in time (:func:`search_position`, run in the
computer's search process), and no values or verdicts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from game.domain import search
from game.domain.rules import Board, Cell

Value = Literal["win", "draw", "loss"]
Verdict = Literal["ok", "mistake", "blunder"]

_STEPS: Final[dict[Value, int]] = {"win": 2, "draw": 1, "loss": 0}
_VERDICTS: Final[tuple[Verdict, ...]] = ("ok", "mistake", "blunder")

EXACT_SIZE: Final = 3
"""Boards of this size are solved: their analysis is exact."""

SECONDS_PER_GAME: Final = 8.0
"""A larger board's whole analysis searches about this long, shared out over its positions."""
MAX_SECONDS_PER_POSITION: Final = 0.25
MIN_SECONDS_PER_POSITION: Final = 0.02


def boards(size: int, win_length: int, moves: Sequence[Cell]) -> list[Board]:
    """The position before each move, then the one after the last: ``len(moves) + 1`` boards.

    >>> [str(board) for board in boards(3, 3, [4, 0])]
    ['.../.../...', '.../.X./...', 'O../.X./...']
    """
    board = Board.empty(size, win_length)
    played = [board]
    for cell in moves:
        board = board.play(cell)
        played.append(board)
    return played


def value_of(score: int) -> Value:
    """A solved score's outcome for the player it belongs to: above 0 wins, 0 draws, below 0 loses."""
    return "win" if score > 0 else "loss" if score < 0 else "draw"


def verdict(best: Value, played: Value) -> Verdict:
    """How far the played cell's value falls short of the best one's: none, one step or two.

    >>> verdict("draw", "draw"), verdict("win", "draw"), verdict("draw", "loss"), verdict("win", "loss")
    ('ok', 'mistake', 'mistake', 'blunder')
    """
    return _VERDICTS[_STEPS[best] - _STEPS[played]]


def cell_scores(board: Board) -> dict[Cell, int]:
    """Each empty cell of a 3×3 ``board`` in play, with the solved score of playing it, for the mover.

    The scores are game.domain.search's table's: a win scores more the sooner it comes
    and a loss less the sooner it comes, so the order of the scores is the
    order of the moves: fewest moves to a win first, and the longest
    resistance first among losses.

    >>> scores = cell_scores(Board.from_string("XX./OO./..."))
    >>> scores[2] > 0, scores[6] < 0, max(scores, key=scores.__getitem__)
    (True, True, 2)
    """
    if board.size != EXACT_SIZE or board.outcome is not None:
        raise ValueError("only a 3×3 board still in play is solved")
    scores: dict[Cell, int] = {}
    for cell in board.legal_moves():
        after = board.play(cell)
        if after.outcome is None:
            scores[cell] = -search.search(after).score
        elif after.outcome.winner is not None:
            scores[cell] = _win_score(after.move_count)
        else:
            scores[cell] = 0
    return scores


def _win_score(move_count: int) -> int:
    """A win on the ``move_count``-th move, scored as game.domain.search's solved table scores it."""
    return 100 - move_count


def exact_position(board: Board) -> dict[str, Any]:
    """A 3×3 position's ``to_move``, ``value``, ``values`` and ``best`` (protocol: "Analysis").

    A finished position has nobody to move and no values.

    >>> exact_position(Board.from_string("XX./OO./..."))["best"]
    [2]
    >>> exact_position(Board.from_string("XXX/OO./..."))
    {'to_move': None, 'value': None, 'values': {}, 'best': []}
    """
    if board.outcome is not None:
        return {"to_move": None, "value": None, "values": {}, "best": []}
    scores = cell_scores(board)
    top = max(scores.values())
    best_value = value_of(top)
    best = sorted((cell for cell, score in scores.items() if value_of(score) == best_value), key=lambda c: -scores[c])
    return {
        "to_move": board.turn,
        "value": best_value,
        "values": {str(cell): value_of(score) for cell, score in sorted(scores.items())},
        "best": best,
    }


def analyse_exactly(moves: Sequence[Cell]) -> dict[str, Any]:
    """A 3×3 game's analysis: every position's values, and each move's verdict."""
    positions: list[dict[str, Any]] = []
    for ply, board in enumerate(boards(EXACT_SIZE, EXACT_SIZE, moves)):
        entry: dict[str, Any] = {"ply": ply, **exact_position(board), "played": None, "verdict": None}
        if ply < len(moves):
            played = moves[ply]
            entry["played"] = played
            entry["verdict"] = verdict(entry["value"], entry["values"][str(played)])
        positions.append(entry)
    return {"exact": True, "positions": positions}


# --- Larger boards: the engine's move, from a search bounded in time ------------------------------


@dataclass(frozen=True)
class SearchedPosition:
    """What the bounded search found in one position, for the player to move."""

    best: Cell
    score: int | None
    """The search's evaluation; None when it found a forced result (``forced``)."""
    forced: Value | None
    """``win`` or ``loss`` when the search found one by force within its depth; else None."""
    depth: int
    """Plies of its deepest completed iteration (0: a win, a block or the opening, found without one)."""


def seconds_per_position(positions: int, seconds_per_game: float = SECONDS_PER_GAME) -> float:
    """How long each of a game's ``positions`` is searched: the game's time shared, within bounds.

    >>> seconds_per_position(10), seconds_per_position(100), seconds_per_position(1000)
    (0.25, 0.08, 0.02)
    """
    if positions <= 0:
        return MAX_SECONDS_PER_POSITION
    return max(MIN_SECONDS_PER_POSITION, min(MAX_SECONDS_PER_POSITION, seconds_per_game / positions))


def search_position(board: Board, time_budget_s: float) -> SearchedPosition:
    """The engine's move in ``board`` and its score: run in the computer's search process.

    >>> search_position(Board.empty(15, 5), 0.1)
    SearchedPosition(best=112, score=0, forced=None, depth=0)
    >>> search_position(Board.from_string("XXX./OOO./..../....", win_length=4), 0.1).forced
    'win'
    """
    result = search.search(board, time_budget_s=time_budget_s)
    if result.is_proven_win:
        return SearchedPosition(result.move, None, "win", result.depth)
    if result.is_proven_loss:
        return SearchedPosition(result.move, None, "loss", result.depth)
    return SearchedPosition(result.move, result.score, None, result.depth)


def analyse_bounded(
    size: int, win_length: int, moves: Sequence[Cell], searched: Sequence[SearchedPosition]
) -> dict[str, Any]:
    """A larger board's analysis from the search of each position in play, in order.

    >>> searched = [SearchedPosition(5, 0, None, 0), SearchedPosition(6, 12, None, 3)]
    >>> game = analyse_bounded(4, 3, [5], searched)
    >>> game["exact"], [entry["best"] for entry in game["positions"]], game["positions"][0]["played"]
    (False, [[5], [6]], 5)
    """
    positions: list[dict[str, Any]] = []
    results = iter(searched)
    for ply, board in enumerate(boards(size, win_length, moves)):
        entry: dict[str, Any] = {"ply": ply, "to_move": None, "best": [], "score": None, "forced": None, "depth": 0}
        if board.outcome is None:
            found = next(results)
            entry.update(to_move=board.turn, best=[found.best], score=found.score, forced=found.forced)
            entry["depth"] = found.depth
        entry.update(played=moves[ply] if ply < len(moves) else None, verdict=None)
        positions.append(entry)
    if next(results, None) is not None:
        raise ValueError("more searched positions than positions in play")
    return {"exact": False, "positions": positions}


def positions_in_play(size: int, win_length: int, moves: Sequence[Cell]) -> list[Board]:
    """The positions of the game that a larger board's analysis searches: those with a move to make."""
    return [board for board in boards(size, win_length, moves) if board.outcome is None]
