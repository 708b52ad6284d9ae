"""Making rooms: a host's new room, quick play's room, and the room two paired seekers meet in."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from channels.db import database_sync_to_async
from django.db import transaction
from django.db.models import Q

from game.actions.identities import Identity
from game.actions.seating import seat
from game.actions.write import atomic_write, current_game
from game.domain import clocks, rules
from game.domain.protocol import DEFAULT_NAME, NAME_MAX_LENGTH
from game.models import (
    DEFAULT_IDLE_SECONDS,
    Game,
    Player,
    Room,
    Status,
)


def create_room(
    name: str = "",
    size: int = 3,
    win_length: int = 3,
    host_id: int | None = None,
    time_control: str = "none",
    absence_seconds: int = 30,
    rated: bool = False,
    idle_seconds: int = DEFAULT_IDLE_SECONDS,
    *,
    quick_play: bool = False,
) -> Room:
    rules.check_dimensions(size, win_length)
    clocks.TimeControl.parse(time_control)
    room = Room.objects.create(
        name=name,
        size=size,
        win_length=win_length,
        host_id=host_id,
        time_control=time_control,
        absence_seconds=absence_seconds,
        rated=rated,
        idle_seconds=idle_seconds,
        quick_play=quick_play,
    )
    current_game(room)
    return room


def rooms_waiting_for(identity: Identity) -> int:
    """How many open rooms have this session seated and waiting for a second player."""
    return Game.objects.filter(
        status=Status.WAITING, room__is_open=True, player_x__session_hash=identity.session_hash
    ).count()


QUICK_PLAY_NAME = "Quick play"


def quick_play_room(identity: Identity) -> Room | None:
    """The open quick-play room where this session sits in a game still waiting or being played, if any.

    Quick play sends such a session back there rather than into the pool:
    one quick-play game at a time per session.
    """
    if identity.session_hash is None:
        return None
    mine = (
        Game.objects.filter(status__in=(Status.WAITING, Status.PLAYING), room__is_open=True, room__quick_play=True)
        .filter(Q(player_x__session_hash=identity.session_hash) | Q(player_o__session_hash=identity.session_hash))
        .select_related("room")
        .order_by("-room__created_at")
        .first()
    )
    return None if mine is None else mine.room


@dataclass(frozen=True)
class PairedSeeker:
    """One of the two sessions quick play's pool paired (game.realtime.seeks), as its seek named it."""

    session_hash: str
    user_id: int | None
    name: str | None
    """The name it sits under (numbered if the other has it too); None: its Player's, or the default."""


def start_paired_game(
    first: PairedSeeker, second: PairedSeeker, *, size: int, win_length: int, time_control: str
) -> tuple[Room, Game]:
    """A new quick-play room with a pool's board and clock, the two seekers seated in it: one transaction.

    Rated when both are signed in, as a pool game on lichess is: a pool pairs strangers, so
    nobody picks whom they are rated against.
    """
    rated = first.user_id is not None and second.user_id is not None
    with transaction.atomic():
        room = create_room(
            name=QUICK_PLAY_NAME,
            size=size,
            win_length=win_length,
            time_control=time_control,
            rated=rated,
            quick_play=True,
        )
        with atomic_write(room):
            return room, seat_pair(room, first, second)


def seat_pair(room: Room, first: PairedSeeker, second: PairedSeeker) -> Game:
    """Seat two paired seekers in ``room``, on sides drawn at random: their game starts."""
    x, o = (first, second) if secrets.randbelow(2) == 0 else (second, first)
    game = current_game(room)
    for seeker in (x, o):
        defaults = {"name": (seeker.name or DEFAULT_NAME)[:NAME_MAX_LENGTH], "user_id": seeker.user_id}
        player, made = Player.objects.get_or_create(session_hash=seeker.session_hash, defaults=defaults)
        if not made and seeker.name and player.name != seeker.name:
            player.name = seeker.name[:NAME_MAX_LENGTH]
            player.save(update_fields=["name"])
        # No name counts as typed here: one the other seeker has too is numbered, never refused.
        game, _ = seat(room, player, None)
    return game


aquick_play_room = database_sync_to_async(quick_play_room)


astart_paired_game = database_sync_to_async(start_paired_game)
