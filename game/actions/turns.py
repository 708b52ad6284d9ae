"""When a turn begins and a game ends: the clock and deadline columns every family of actions writes."""

from __future__ import annotations

from typing import Any

from game.actions.write import epoch_ms, from_epoch_ms
from game.domain import clocks, rules
from game.models import (
    Game,
    Room,
    Status,
)

NO_OFFER: dict[str, Any] = {"offer_kind": "", "offer_by": ""}


def turn_begins(
    room: Room,
    game_clocks: clocks.Clocks | None,
    move_count: int,
    turn: rules.Mark,
    at_ms: int,
    *,
    taken_back: bool = False,
) -> dict[str, Any]:
    """The Game fields for ``turn``'s turn beginning at ``at_ms``, ``move_count`` moves into the game.

    Until both players have made a first move no clock runs: the player to
    move has a first-move deadline instead, clock or no clock, and missing it
    aborts the game (settle). From the second move on the clocks run; without
    a clock, the turn's start is kept for idle claims (idle_claim_at).
    ``game_clocks`` are the clocks as they stand (None for a new game's);
    ``taken_back`` when the turn comes back to its player by a takeback.
    """
    control = room.clock_control
    if move_count < 2:
        waiting = clocks.Clocks.waiting(control) if game_clocks is None else game_clocks.stopped(at_ms)
        fields = clock_fields(waiting) if control.is_on else {"turn_started_at": None}
        return fields | {"deadline": from_epoch_ms(at_ms + control.first_move_ms)}
    if not control.is_on:
        return {"turn_started_at": from_epoch_ms(at_ms), "deadline": None}
    assert game_clocks is not None
    if game_clocks.running is None:  # the first move of each is made: the clocks start, or go on after a pause
        return clock_fields(game_clocks.restarted(turn, at_ms))
    if taken_back:
        return clock_fields(game_clocks.handed_back(control, at_ms))
    return clock_fields(game_clocks.after_move(control, at_ms))


def clocks_of(game: Game) -> clocks.Clocks | None:
    """The game's clocks, or None when its room has no time control."""
    if game.clock_x_ms is None or game.clock_o_ms is None:
        return None
    since = game.turn_started_at
    running = game.mark_to_move if game.status == Status.PLAYING and since is not None else None
    return clocks.Clocks(game.clock_x_ms, game.clock_o_ms, running, epoch_ms(since) if since and running else None)


def clock_fields(game_clocks: clocks.Clocks | None) -> dict[str, Any]:
    """The Game fields that store ``game_clocks``."""
    if game_clocks is None:
        return {}
    deadline = game_clocks.deadline_ms
    since = game_clocks.since_ms
    return {
        "clock_x_ms": game_clocks.x_ms,
        "clock_o_ms": game_clocks.o_ms,
        "turn_started_at": from_epoch_ms(since) if since is not None else None,
        "deadline": from_epoch_ms(deadline) if deadline is not None else None,
    }


def ended(game: Game, at_ms: int) -> dict[str, Any]:
    """What every ending changes besides its result: the clocks stop, the offer and the countdowns go."""
    changes: dict[str, Any] = {
        "x_left_at": None,
        "o_left_at": None,
        "finished_at": from_epoch_ms(at_ms),
        "deadline": None,
        "turn_started_at": None,
    }
    if game.offer_kind:
        changes.update(NO_OFFER)
    game_clocks = clocks_of(game)
    if game_clocks is not None:
        changes.update(clock_fields(game_clocks.stopped(at_ms)))
    return changes
