"""Practice from here: a room against the computer that starts from a position of a finished game.

``POST /play/computer/`` with ``from_game`` and ``ply`` (docs/protocol.md,
"Analysis") asks for one. The position is checked here, and the room made
here with the position's moves already played: its first game holds them,
board, history and moves, as if they had been played in it (by nobody: the
moves have no player). game.web.views.play_computer then seats the visitor on
the side to move and the computer on the other, within the budgets of every
game against the computer. The room is never rated.

Only a finished game's positions can be practised: a game still being played
would otherwise get the computer's help for its next move.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from game.domain import rules
from game.domain.notation import mark_of
from game.models import FINISHED_STATUSES, Game, Move, Room, encode_board

PRACTICE_ROOM_NAME = "Practice against the computer"


@dataclass(frozen=True)
class StartingPosition:
    """A position of a finished game: the board's size and k, and the moves that lead to it."""

    game_id: int
    size: int
    win_length: int
    moves: tuple[rules.Cell, ...]

    @property
    def board(self) -> rules.Board:
        board = rules.Board.empty(self.size, self.win_length)
        for cell in self.moves:
            board = board.play(cell)
        return board

    @property
    def turn(self) -> rules.Mark:
        """Who is to move: the visitor's side (the computer plays the other)."""
        return rules.X if len(self.moves) % 2 == 0 else rules.O


def position_asked_for(from_game: str | None, ply: str | None) -> StartingPosition | None:
    """The position ``ply`` moves into the finished game ``from_game`` (the fields of a POST), or None when
    no game is named. ValueError, with a reason a player reads, for any other bad value."""
    game_field, ply_field = (from_game or "").strip(), (ply or "").strip()
    if not game_field:
        if ply_field:
            raise ValueError("A position to practise from needs the game it is from (from_game).")
        return None
    try:
        game_id, moves_in = int(game_field), int(ply_field)
    except ValueError:
        raise ValueError("The game and the position to practise from must be whole numbers.") from None
    game = Game.objects.select_related("room").filter(pk=game_id).first()
    if game is None:
        raise ValueError(f"No game has the id {game_id}.")
    if game.status not in FINISHED_STATUSES:
        raise ValueError("Practice starts from a finished game: this one is still being played.")
    history: list[int] = list(game.history)
    if not 0 <= moves_in <= len(history):
        raise ValueError(f"That game has positions 0 to {len(history)}, not {moves_in}.")
    position = StartingPosition(game.pk, game.room.size, game.room.win_length, tuple(history[:moves_in]))
    if position.board.outcome is not None:
        raise ValueError("The game is over in that position: choose an earlier one.")
    return position


def create_room_at(position: StartingPosition) -> Room:
    """A new room (unrated, no clock) whose first game has ``position``'s moves played, waiting for its players."""
    board = position.board
    with transaction.atomic():
        room = Room.objects.create(name=PRACTICE_ROOM_NAME, size=position.size, win_length=position.win_length)
        game = Game.objects.create(
            room=room,
            number=1,
            board=encode_board(board.cells),
            history=list(position.moves),
            move_count=len(position.moves),
        )
        Move.objects.bulk_create(
            Move(game=game, number=number, cell=cell, mark=mark_of(number - 1))
            for number, cell in enumerate(position.moves, start=1)
        )
    return room
