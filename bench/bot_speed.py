"""How long the perfect bot takes to answer on 15×15 with five in a row.

``python -m bench.bot_speed [--budget 0.8] [--games 4]`` plays a few games of
the bot against itself on a short budget to reach realistic positions, then
times :func:`game.domain.search.search` (the perfect level of
:func:`game.domain.search.choose_move`, from the board to the cell) at the given budget
on every tenth position, printing one line per position and a summary. The
issue's target is an answer within 1 s; the default budget, 0.8 s, is what
the game uses.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from game.domain import search
from game.domain.rules import Board

SIZE, WIN_LENGTH = 15, 5
SAMPLE_EVERY = 10
"""Time every this many plies of each game: openings, middle games and late positions alike."""


def sample_positions(games: int) -> list[Board]:
    """Positions from games of the bot against itself (0.05 s a move), after two seeded random moves each."""
    positions: list[Board] = []
    for seed in range(games):
        rng = random.Random(seed)
        board = Board.empty(SIZE, WIN_LENGTH)
        centre = SIZE * SIZE // 2
        board = board.play(centre).play(centre + rng.choice((-SIZE - 1, -SIZE, -SIZE + 1, -1, 1, SIZE - 1, SIZE)))
        while board.outcome is None:
            if board.move_count % SAMPLE_EVERY == 0:
                positions.append(board)
            board = board.play(search.choose_move(board, "perfect", time_budget_s=0.05))
    return positions


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bot_speed", description=__doc__)
    parser.add_argument(
        "--budget", type=float, default=search.DEFAULT_TIME_BUDGET_S, help="seconds (default: %(default)s)"
    )
    parser.add_argument("--games", type=int, default=4, help="self-play games to sample from (default: %(default)s)")
    args = parser.parse_args()

    positions = sample_positions(args.games)
    print(f"{len(positions)} positions on {SIZE}×{SIZE}, k={WIN_LENGTH}, budget {args.budget} s")
    print(f"{'moves':>5} {'reason':>7} {'depth':>5} {'nodes':>6} {'seconds':>8}")
    searched: list[float] = []
    for board in positions:
        # search() is choose_move()'s perfect level with the depth and nodes beside the cell.
        started = time.perf_counter()
        result = search.search(board, time_budget_s=args.budget)
        elapsed = time.perf_counter() - started
        print(f"{board.move_count:>5} {result.reason:>7} {result.depth:>5} {result.nodes:>6} {elapsed:>8.3f}")
        if result.reason == "search":
            searched.append(elapsed)
    if searched:
        print(
            f"searched positions: {len(searched)}; median {statistics.median(searched):.3f} s, "
            f"max {max(searched):.3f} s (target < 1 s)"
        )


if __name__ == "__main__":
    main()
