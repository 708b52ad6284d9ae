"""The reads and the one write of a game's analysis: the game asked about, and a larger board's analysis kept.

A 3×3 analysis is never stored: it is read from game.domain.search's solved table
(about a millisecond a game). A larger board's is searched once (game.realtime.analysis_jobs) and
kept in a row of its own (``GameAnalysis``) so that the next request reads it.
"""

from __future__ import annotations

from typing import Any

from game.models import Game, GameAnalysis


def game_to_analyse(game_id: int) -> Game | None:
    """The game with this id and its room (its board's size and k), or None."""
    return Game.objects.select_related("room").filter(pk=game_id).first()


def stored_analysis(game_id: int) -> dict[str, Any] | None:
    """The analysis kept for this game, if it was searched before."""
    analysis: dict[str, Any] | None = (
        GameAnalysis.objects.filter(game_id=game_id).values_list("analysis", flat=True).first()
    )
    return analysis


def store_analysis(game_id: int, analysis: dict[str, Any]) -> None:
    """Keep the game's analysis; one already kept (another process searched it too) stays."""
    GameAnalysis.objects.get_or_create(game_id=game_id, defaults={"analysis": analysis})
