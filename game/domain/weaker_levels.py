"""The computer's weaker levels, ``medium`` and ``easy``: a win, a block, and otherwise some noise.

Pure, like :mod:`game.domain.search`, whose :func:`~game.domain.search.choose_move` calls them.
"""

from __future__ import annotations

import random

from game.domain.position import Position, centre, side_of
from game.domain.rules import Board, Cell


def medium_move(board: Board, rng: random.Random) -> Cell:
    """Win, else block, else one of the three moves the evaluation likes best, at random."""
    side = side_of(board.turn)
    if board.move_count == 0:
        return centre(board.size)
    position = Position(board)
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


def easy_move(board: Board, rng: random.Random) -> Cell:
    """Win half the time, block half the time, and otherwise play anywhere near the game."""
    side = side_of(board.turn)
    if board.move_count == 0:
        return rng.choice(board.legal_moves())
    position = Position(board)
    wins = position.winning_cells(side)
    if wins and rng.random() < 0.5:
        return rng.choice(wins)
    blocks = position.winning_cells(1 - side)
    if blocks and rng.random() < 0.5:
        return rng.choice(blocks)
    # On a big board a truly random cell is far from the play and looks broken; near it is still careless.
    nearby = [cell for cell in board.legal_moves() if position.near[cell]]
    return rng.choice(nearby or board.legal_moves())
