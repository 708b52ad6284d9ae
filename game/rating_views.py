"""HTTP views for ratings: a player's profile and the leaderboard. They read only."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from . import ratings, rules


@require_GET
def profile(request: HttpRequest, username: str) -> HttpResponse:
    """A signed-up player's ratings per variant, their record and their last games."""
    user = get_object_or_404(get_user_model(), username=username)
    context = {
        "profile_user": user,
        "ratings": ratings.ratings_of(user.pk),
        "record": ratings.record_of(user.pk),
        "recent": ratings.recent_games(user.pk),
        "recent_limit": ratings.RECENT_GAMES,
    }
    return render(request, "game/profile.html", context)


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
        "rows": ratings.leaderboard(size, win_length),
        "limit": ratings.LEADERBOARD_LENGTH,
    }
    return render(request, "game/leaderboard.html", context)
