"""Endings nobody sends: flags, claims against an absent or idle opponent, and the referee's settling."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from channels.db import database_sync_to_async
from django.db.models import Q

from game.actions import write
from game.actions.computer import computer_seat
from game.actions.turns import clocks_of, ended
from game.actions.write import ActionRefused, current_game, epoch_ms, refuse_unless_playing, seat_or_refuse, swap
from game.domain import rules
from game.models import (
    SOMEONE_LEFT,
    EndReason,
    Game,
    Room,
    Status,
)


def claim_at(room: Room, game: Game, mark: rules.Mark) -> datetime | None:
    """When the opponent of ``mark``'s absent player may claim; None while ``mark`` is here."""
    left = game.left_at(mark)
    return None if left is None else left + timedelta(seconds=room.absence_seconds)


def idle_since(room: Room, game: Game) -> tuple[rules.Mark, datetime] | None:
    """In a room without a clock, the person to move and since when (once both have made a first move)."""
    if game.status != Status.PLAYING or game.move_count < 2 or game.turn_started_at is None:
        return None
    mark = game.mark_to_move
    player = game.player(mark) if mark is not None else None
    if mark is None or player is None or player.bot_level or room.clock_control.is_on:
        return None
    return mark, game.turn_started_at


def idle_claim_at(room: Room, game: Game, mark: rules.Mark) -> datetime | None:
    """When the other player may claim against ``mark`` for taking over ``room.idle_seconds`` on a move."""
    idle = idle_since(room, game)
    if idle is None or idle[0] != mark:
        return None
    return idle[1] + timedelta(seconds=room.idle_seconds)


def claim(room: Room, player_id: int | None, result: str) -> Game:
    """The opponent has been away, or idle without a clock, past the room's limit: end the game for the claimant."""
    while True:
        game = current_game(room)
        mark = seat_or_refuse(game, player_id)
        refuse_unless_playing(game)
        if result not in ("win", "draw"):
            raise ActionRefused("bad_result", "A claim's result is 'win' or 'draw'.")
        opponent = rules.other(mark)
        moments = [moment for moment in (claim_at(room, game, opponent), idle_claim_at(room, game, opponent)) if moment]
        if not moments:
            raise ActionRefused("not_absent", "Your opponent is here.")
        claimable = min(moments)
        at = write.now()
        if at < claimable:
            seconds = int((claimable - at).total_seconds()) + 1
            raise ActionRefused("too_early", f"You can claim in {seconds} s.")
        if game.move_count < 2:
            changes = _ABORTED
        elif result == "win":
            changes = {"status": Status.ABANDONED, "reason": EndReason.CLAIMED_WIN, "winner": mark}
        else:
            changes = {"status": Status.DRAW, "reason": EndReason.CLAIMED_DRAW}
        if swap(game, turn=None, **ended(game, epoch_ms(at)), **changes):
            return game


_ABORTED: dict[str, Any] = {"status": Status.ABORTED, "reason": EndReason.ABORTED, "winner": None}


def note_presence(room: Room, present_sessions: frozenset[str]) -> Game | None:
    """Start or cancel the seated players' absence countdowns to match who is here; the game if it changed."""
    while True:
        game = current_game(room)
        if game.status != Status.PLAYING:
            return None
        at = write.now()
        changes: dict[str, Any] = {}
        for mark, field in ((rules.X, "x_left_at"), (rules.O, "o_left_at")):
            player = game.player(mark)
            if player is None or player.bot_level:
                continue  # the computer never leaves on its own
            here = player.session_hash in present_sessions
            if here and game.left_at(mark) is not None:
                changes[field] = None
            elif not here and game.left_at(mark) is None:
                changes[field] = at
        if not changes:
            return None
        if swap(game, **changes):
            return game


def is_due(room: Room, game: Game, at: datetime | None = None) -> bool:
    """Whether the server must end ``game`` on its own by now: a flag has fallen, or an absent player's
    game has to be aborted."""
    if game.status != Status.PLAYING:
        return False
    at = at or write.now()
    if game.deadline is not None and game.deadline <= at:
        return True
    if game.move_count >= 2 and computer_seat(game) is None:
        return False
    # Left before both had moved (aborted), or left the computer (which then claims the game).
    return any((moment := claim_at(room, game, mark)) is not None and moment <= at for mark in rules.MARKS)


def settle(room: Room) -> Game | None:
    """End the room's game if it is due (a flag fell, or a player left before both had moved); the game if so.

    Any number of processes may call this for the same game at once: the
    compare-and-swap lets exactly one of them end it.
    """
    while True:
        game = current_game(room)
        at = write.now()
        if not is_due(room, game, at):
            return None
        game_clocks = clocks_of(game)
        if game_clocks is not None and game_clocks.has_flagged(epoch_ms(at)):
            deadline, flagged = game_clocks.deadline_ms, game_clocks.running
            assert deadline is not None
            assert flagged is not None
            changes: dict[str, Any] = {
                "status": Status.TIMEOUT,
                "reason": EndReason.TIMEOUT,
                "winner": rules.other(flagged),
            }
            ending = ended(game, deadline)  # the loser's clock shows 0:00, whenever this runs
        elif game.move_count < 2:
            changes = _ABORTED
            ending = ended(game, epoch_ms(at))
        else:
            winner = computer_seat(game)
            changes = {"status": Status.ABANDONED, "reason": EndReason.CLAIMED_WIN, "winner": winner}
            ending = ended(game, epoch_ms(at))
        if swap(game, turn=None, **ending, **changes):
            return game


def due_rooms(limit: int = 200) -> list[Room]:
    """Rooms whose game the server may have to end on its own now (see :func:`is_due`).

    Every process's referee asks twice a second, so each question reads only the games that can
    be the answer, through its own partial index (Game.Meta): the games in play whose deadline has
    passed, and those in play that someone has left. Neither grows with the games in play (nor
    with every game ever played, as one query with both conditions OR-ed together did).
    """
    at = write.now()
    playing = Game.objects.filter(status=Status.PLAYING).select_related("room", "player_x", "player_o").order_by()
    flagged = playing.filter(deadline__lte=at)[:limit]
    left = playing.filter(SOMEONE_LEFT).filter(
        Q(move_count__lt=2) | Q(player_x__bot_level__gt="") | Q(player_o__bot_level__gt="")
    )[:limit]
    candidates = {game.pk: game for game in (*flagged, *left)}
    return [game.room for game in candidates.values() if is_due(game.room, game, at)]


aclaim = database_sync_to_async(claim)


anote_presence = database_sync_to_async(note_presence)


asettle = database_sync_to_async(settle)


adue_rooms = database_sync_to_async(due_rooms)
