"""What a host does from the admin: close a room, or take a player out of a seat."""

from __future__ import annotations

from game.actions import write
from game.actions.rematch import start_next_game
from game.actions.turns import ended
from game.actions.write import atomic_write, current_game, epoch_ms, swap
from game.domain import rules
from game.models import (
    FINISHED_STATUSES,
    Room,
    Status,
)


def close_room(room: Room) -> None:
    """Close a room: it leaves the lobby and refuses players (its sockets are closed by the caller)."""
    Room.objects.filter(pk=room.pk).update(is_open=False)
    room.is_open = False


def kick(room: Room, mark: rules.Mark) -> int | None:
    """Free ``mark``'s seat in the current game; returns the id of the player who held it.

    A game in play waits for someone to take the seat and then goes on from
    its board; after a finished game the one who stays starts a fresh game as X.
    """
    while True:
        game = current_game(room)
        kicked = game.player_x if mark == rules.X else game.player_o
        if kicked is None:
            return None
        stays = game.player_o if mark == rules.X else game.player_x
        with atomic_write(room):
            if game.status in FINISHED_STATUSES:
                if not swap(game, rematch_x=False, rematch_o=False):
                    continue
                start_next_game(room, game, player_x=stays, player_o=None)
                return kicked.id
            seat = {"player_x": None} if mark == rules.X else {"player_o": None}
            # Clocks, offer and countdowns stop while the seat is free; the clocks go on when it is taken again.
            if swap(game, **seat, **ended(game, epoch_ms(write.now())), status=Status.WAITING, turn=None):
                return kicked.id
