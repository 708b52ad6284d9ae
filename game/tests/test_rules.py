"""The rules, against the whole 3×3 game tree and hand-made larger positions."""

from __future__ import annotations

import pytest

from game.domain import rules
from game.domain.rules import Board, Outcome


def _walk(board: Board, positions: set[tuple[str, ...]], counts: dict[str, int]) -> None:
    positions.add(board.cells)
    if board.outcome is not None:
        counts[board.outcome.winner or "draw"] += 1
        return
    for cell in board.legal_moves():
        _walk(board.play(cell), positions, counts)


@pytest.mark.slow  # all 255,168 games
def test_the_full_3x3_game_tree_has_the_known_numbers_of_games_and_positions() -> None:
    positions: set[tuple[str, ...]] = set()
    counts = {"X": 0, "O": 0, "draw": 0}
    _walk(Board.empty(3), positions, counts)
    assert counts == {"X": 131_184, "O": 77_904, "draw": 46_080}
    assert sum(counts.values()) == 255_168
    assert len(positions) == 5_478
    terminal = [cells for cells in positions if Board(3, 3, cells).outcome is not None]
    assert len(terminal) == 958


def test_incremental_outcome_agrees_with_a_full_scan_on_every_3x3_position() -> None:
    seen: set[tuple[str, ...]] = set()

    def check(board: Board) -> None:
        if board.cells in seen:
            return
        seen.add(board.cells)
        assert board.outcome == Board(3, 3, board.cells).outcome
        for cell in board.legal_moves():
            check(board.play(cell))

    check(Board.empty(3))
    assert len(seen) == 5_478


@pytest.mark.parametrize(
    ("position", "win_length", "winner", "line"),
    [
        # A row, a column and both diagonals on 5×5 with k=4.
        ("...../XXXX./OOO../...../O....", 4, "X", (5, 6, 7, 8)),
        ("X..../XO.../X.O../X...O/.....", 4, "X", (0, 5, 10, 15)),
        ("OXX../.O.../X.O../...O./.X...", 4, "O", (0, 6, 12, 18)),
        ("....X/...X./..X../OX.../OOO..", 4, "X", (4, 8, 12, 16)),
        # A line longer than k counts whole.
        ("XXXXX/OOOO./...../...../.....", 3, "X", (0, 1, 2, 3, 4)),
        # A win on the last cell beats the draw.
        ("XOX/OXO/OXX", 3, "X", (0, 4, 8)),
    ],
)
def test_larger_boards_find_the_winner_and_its_line(position: str, win_length: int, winner: str, line: tuple) -> None:
    board = Board.from_string(position, win_length)
    assert board.outcome == Outcome(winner, line)  # type: ignore[arg-type]


def test_a_win_completed_by_the_last_move_on_a_full_board_is_a_win_not_a_draw() -> None:
    board = Board.from_string("XOX/OXO/OX.")
    after = board.play(8)
    assert after.outcome == Outcome("X", (0, 4, 8))
    assert after.legal_moves() == []


def test_a_full_board_without_a_line_is_a_draw() -> None:
    board = Board.from_string("XOX/XOO/OX.").play(8)
    assert board.outcome == Outcome(None)
    assert board.outcome.is_draw


def test_a_move_completing_two_lines_reports_every_winning_cell() -> None:
    board = Board.from_string("O...O/..X../.X.X./..X../O...O", 3)
    after = board.play(12)  # the centre completes a row and a column at once
    assert after.outcome == Outcome("X", (7, 11, 12, 13, 17))


def test_play_checks_in_the_protocols_order() -> None:
    board = Board.from_string("XO./.../...")
    with pytest.raises(rules.NotYourTurnError):
        board.play(99, "O")  # not your turn beats an invalid cell
    with pytest.raises(rules.InvalidCellError):
        board.play(9, "X")
    with pytest.raises(rules.InvalidCellError):
        board.play(-1, "X")
    with pytest.raises(rules.CellTakenError):
        board.play(1, "X")
    won = Board.from_string("XXX/OO./...")
    with pytest.raises(rules.GameOverError):
        won.play(8, "O")


def test_turn_alternates_and_x_moves_first() -> None:
    board = Board.empty(4, 3)
    assert board.turn == "X"
    assert board.play(0).turn == "O"
    assert board.play(0).play(1).turn == "X"


@pytest.mark.parametrize(("size", "win_length"), [(2, 2), (16, 5), (5, 6), (5, 2)])
def test_boards_outside_the_limits_are_refused(size: int, win_length: int) -> None:
    with pytest.raises(ValueError):
        Board.empty(size, win_length)


def test_impossible_positions_are_refused() -> None:
    with pytest.raises(ValueError):
        Board.from_string("XX./.../...")  # X moved twice in a row
    with pytest.raises(ValueError):
        Board.from_string("O../.../...")  # O moved first


def test_a_15x15_game_plays_to_a_win_on_the_edge() -> None:
    board = Board.empty(15, 5)
    for x_cell, o_cell in zip([210, 211, 212, 213], [0, 1, 2, 3], strict=True):
        board = board.play(x_cell).play(o_cell)
    board = board.play(214)
    assert board.outcome == Outcome("X", (210, 211, 212, 213, 214))


def test_board_strings_round_trip() -> None:
    text = "X.O./.XO./..../...."
    assert str(Board.from_string(text)) == text
