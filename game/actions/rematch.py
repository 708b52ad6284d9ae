"""After a game: the rematch both ask for, the series score, and the next game of the room."""

from __future__ import annotations

from functools import partial
from typing import Any

from game.actions import ratings, write
from game.actions.turns import turn_begins
from game.actions.write import (
    ActionRefused,
    atomic_write,
    cached_or_current,
    current_game,
    epoch_ms,
    frequent_actions,
    seat_or_refuse,
    swap,
)
from game.domain import rules
from game.models import (
    DECIDED_STATUSES,
    FINISHED_STATUSES,
    Game,
    Player,
    Room,
    Status,
    encode_board,
)
from game.storage.cached_games import game_cache


def request_rematch(room: Room, player_id: int | None) -> Game:
    """Record a rematch request; when both players have asked, start the next game."""
    game, fresh = cached_or_current(room)
    while True:
        try:
            mark = seat_or_refuse(game, player_id)
            _refuse_unless_finished(game)
        except ActionRefused:
            if fresh:
                raise
            game, fresh = current_game(room), True  # the refusal may come from a stale copy
            continue
        flag = "rematch_x" if mark == rules.X else "rematch_o"
        both_asked = (game.rematch_x or mark == rules.X) and (game.rematch_o or mark == rules.O)
        with atomic_write(room):
            if swap(game, **{flag: True}):
                if not both_asked:
                    return game
                # Marks swap, so whoever played O moves first in the new game.
                return start_next_game(room, game, player_x=game.player_o, player_o=game.player_x)
        game, fresh = current_game(room), True  # someone else changed the game first


def _refuse_unless_finished(game: Game) -> None:
    if game.status == Status.WAITING:
        raise ActionRefused("game_not_started", "The game has not started yet.")
    if game.status not in FINISHED_STATUSES:
        raise ActionRefused("game_not_over", "A rematch can be asked for once the game is over.")


def series_after(game: Game) -> dict[str, Any]:
    """The score between the game's players in the room, this game included once it is over."""
    wins: dict[str, int] = dict(game.series.get("wins", {}))
    draws: int = game.series.get("draws", 0)
    counted = ratings.counts(game)  # a game over before both had moved adds nothing
    if counted and game.status in DECIDED_STATUSES and game.winner is not None:
        winner = game.player_x_id if game.winner == rules.X else game.player_o_id
        wins[str(winner)] = wins.get(str(winner), 0) + 1
    elif counted and game.status == Status.DRAW:
        draws += 1
    return {"wins": wins, "draws": draws}


def start_next_game(room: Room, game: Game, player_x: Player | None, player_o: Player | None) -> Game:
    both_seated = player_x is not None and player_o is not None
    same_pair = both_seated and {game.player_x_id, game.player_o_id} == {player_x.id, player_o.id}  # type: ignore[union-attr]
    next_game = Game(
        room=room,
        number=game.number + 1,
        board=encode_board(rules.Board.empty(room.size).cells),
        status=Status.PLAYING if both_seated else Status.WAITING,
        turn=rules.X if both_seated else None,
        player_x=player_x,
        player_o=player_o,
        series=series_after(game) if same_pair else {},
    )
    if both_seated:
        for name, value in turn_begins(room, None, 0, rules.X, epoch_ms(write.now())).items():
            setattr(next_game, name, value)
    next_game.ratings = ratings.at_board(room, {rules.X: player_x, rules.O: player_o})
    next_game.save(force_insert=True)
    next_game.room = room
    game_cache.store(next_game)
    return next_game


async def arequest_rematch(room: Room, player_id: int | None) -> Game:
    return await frequent_actions.run(partial(request_rematch, room, player_id))
