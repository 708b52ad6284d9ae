"""The computer as a player: seating it at a level, whose turn is its, and taking it out."""

from __future__ import annotations

import secrets

from channels.db import database_sync_to_async
from django.conf import settings
from django.db.models import Q

from game.actions.hosts import kick
from game.actions.identities import Identity
from game.actions.seating import seat
from game.actions.write import ActionRefused, current_game
from game.domain import rules
from game.models import (
    Game,
    Player,
    Room,
    Status,
)

BOT_LEVELS = ("easy", "medium", "perfect")


def computer_name(level: str) -> str:
    return f"Computer ({level})"


def bot_games_of(identity: Identity) -> int:
    """How many games this session plays against the computer now (waiting or being played)."""
    mine = Q(player_x__session_hash=identity.session_hash) | Q(player_o__session_hash=identity.session_hash)
    against_bot = Q(player_x__bot_level__gt="") | Q(player_o__bot_level__gt="")
    return Game.objects.filter(mine, against_bot, status__in=(Status.WAITING, Status.PLAYING)).count()


def add_computer(room: Room, identity: Identity, level: str) -> Game:
    """Seat the computer, at ``level``, in the room's free seat, beside this session's player."""
    if level not in BOT_LEVELS:
        raise ActionRefused("bad_level", f"The computer plays {', '.join(BOT_LEVELS)}.")
    game = current_game(room)
    mark = game.seat_of(identity.player_id)
    if mark is None:
        raise ActionRefused("not_a_player", "Take a seat first: the computer plays the other one.")
    if game.player(rules.other(mark)) is not None:
        raise ActionRefused("room_full", "Both seats are taken.")
    if bot_games_of(identity) >= settings.TICTAC["MAX_BOT_GAMES_PER_SESSION"]:
        raise ActionRefused("too_many_bots", "You are already playing the computer elsewhere: finish that game first.")
    bot = Player.objects.create(
        session_hash=f"computer:{secrets.token_hex(16)}", name=computer_name(level), bot_level=level
    )
    game, _ = seat(room, bot, None)
    return game


def computer_to_move(game: Game) -> Player | None:
    """The computer's Player if it is the computer's turn in ``game``."""
    if game.status != Status.PLAYING or game.turn is None:
        return None
    player = game.player(game.mark_to_move) if game.mark_to_move else None
    return player if player is not None and player.bot_level else None


def computer_seat(game: Game) -> rules.Mark | None:
    for mark in rules.MARKS:
        player = game.player(mark)
        if player is not None and player.bot_level:
            return mark
    return None


def remove_computer(room: Room) -> Game | None:
    """The computer leaves the room with the person it played (its seat is freed)."""
    game = current_game(room)
    mark = computer_seat(game)
    if mark is None:
        return None
    kick(room, mark)
    return current_game(room)


aadd_computer = database_sync_to_async(add_computer)


aremove_computer = database_sync_to_async(remove_computer)
