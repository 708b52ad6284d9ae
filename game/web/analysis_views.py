"""``GET /games/<id>/analysis.json``: a finished game judged position by position (docs/protocol.md, "Analysis").

Asynchronous, so that waiting for a larger board's search never holds the
database thread the sockets share: the reads and the write go to it through
``database_sync_to_async``, the searches to the search process
(game.realtime.analysis_jobs). A 3×3 analysis is read from the solved table at once.
"""

from __future__ import annotations

import logging

from channels.db import database_sync_to_async
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET
from redis.exceptions import RedisError

from game.actions import analysis_store
from game.domain import analysis
from game.models import FINISHED_STATUSES
from game.realtime import budgets
from game.realtime.analysis_jobs import AnalysisRefusedError, analyses
from game.realtime.computer_turns import client_of
from game.web.access import client_address

logger = logging.getLogger(__name__)


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": code, "message": message}, status=status)


@require_GET
async def game_analysis(request: HttpRequest, game_id: int) -> JsonResponse:
    """Every position of a finished game: exact on 3×3, the engine's bounded search on larger boards."""
    game = await database_sync_to_async(analysis_store.game_to_analyse)(game_id)
    if game is None:
        return _error(404, "not_found", f"No game has the id {game_id}.")
    if game.status not in FINISHED_STATUSES:
        return _error(409, "game_not_over", "This game is still being played: it is analysed once it is over.")
    moves = list(game.history)
    size, win_length = game.room.size, game.room.win_length
    if size == analysis.EXACT_SIZE:
        return JsonResponse(analysis.analyse_exactly(moves))  # a few reads of the solved table
    stored = await database_sync_to_async(analysis_store.stored_analysis)(game.pk)
    if stored is not None:
        return JsonResponse(stored)
    address = client_address(request)
    try:
        if not await budgets.spend("analyses_per_address", address):
            return _error(429, "too_many_analyses", "You have asked for many analyses lately: try again later.")
        found = await analyses.analyse(client_of(address, None) or "unknown", game.pk, size, win_length, moves)
    except AnalysisRefusedError as refused:
        return _error(503 if refused.code == "busy" else 429, refused.code, refused.message)
    except (RedisError, OSError) as error:  # the budget's Redis; a failed search is logged by analysis_jobs
        logger.warning("no analysis for game %s: %s", game.pk, error.__class__.__name__)
        return _error(503, "unavailable", "The analysis could not be made: try again.")
    except Exception:  # the search or its storage failed (analysis_jobs logged it)
        return _error(503, "unavailable", "The analysis could not be made: try again.")
    return JsonResponse(found)
