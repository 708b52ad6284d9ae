"""Moves and resignations: judged with the pure rules, stored with the move's row in one swap."""

from __future__ import annotations

from functools import partial
from typing import Any

from channels.db import database_sync_to_async
from django.db import IntegrityError

from game.actions import write
from game.actions.turns import NO_OFFER, clocks_of, ended, turn_begins
from game.actions.write import (
    ActionRefused,
    AlreadyPlayed,
    atomic_write,
    batch,
    board_of,
    cached_or_current,
    current_game,
    epoch_ms,
    frequent_actions,
    refuse_unless_playing,
    seat_or_refuse,
    store_move,
    swap,
)
from game.domain import rules
from game.models import (
    EndReason,
    Game,
    Move,
    Room,
    Status,
    encode_board,
)


def play_move(room: Room, player_id: int | None, cell: int, client_id: str | None = None) -> Game:
    """Judge and apply ``player_id``'s move to ``cell``: persisted before this returns.

    A move whose ``client_id`` this player's move already carried in this
    game or the one before, whatever its cell, raises AlreadyPlayed instead
    of being played (a page resending after a reconnect): the caller answers
    with the state. Checked for free on the way: a refused move asks
    :func:`_already_played`, a legal one is stopped by the Move constraint
    (this game) or the swap's condition (the game before).
    """
    game, fresh = cached_or_current(room)
    while True:
        try:
            mark, changes = _judge_move(room, game, player_id, cell)
        except ActionRefused:
            if not fresh:
                game, fresh = current_game(room), True  # the refusal may come from a stale copy: judge again
                continue
            if client_id and _already_played(game, player_id, client_id):
                raise AlreadyPlayed() from None
            raise
        try:
            with atomic_write(room):
                swapped = store_move(game, changes, cell, mark, player_id, client_id or "")
        except IntegrityError:
            # Inside a batch the transaction is spoilt (no savepoint): the batch fails and runs
            # each action again alone, where this write rolled back alone and the check may read.
            if client_id and not getattr(batch, "running", False) and _already_played(game, player_id, client_id):
                raise AlreadyPlayed() from None  # move_client_id_once_per_player: the id was used in this game
            raise
        if swapped:
            return game
        if client_id and game.number > 1 and _already_played(game, player_id, client_id):
            raise AlreadyPlayed()  # the swap's condition: the id was used in the game before
        game, fresh = current_game(room), True  # someone else changed the game first: judge again


def _already_played(game: Game, player_id: int | None, client_id: str) -> bool:
    """Whether ``player_id`` played a move with ``client_id`` in this game or the one before."""
    if player_id is None:
        return False
    return Move.objects.filter(
        game__room_id=game.room_id, game__number__gte=game.number - 1, player_id=player_id, client_id=client_id
    ).exists()


def _judge_move(room: Room, game: Game, player_id: int | None, cell: int) -> tuple[rules.Mark, dict[str, Any]]:
    """The mark that moves and the changes the move makes, or ActionRefused."""
    mark = seat_or_refuse(game, player_id)
    refuse_unless_playing(game)
    moved_at = epoch_ms(write.now())
    game_clocks = clocks_of(game)
    if game_clocks is not None and game_clocks.has_flagged(moved_at):
        raise ActionRefused("game_over", "Your time ran out.")
    if game.move_count < 2 and game.deadline is not None and epoch_ms(game.deadline) <= moved_at:
        raise ActionRefused("game_over", "Too late for a first move: the game is aborted.")
    try:
        board = board_of(room, game).play(cell, mark)
    except rules.RuleError as error:
        raise ActionRefused(error.code, str(error)) from None
    outcome = board.outcome
    changes: dict[str, Any] = {
        "board": encode_board(board.cells),
        "history": [*game.history, cell],
        "move_count": game.move_count + 1,
    }
    if game.offer_kind:
        changes.update(NO_OFFER)  # a move lapses any offer
    if outcome is None:
        changes["turn"] = board.turn
        changes.update(turn_begins(room, game_clocks, changes["move_count"], board.turn, moved_at))
    else:
        changes.update(
            status=Status.DRAW if outcome.is_draw else Status.WON,
            reason=EndReason.FULL_BOARD if outcome.is_draw else EndReason.LINE,
            turn=None,
            winner=outcome.winner,
            line=list(outcome.line) if outcome.line else None,
            **ended(game, moved_at),
        )
    return mark, changes


def resign(room: Room, player_id: int | None) -> Game:
    while True:
        game = current_game(room)
        mark = seat_or_refuse(game, player_id)
        refuse_unless_playing(game)
        result = {"status": Status.RESIGNED, "reason": EndReason.RESIGNED, "winner": rules.other(mark)}
        if swap(game, turn=None, **result, **ended(game, epoch_ms(write.now()))):
            return game


aresign = database_sync_to_async(resign)


async def aplay_move(room: Room, player_id: int | None, cell: int, client_id: str | None = None) -> Game:
    return await frequent_actions.run(partial(play_move, room, player_id, cell, client_id))
