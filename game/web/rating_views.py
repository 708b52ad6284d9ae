"""HTTP views for ratings: a player's profile and the leaderboard. They read only."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from game.actions import ratings
from game.domain import rules
from game.models import Player, Rating


@dataclass(frozen=True)
class RatingLine:
    """A rating as a page prints it: the row, and its value in words ("1662", or "1662?" while provisional)."""

    row: Rating
    shown: str
    provisional: bool


def _lines(rows: list[Rating]) -> list[RatingLine]:
    return [
        RatingLine(row, ratings.rating_words(row.rating, row.deviation), ratings.is_provisional(row.deviation))
        for row in rows
    ]


@dataclass(frozen=True)
class GameLine:
    """One of the profile's recent games: the game, whose profile its opponent has, whether it was rated."""

    played: ratings.PlayedGame
    opponent_username: str | None
    """The opponent's account, for a link to their profile; None for a guest or the computer."""
    rated: bool


@require_GET
def profile(request: HttpRequest, username: str) -> HttpResponse:
    """A signed-up player's ratings per variant, their record and their last games."""
    user = get_object_or_404(get_user_model(), username=username)
    context = {
        "profile_user": user,
        "ratings": _lines(ratings.ratings_of(user.pk)),
        "record": ratings.record_of(user.pk),
        "recent": _game_lines(user.pk, ratings.recent_games(user.pk)),
        "recent_limit": ratings.RECENT_GAMES,
    }
    return render(request, "game/profile.html", context)


def _game_lines(user_id: int, recent: list[ratings.PlayedGame]) -> list[GameLine]:
    """Each game with its opponent's username (one query for them all) and whether it changed ratings."""
    opponents = {played.game.pk: _opponent(played) for played in recent}
    user_ids = {opponent.user_id for opponent in opponents.values() if opponent and opponent.user_id}
    usernames = dict(get_user_model().objects.filter(pk__in=user_ids).values_list("pk", "username"))
    lines = []
    for played in recent:
        opponent = opponents[played.game.pk]
        account = opponent.user_id if opponent and not opponent.bot_level else None
        lines.append(GameLine(played, usernames.get(account) if account else None, ratings.moved_ratings(played.game)))
    return lines


def _opponent(played: ratings.PlayedGame) -> Player | None:
    game = played.game
    return game.player_o if played.mark == rules.X else game.player_x


def _variant(request: HttpRequest) -> tuple[int, int]:
    """The variant asked for as ?size=&k=, or 3×3 three in a row."""
    try:
        size, win_length = int(request.GET.get("size", "3")), int(request.GET.get("k", "3"))
    except ValueError:
        return ratings.DEFAULT_VARIANT
    if not (rules.MIN_SIZE <= size <= rules.MAX_SIZE and rules.MIN_WIN_LENGTH <= win_length <= size):
        return ratings.DEFAULT_VARIANT
    return size, win_length


@require_GET
def leaderboard(request: HttpRequest) -> HttpResponse:
    """The best rated players of one variant (?size=3&k=3 by default)."""
    size, win_length = _variant(request)
    context = {
        "size": size,
        "win_length": win_length,
        "variants": ratings.rated_variants(),
        "rows": _lines(ratings.leaderboard(size, win_length)),
        "limit": ratings.LEADERBOARD_LENGTH,
        "established_games": ratings.ESTABLISHED_GAMES,
        "established_opponents": ratings.ESTABLISHED_OPPONENTS,
        "provisional_deviation": round(ratings.PROVISIONAL_DEVIATION),
    }
    return render(request, "game/leaderboard.html", context)
