"""The lobby's list of open rooms, with each room's current game and presence."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from django.db.models import OuterRef, Subquery

from .models import Game
from .presence import presence
from .state import build

LOBBY_GROUP = "lobby"
LOBBY_LIMIT = 100


def _open_games() -> list[Game]:
    """The current game of each open room, newest room first."""
    latest_number = Game.objects.filter(room=OuterRef("room")).order_by("-number").values("number")[:1]
    return list(
        Game.objects.filter(room__is_open=True, number=Subquery(latest_number))
        .select_related("room", "player_x", "player_o")
        .order_by("-room__created_at")[:LOBBY_LIMIT]
    )


def lobby_rooms() -> list[dict[str, Any]]:
    """The lobby's summary of every open room, newest first."""
    games = _open_games()
    seen = presence().snapshots_blocking([game.room.code for game in games])
    return [build(game.room, game, seen[game.room.code]).summary() for game in games]


alobby_rooms = database_sync_to_async(lobby_rooms)
