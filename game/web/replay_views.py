"""HTTP views for games after the fact: a game's replay page, its downloads, and a room's past games.

They read only; anyone may open them, with or without a session.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from game.domain.notation import GameRecord, cell_name, mark_of
from game.models import FINISHED_STATUSES, EndReason, Game, Move, Room

ROOM_GAMES_LISTED = 50


def _games() -> QuerySet[Game]:
    """Games with what a record needs: room, players, and when the last move was played."""
    last_move_at = Move.objects.filter(game=OuterRef("pk")).order_by("-number").values("created_at")[:1]
    return Game.objects.select_related("room", "player_x", "player_o").annotate(last_move_at=Subquery(last_move_at))


def _game_or_404(game_id: int) -> Game:
    return get_object_or_404(_games(), pk=game_id)


def finished_at(game: Game) -> datetime | None:
    """When a finished game ended: its last move's time when a move ended it, else its last change."""
    if game.status not in FINISHED_STATUSES:
        return None
    ended_by_move = game.reason in (EndReason.LINE, EndReason.FULL_BOARD)
    moved_at: datetime | None = getattr(game, "last_move_at", None)
    return moved_at if ended_by_move and moved_at is not None else game.updated_at


def _record(game: Game) -> GameRecord:
    played = finished_at(game) or game.updated_at
    return GameRecord(
        room=game.room.code,
        number=game.number,
        size=game.room.size,
        win_length=game.room.win_length,
        x=game.player_x.name if game.player_x else None,
        o=game.player_o.name if game.player_o else None,
        status=game.status,
        reason=game.reason,
        winner=game.winner,
        moves=tuple(game.history),
        date=played.date().isoformat(),
    )


@require_GET
def replay(request: HttpRequest, game_id: int) -> HttpResponse:
    """A game's page: its board, stepped through move by move; a game in play shows its moves so far."""
    game = _game_or_404(game_id)
    record = _record(game)
    size = record.size
    board = [""] * (size * size)
    for position, cell in enumerate(record.moves):
        board[cell] = mark_of(position)
    context: dict[str, Any] = {
        "game": game,
        "room": game.room,
        "record": record,
        "finished": game.status in FINISHED_STATUSES,
        "played_at": finished_at(game) or game.updated_at,
        "board": board,
        "moves": [
            {"number": position + 1, "mark": mark_of(position), "cell": cell_name(cell, size)}
            for position, cell in enumerate(record.moves)
        ],
        "replay_data": {"size": size, "moves": list(record.moves), "line": game.line or []},
        "share_url": request.build_absolute_uri(reverse("game:replay", args=[game.pk])),
    }
    return render(request, "game/replay.html", context)


@require_GET
def game_text(request: HttpRequest, game_id: int) -> HttpResponse:
    """The game in the text notation (docs/protocol.md, "Game records")."""
    game = _game_or_404(game_id)
    return HttpResponse(_record(game).text(), content_type="text/plain; charset=utf-8")


@require_GET
def game_json(request: HttpRequest, game_id: int) -> JsonResponse:
    """The game as JSON (docs/protocol.md, "Game records")."""
    game = _game_or_404(game_id)
    record = _record(game)
    return JsonResponse(
        {
            "id": game.pk,
            "room": record.room,
            "number": record.number,
            "size": record.size,
            "win_length": record.win_length,
            "players": {"X": record.x, "O": record.o},
            "status": record.status,
            "winner": record.winner,
            "reason": record.reason or None,
            "line": game.line,
            "moves": list(record.moves),
            "created_at": game.created_at,
            "finished_at": finished_at(game),
        },
        json_dumps_params={"ensure_ascii": False},
    )


@require_GET
def room_games(request: HttpRequest, code: str) -> HttpResponse:
    """A room's finished games, newest first, each linking to its page."""
    room = get_object_or_404(Room, code=code)
    games = _games().filter(room=room, status__in=FINISHED_STATUSES).order_by("-number")[:ROOM_GAMES_LISTED]
    rows = [{"game": game, "record": _record(game), "finished_at": finished_at(game)} for game in games]
    return render(request, "game/room_games.html", {"room": room, "rows": rows, "limit": ROOM_GAMES_LISTED})
