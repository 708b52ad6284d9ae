"""The computer opponent: the whole 3×3 tree, hand-made 15×15 threats, its budget and its levels."""

from __future__ import annotations

import doctest
import random
import time
from collections.abc import Iterator
from functools import cache

import pytest

from game.domain import rules, search, solved_3x3
from game.domain.position import Position, side_of
from game.domain.rules import Board, Cell
from game.domain.search import choose_move


@cache
def _value(board: Board) -> int:
    """The game-theoretic value for the side to move (1 win, 0 draw, -1 loss): a plain minimax, the oracle."""
    return max(_value_for_mover(board.play(cell)) for cell in board.legal_moves())


def _value_for_mover(child: Board) -> int:
    """The value of ``child`` for the player who has just moved."""
    if child.outcome is None:
        return -_value(child)
    return 0 if child.outcome.is_draw else 1


def _bot_games(board: Board, bot_mark: str) -> Iterator[Board]:
    """Every finished game in which ``bot_mark`` plays the perfect bot and the opponent tries every reply."""
    if board.outcome is not None:
        yield board
        return
    if board.turn == bot_mark:
        yield from _bot_games(board.play(choose_move(board, "perfect")), bot_mark)
        return
    for cell in board.legal_moves():
        yield from _bot_games(board.play(cell), bot_mark)


@pytest.mark.parametrize("bot_mark", ["X", "O"])
def test_the_perfect_bot_never_loses_a_3x3_game_against_any_line_of_play(bot_mark: str) -> None:
    games = list(_bot_games(Board.empty(3), bot_mark))
    results = {"X": 0, "O": 0, "draw": 0}
    for game in games:
        assert game.outcome is not None
        results[game.outcome.winner or "draw"] += 1
    opponent = rules.other(bot_mark)  # type: ignore[arg-type]
    assert results[opponent] == 0
    assert results[bot_mark] > results["draw"] > 0  # the opponent's blunders are punished, not just survived


def test_the_perfect_bot_never_throws_away_a_3x3_win_or_draw_and_wins_soonest() -> None:
    seen: set[Board] = set()

    def check(board: Board) -> None:
        if board in seen or board.outcome is not None:
            return
        seen.add(board)
        move = choose_move(board, "perfect")
        after = _value_for_mover(board.play(move))
        assert after == _value(board), f"{board}: {move} gives {after}, the position is worth {_value(board)}"
        immediate_wins = [cell for cell in board.legal_moves() if _completes_line(board, cell, board.turn)]
        if immediate_wins:
            assert move in immediate_wins, f"{board}: a win in one was on offer"
        for cell in board.legal_moves():
            check(board.play(cell))

    check(Board.empty(3))
    assert len(seen) == 4_520  # every 3×3 position with the game still on


def test_the_perfect_bot_opens_3x3_in_the_centre_and_answers_a_corner_with_the_centre() -> None:
    assert choose_move(Board.empty(3), "perfect") == 4
    assert choose_move(Board.from_string("X../.../..."), "perfect") == 4


# --- 15×15, five in a row --------------------------------------------------------------------------


def _board(rows: dict[int, str], size: int = 15, win_length: int = 5) -> Board:
    """A size×size board with the given rows (by index) and the rest empty."""
    text = [rows.get(row, "." * size).ljust(size, ".") for row in range(size)]
    return Board.from_string("/".join(text), win_length)


def _cell(row: int, column: int) -> Cell:
    return row * 15 + column


def test_it_completes_its_own_open_four() -> None:
    board = _board({7: ".....XXXX", 9: "....OOO", 11: "..O"})  # X to move: 4 X, 4 O
    assert board.turn == "X"
    assert choose_move(board, "perfect") in {_cell(7, 4), _cell(7, 9)}


def test_it_completes_a_four_with_a_gap() -> None:
    board = _board({3: ".X", 4: "..X", 6: "....X", 7: ".....X", 0: "OOO......O"})
    assert choose_move(board, "perfect") == _cell(5, 3)


def test_it_blocks_a_four_with_one_open_end() -> None:
    board = _board({7: "....XOOOO", 9: ".....X.X", 11: "X"})  # X to move: 4 X, 4 O
    assert board.turn == "X"
    assert choose_move(board, "perfect") == _cell(7, 9)


