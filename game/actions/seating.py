"""Taking a seat: the player a session is, the name shown beside the opponent's, and the seat itself."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from django.db import IntegrityError, transaction

from game.actions import ratings, write
from game.actions.identities import Identity
from game.actions.turns import clocks_of, turn_begins
from game.actions.write import ActionRefused, board_of, current_game, epoch_ms, swap
from game.domain import names, rules
from game.domain.protocol import DEFAULT_NAME, NAME_MAX_LENGTH
from game.models import (
    Game,
    Player,
    Room,
    Status,
)
from game.storage.cached_games import game_cache


def _player(identity: Identity, name: str | None) -> Player:
    """This session's Player, made (under ``name``) the first time it takes a seat."""
    assert identity.session_hash is not None
    defaults = {"name": name or (identity.user_name or DEFAULT_NAME)[:NAME_MAX_LENGTH], "user_id": identity.user_id}
    if identity.player_id is None:
        # Nobody had a Player for this session when its socket connected: most likely a newcomer,
        # so insert first (get_or_create would look first); another tab may have made it since.
        try:
            with transaction.atomic():
                return Player.objects.create(session_hash=identity.session_hash, **defaults)
        except IntegrityError:
            pass
    player, _ = Player.objects.get_or_create(session_hash=identity.session_hash, defaults=defaults)
    return player


def _same_name(first: str, second: str) -> bool:
    """Whether a reader could take one name for the other: NFKC, case and look-alikes aside (game.domain.names)."""
    return names.same_name(first, second)


def _name_beside(player: Player, typed: str | None, opponent: Player | None) -> str:
    """The name ``player`` sits under beside ``opponent``: names are unique among a room's seats.

    A name someone typed that the opponent already has is refused; a name
    nobody typed (the default, or the one this session used before) is numbered.
    """
    wanted = typed or player.name
    if opponent is None or opponent.id == player.id or not _same_name(wanted, opponent.name):
        return wanted
    if typed:
        raise ActionRefused("name_taken", f"{opponent.name} is already playing here: pick another name.")
    return f"{wanted[: NAME_MAX_LENGTH - 2]} 2"


def join(room: Room, identity: Identity, name: str | None, side: rules.Mark | None = None) -> tuple[Game, Player]:
    """Seat this session (``side`` if it is free, else X first, then O), or re-attach it to the seat it holds."""
    if identity.session_key is None:
        raise ActionRefused("no_session", "Open the room page first: joining needs a session cookie.")
    if not room.is_open:
        raise ActionRefused("room_closed", "This room is closed.")
    return seat(room, _player(identity, name), name, side)


def seat(room: Room, player: Player, name: str | None, side: rules.Mark | None = None) -> tuple[Game, Player]:
    while True:
        game = current_game(room)
        mine = game.seat_of(player.id)
        free = [mark for mark in (side, rules.X, rules.O) if mark is not None and game.player(mark) is None]
        if mine is not None:
            opponent = game.player(rules.other(mine))
        elif free:
            opponent = game.player(rules.other(free[0]))
        else:
            raise ActionRefused("room_full", "Both seats are taken: you can watch.")
        seated_as = _name_beside(player, name, opponent)
        renamed = seated_as != player.name
        if renamed:
            player.name = seated_as
            player.save(update_fields=["name"])
        if mine is not None:
            # Re-attached; a new name shows at the next state.
            for seat in (game.player_x, game.player_o):
                if seat is not None and seat.id == player.id:
                    seat.name = player.name
            if renamed:
                game_cache.store(game)  # the name is saved: this process's copy shows it too
            return game, player
        changes: dict[str, Any] = {"player_x" if free[0] == rules.X else "player_o": player}
        if opponent is not None:
            turn = board_of(room, game).turn
            changes.update(status=Status.PLAYING, turn=turn)
            # A new game, or one that waited for a seat to be filled again: it goes on from its board and clocks.
            stored = clocks_of(game) if game.move_count else None
            changes.update(turn_begins(room, stored, game.move_count, turn, epoch_ms(write.now())))
        seats: dict[str, Player | None] = {
            rules.X: changes.get("player_x", game.player_x),
            rules.O: changes.get("player_o", game.player_o),
        }
        changes["ratings"] = ratings.at_board(room, seats)
        if swap(game, **changes):
            return game, player


ajoin = database_sync_to_async(join)
