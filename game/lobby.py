"""The lobby's list: rooms with people in them now, the ones where a newcomer gets a game at once first."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any, Final

from channels.db import database_sync_to_async
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from .models import Game
from .presence import presence
from .state import build

LOBBY_GROUP = "lobby"
LOBBY_LIMIT: Final = 50
# A room nobody has been present in for this long leaves the list (it still opens by URL).
IDLE_AFTER_SECONDS: Final = 10 * 60
# Upper bounds on what one lobby read looks at, however many rooms the database holds.
ACTIVE_ROOMS_READ: Final = 500
NEW_ROOMS_READ: Final = 200


def _candidate_games(active_codes: list[str]) -> list[Game]:
    """The current game of each open room that is active, or was made within the idle limit."""
    latest_number = Game.objects.filter(room=OuterRef("room")).order_by("-number").values("number")[:1]
    recent = timezone.now() - timedelta(seconds=IDLE_AFTER_SECONDS)
    new_rooms = Q(room__created_at__gte=recent)
    games = (
        Game.objects.filter(room__is_open=True, number=Subquery(latest_number))
        .select_related("room", "player_x", "player_o")
        .order_by("-room__created_at")
    )
    active = list(games.filter(room__code__in=active_codes)) if active_codes else []
    seen = {game.room_id for game in active}
    return active + [game for game in games.filter(new_rooms)[:NEW_ROOMS_READ] if game.room_id not in seen]


def _rank(summary: dict[str, Any]) -> int:
    """Joinable rooms first, then games being played (to watch), then the rest."""
    if summary["joinable"]:
        return 0
    return 1 if summary["status"] == "playing" else 2


def lobby_rooms() -> list[dict[str, Any]]:
    """The lobby's summaries, in its order (docs/protocol.md, "Lobby feed")."""
    store = presence()
    activity = store.active_rooms_blocking(time.time() - IDLE_AFTER_SECONDS, ACTIVE_ROOMS_READ)
    games = _candidate_games(list(activity))
    if not games:
        return []
    seen = store.snapshots_blocking([game.room.code for game in games])
    ranked = []
    for game in games:
        summary = build(game.room, game, seen[game.room.code]).summary()
        last_active = activity.get(game.room.code, game.room.created_at.timestamp())
        ranked.append((_rank(summary), -last_active, summary))
    ranked.sort(key=lambda entry: entry[:2])
    return [summary for _, _, summary in ranked[:LOBBY_LIMIT]]


alobby_rooms = database_sync_to_async(lobby_rooms)