def test_it_blocks_an_open_four_at_one_end() -> None:
    board = _board({7: ".....OOOO", 9: "X.X.X", 11: "..X"})  # X to move: 4 X, 4 O
    result = search.search(board)
    assert result.move in {_cell(7, 4), _cell(7, 9)}
    assert result.is_proven_loss  # and it knows the other end loses


def test_it_wins_rather_than_blocks_when_both_sides_have_a_four() -> None:
    board = _board({5: ".XXXX", 7: ".....OOOO", 12: "X", 13: "O"})
    assert board.turn == "X"
    assert choose_move(board, "perfect") in {_cell(5, 0), _cell(5, 5)}


def test_it_blocks_an_open_three_at_an_adjacent_end() -> None:
    # O's three is open on both sides: X must stop it becoming an open four now, at either end.
    board = _board({7: "......OOO", 2: "X", 12: "..............X", 0: ".......X"})
    assert board.turn == "X"
    assert choose_move(board, "perfect", time_budget_s=0.3) in {_cell(7, 5), _cell(7, 9)}


def test_it_turns_its_open_three_into_an_open_four_and_knows_it_has_won() -> None:
    board = _board({7: "......XXX", 1: "O", 13: "..............O", 0: ".......O"})  # X to move: 3 X, 3 O
    result = search.search(board, time_budget_s=0.3)
    assert result.move in {_cell(7, 5), _cell(7, 9)}
    assert result.is_proven_win


def _midgame_positions(count: int) -> list[Board]:
    """Quiet 15×15 positions from seeded medium-against-medium games: nothing to win or block at once."""
    positions: list[Board] = []
    for seed in range(100):
        rng = random.Random(seed)
        board = Board.empty(15, 5)
        while board.outcome is None:
            if board.move_count >= 8 and _is_quiet(board):
                positions.append(board)
                break
            board = board.play(choose_move(board, "medium", rng=rng))
        if len(positions) == count:
            break
    return positions


def _is_quiet(board: Board) -> bool:
    return not any(_completes_line(board, cell, mark) for cell in board.legal_moves() for mark in rules.MARKS)


def test_the_search_honours_its_time_budget_on_15x15_midgame_positions() -> None:
    # The figure for the real budget is bench/bot_speed.py's job; this proves the budget is obeyed.
    for board in _midgame_positions(3):
        started = time.perf_counter()
        result = search.search(board, time_budget_s=0.3)
        elapsed = time.perf_counter() - started
        assert result.reason == "search"
        assert result.depth >= 2
        assert elapsed < 0.9, f"{board}: {elapsed:.2f} s for a 0.3 s budget"


def test_the_perfect_bot_beats_medium_on_15x15_from_either_side() -> None:
    for seed, perfect_mark in [(0, "X"), (1, "O")]:
        rng = random.Random(seed)
        board = Board.empty(15, 5)
        while board.outcome is None:
            level: search.Level = "perfect" if board.turn == perfect_mark else "medium"
            board = board.play(choose_move(board, level, rng=rng, time_budget_s=0.1))
        assert board.outcome.winner == perfect_mark, str(board)


@pytest.mark.parametrize(("size", "win_length", "moves"), [(15, 5, 40), (5, 4, 20), (4, 3, 14)])
def test_the_incremental_tables_match_a_fresh_count_after_moves_and_take_backs(
    size: int, win_length: int, moves: int
) -> None:
    # Small boards fill up with threats and finished lines, so every branch of place/take_back runs.
    rng = random.Random(size)
    board = Board.empty(size, win_length).play(0).play(size * size - 1)
    position = Position(board)
    before = _tables(position)
    played: list[tuple[Cell, int]] = []
    side = side_of(board.turn)
    for _ in range(moves):
        cell = rng.choice([cell for cell, mark in enumerate(position.cells) if mark == 0])
        position.place(cell, side)
        played.append((cell, side))
        side = 1 - side
        fresh = Position(Board(size, win_length, [("", "X", "O")[mark] for mark in position.cells]))
        assert _tables(fresh) == _tables(position)
    for cell, side in reversed(played):
        position.take_back(cell, side)
    assert _tables(position) == before


def _tables(position: Position) -> tuple[object, ...]:
    """A copy of everything the search keeps incrementally."""
    return (
        list(position.cells),
        [list(counts) for counts in position.counts],
        [set(threats) for threats in position.threats],
        position.score,
        list(position.near),
    )


# --- The weaker levels ------------------------------------------------------------------------------


