"""Draw offers and takeback requests, and their answers."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async

from game.actions import write
from game.actions.turns import NO_OFFER, clocks_of, ended, turn_begins
from game.actions.write import (
    ActionRefused,
    atomic_write,
    current_game,
    epoch_ms,
    refuse_unless_playing,
    seat_or_refuse,
    swap,
)
from game.domain import rules
from game.models import (
    EndReason,
    Game,
    Move,
    OfferKind,
    Room,
    Status,
    encode_board,
)


def offer_draw(room: Room, player_id: int | None) -> Game:
    """Offer a draw; accepts the opponent's own pending draw offer instead."""
    while True:
        game = current_game(room)
        mark = seat_or_refuse(game, player_id)
        refuse_unless_playing(game)
        if game.offer_kind == OfferKind.DRAW and game.offer_by == rules.other(mark):
            return answer_offer(room, player_id, accept=True)
        if game.offer_kind:
            raise ActionRefused("offer_pending", "An offer is already waiting for an answer.")
        if swap(game, offer_kind=OfferKind.DRAW, offer_by=mark):
            return game


def request_takeback(room: Room, player_id: int | None) -> Game:
    """Ask the opponent to take back this player's last move (only while it is the last move)."""
    while True:
        game = current_game(room)
        mark = seat_or_refuse(game, player_id)
        refuse_unless_playing(game)
        if game.offer_kind:
            raise ActionRefused("offer_pending", "An offer is already waiting for an answer.")
        if not game.history or game.turn == mark:
            raise ActionRefused("nothing_to_take_back", "Only your own last move can be taken back.")
        if swap(game, offer_kind=OfferKind.TAKEBACK, offer_by=mark):
            return game


def answer_offer(room: Room, player_id: int | None, *, accept: bool) -> Game:
    """Accept or decline the opponent's pending offer."""
    while True:
        game = current_game(room)
        mark = seat_or_refuse(game, player_id)
        refuse_unless_playing(game)
        if not game.offer_kind or game.offer_by != rules.other(mark):
            raise ActionRefused("no_offer", "Your opponent has not offered anything.")
        at = epoch_ms(write.now())
        if not accept:
            changes: dict[str, Any] = dict(NO_OFFER)
        elif game.offer_kind == OfferKind.DRAW:
            changes = {"status": Status.DRAW, "reason": EndReason.AGREED, "turn": None, **ended(game, at)}
        else:
            changes = _taken_back(room, game, at)
        with atomic_write(room):
            if swap(game, **changes):
                if "history" in changes:  # a takeback: its move is no longer part of the game
                    Move.objects.filter(game=game, number=game.move_count + 1).delete()
                return game


def _taken_back(room: Room, game: Game, at_ms: int) -> dict[str, Any]:
    """The changes that remove the game's last move and give the turn back to whoever made it."""
    cells = list(game.cells)
    cells[game.history[-1]] = rules.EMPTY
    changes: dict[str, Any] = {
        "board": encode_board(tuple(cells)),
        "history": game.history[:-1],
        "move_count": game.move_count - 1,
        "turn": game.offer_by,
        **NO_OFFER,
    }
    back_to = rules.X if game.offer_by == rules.X else rules.O
    return changes | turn_begins(room, clocks_of(game), changes["move_count"], back_to, at_ms, taken_back=True)


aoffer_draw = database_sync_to_async(offer_draw)


arequest_takeback = database_sync_to_async(request_takeback)


aanswer_offer = database_sync_to_async(answer_offer)
