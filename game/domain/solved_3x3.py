"""3×3 solved outright: every position in play mapped to its best move, built once per process.

Pure, like :mod:`game.domain.search`, which answers a 3×3 board from here.
"""

from __future__ import annotations

from functools import cache
from typing import Final

from game.domain import rules
from game.domain.position import WIN, centre_first
from game.domain.rules import Board, Cell

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
    return solved_table()[board.cells][1]


@cache
def solved_table() -> dict[tuple[str, ...], tuple[int, Cell]]:
    """Every 3×3 position with the game still on (4,520 of them), mapped to the best score for the
    side to move and the first move, nearest the centre, that gets it.

    A win scores more the sooner it comes and a loss less the sooner it
    comes, so the bot wins quickly and, if ever lost, resists longest. Built
    once per process, on first use, over plain tuples (about 20 ms), and
    never grows: the tree has no more positions.
    """
    table: dict[tuple[str, ...], tuple[int, Cell]] = {}
    order = centre_first(3)

    def solve(cells: tuple[str, ...], moved: int) -> int:
        known = table.get(cells)
        if known is not None:
            return known[0]
        mark = rules.X if moved % 2 == 0 else rules.O
        best_score, best_move = -WIN, -1
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