def _completes_line(board: Board, cell: Cell, mark: str) -> bool:
    """Whether ``mark`` on the empty ``cell`` makes k in a row: the test's own line check."""
    size, k = board.size, board.win_length
    row, column = divmod(cell, size)
    for d_row, d_column in ((0, 1), (1, 0), (1, 1), (1, -1)):
        run = 1
        for sign in (1, -1):
            r, c = row + sign * d_row, column + sign * d_column
            while 0 <= r < size and 0 <= c < size and board.cells[r * size + c] == mark:
                run += 1
                r, c = r + sign * d_row, c + sign * d_column
        if run >= k:
            return True
    return False


def _random_positions(size: int, win_length: int, games: int) -> Iterator[Board]:
    """Every position of seeded random games: plenty of wins and blocks on offer."""
    for seed in range(games):
        rng = random.Random(seed)
        board = Board.empty(size, win_length)
        while board.outcome is None:
            yield board
            board = board.play(rng.choice(board.legal_moves()))


@pytest.mark.parametrize(("size", "win_length", "games"), [(3, 3, 200), (7, 4, 40), (15, 5, 4)])
def test_medium_never_misses_an_immediate_win_or_block(size: int, win_length: int, games: int) -> None:
    rng = random.Random(1)
    tested_wins = tested_blocks = 0
    for board in _random_positions(size, win_length, games):
        mark, opponent = board.turn, rules.other(board.turn)
        wins = {cell for cell in board.legal_moves() if _completes_line(board, cell, mark)}
        blocks = {cell for cell in board.legal_moves() if _completes_line(board, cell, opponent)}
        move = choose_move(board, "medium", rng=rng)
        if wins:
            assert move in wins, str(board)
            tested_wins += 1
        elif blocks:
            assert move in blocks, str(board)
            tested_blocks += 1
    assert tested_wins > 10
    assert tested_blocks > 10


def test_easy_sometimes_takes_a_win_and_sometimes_misses_it() -> None:
    board = Board.from_string("XX./OO./...")
    moves = {choose_move(board, "easy", rng=random.Random(seed)) for seed in range(40)}
    assert 2 in moves
    assert moves - {2}


def test_easy_sometimes_blocks_and_sometimes_does_not() -> None:
    board = Board.from_string("XX./.O./...")
    moves = [choose_move(board, "easy", rng=random.Random(seed)) for seed in range(40)]
    assert 2 in moves
    assert any(move != 2 for move in moves)


def test_easy_loses_to_the_perfect_bot_often_over_seeded_games() -> None:
    losses = 0
    for seed in range(40):
        rng = random.Random(seed)
        easy_mark = "XO"[seed % 2]
        board = Board.empty(3)
        while board.outcome is None:
            level: search.Level = "easy" if board.turn == easy_mark else "perfect"
            board = board.play(choose_move(board, level, rng=rng))
        assert board.outcome.winner != easy_mark
        losses += board.outcome.winner is not None
    assert losses >= 10


def test_medium_falls_for_the_corner_opening_on_3x3_sometimes_but_not_always() -> None:
    # The classic trap a person learns first: open in a corner; any reply but the centre loses.
    results = []
    for seed in range(40):
        rng = random.Random(seed)
        board = Board.empty(3).play(0)
        while board.outcome is None:
            level: search.Level = "medium" if board.turn == "O" else "perfect"
            board = board.play(choose_move(board, level, rng=rng))
        results.append(board.outcome.winner)
    assert "O" not in results
    assert 0 < results.count("X") < 40


# --- The module's edges -----------------------------------------------------------------------------


def test_a_finished_game_and_an_unknown_level_are_refused() -> None:
    with pytest.raises(rules.GameOverError):
        choose_move(Board.from_string("XXX/OO./..."), "perfect")
    with pytest.raises(ValueError, match="level"):
        choose_move(Board.empty(3), "impossible")  # type: ignore[arg-type]


def test_every_level_plays_a_legal_move_on_every_variant_corner() -> None:
    rng = random.Random(3)
    for size, win_length in [(4, 3), (4, 4), (9, 9), (15, 3), (15, 15)]:
        board = Board.empty(size, win_length).play(0)
        for level in search.LEVELS:
            assert choose_move(board, level, rng=rng, time_budget_s=0.05) in board.legal_moves()


def test_the_docstring_examples_hold() -> None:
    for module in (search, solved_3x3):
        failures, tried = doctest.testmod(module)
        assert tried > 0
        assert failures == 0
