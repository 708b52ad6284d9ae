"""Arena tournaments' pages: the list, a tournament's page and JSON, and its join and withdraw buttons."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from game.actions import identities, tournaments, write
from game.domain.protocol import NAME_MAX_LENGTH, ProtocolError, clean_name
from game.messages.lobby import time_control_words
from game.realtime import budgets
from game.storage import session_lifetime
from game.tournament_models import Tournament
from game.web.access import client_address

# As the other pages' sockets (views.page_limits): how often the page pings, how long it trusts a silent socket.
PING_EVERY_MS = 20_000
SILENCE_LIMIT_MS = 50_000

_TOO_MANY_JOINS = "You have pressed join many times lately: try again later."


def _limits() -> dict[str, int]:
    return {"name_max_length": NAME_MAX_LENGTH, "ping_every_ms": PING_EVERY_MS, "silence_limit_ms": SILENCE_LIMIT_MS}


def rules_words(tournament: Tournament) -> str:
    """ "3×3 · 3 in a row · 15 s per move · rated", as the lobby words a room's rules."""
    words = [f"{tournament.size}×{tournament.size}", f"{tournament.win_length} in a row"]
    words.append(time_control_words(tournaments.time_control(tournament)))
    if tournament.rated:
        words.append("rated")
    return " · ".join(words)


def _tournament_or_404(tournament_id: int) -> Tournament:
    tournament = tournaments.get_tournament(tournament_id)
    if tournament is None:
        raise Http404("There is no such tournament.")
    return tournament


@require_GET
def tournament_list(request: HttpRequest) -> HttpResponse:
    listed = tournaments.listing()
    sections = [("coming", "Coming", listed.coming), ("running", "Playing now", listed.running)]
    sections.append(("finished", "Finished", listed.finished))
    rows = {
        key: [{"tournament": tournament, "rules": rules_words(tournament)} for tournament in found]
        for key, _, found in sections
    }
    context = {"sections": [(key, title, rows[key]) for key, title, _ in sections]}
    return render(request, "game/tournaments.html", context)


def _page(request: HttpRequest, tournament: Tournament, *, error: str | None = None, status: int = 200) -> HttpResponse:
    standings = tournaments.read_standings(tournament)
    player_id = None
    if session_lifetime.is_stored(request.session):
        player_id = identities.identify(request.session).player_id
    message = tournaments.with_you(standings.message(), standings.player_ids, player_id)
    context: dict[str, Any] = {
        "tournament": tournament,
        "message": message,
        "rules": rules_words(tournament),
        "limits": _limits(),
        "ws_path": f"/ws/tournaments/{tournament.pk}/",
        "error": error,
        "player_name": request.session.get(session_lifetime.PLAYER_NAME_KEY, ""),
    }
    return render(request, "game/tournament.html", context, status=status)


@require_GET
def tournament_page(request: HttpRequest, tournament_id: int) -> HttpResponse:
    return _page(request, _tournament_or_404(tournament_id))


@require_GET
def tournament_json(request: HttpRequest, tournament_id: int) -> JsonResponse:
    tournament = tournaments.get_tournament(tournament_id)
    if tournament is None:
        return JsonResponse({"error": "not_found", "message": "There is no such tournament."}, status=404)
    return JsonResponse(tournaments.read_standings(tournament).message())


@require_POST
def join(request: HttpRequest, tournament_id: int) -> HttpResponse:
    """Enter the visitor (a session is made if they have none), under the name they typed; back to the page."""
    tournament = _tournament_or_404(tournament_id)
    typed = None
    if request.POST.get("name", "").strip():
        try:
            typed = clean_name(request.POST["name"])
        except ProtocolError as error:
            return _page(request, tournament, error=error.message, status=400)
    if tournaments.read_standings(tournament).status == "finished":
        return _page(request, tournament, error="This tournament is over.", status=409)
    # The address first: a client without a cookie would get a new session, and budget, each time.
    if not budgets.spend_blocking("tournament_joins_per_address", client_address(request)):
        return _page(request, tournament, error=_TOO_MANY_JOINS, status=429)
    made = _store_session(request)
    identity = identities.identify(request.session, new=made)
    assert identity.session_hash is not None
    if not budgets.spend_blocking("tournament_joins_per_session", identity.session_hash):
        return _page(request, tournament, error=_TOO_MANY_JOINS, status=429)
    remembered = request.session.get(session_lifetime.PLAYER_NAME_KEY)
    if typed:
        request.session[session_lifetime.PLAYER_NAME_KEY] = typed
    try:
        tournaments.join(tournament, identity, typed, remembered)
    except write.ActionRefused as refused:  # it ended meanwhile
        return _page(request, tournament, error=refused.message, status=409)
    request.session.set_expiry(None)  # took part: the session lives its full age (game.storage.session_lifetime)
    return redirect("game:tournament", tournament_id=tournament.pk)


@require_POST
def withdraw(request: HttpRequest, tournament_id: int) -> HttpResponse:
    """Stop being paired (the games played still count); back to the page. Join again to come back."""
    tournament = _tournament_or_404(tournament_id)
    if session_lifetime.is_stored(request.session):
        tournaments.withdraw(tournament, identities.identify(request.session))
    return redirect("game:tournament", tournament_id=tournament.pk)


def _store_session(request: HttpRequest) -> bool:
    """Give the visitor a stored session if they have none (as the quick-play button does); whether it was made."""
    session = request.session
    if session_lifetime.is_stored(session):
        session_lifetime.renew_cookie_if_kept(session)
        return False
    session["visitor"] = True
    session_lifetime.start_idle(session)
    session.save()
    return True
