"""HTTP views: the lobby, room pages, the JSON snapshot and the health check."""

from __future__ import annotations

import logging
import re
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from . import budgets, services, sessions
from .access import client_address, operators_only
from .bots import computer_players
from .forms import RoomForm
from .lobby import lobby_rooms
from .models import ROOM_CODE_PATTERN, Room
from .presence import presence
from .protocol import ProtocolError, clean_name
from .state import room_state_blocking

logger = logging.getLogger(__name__)


def _ensure_session(request: HttpRequest) -> services.Identity:
    """Give the visitor a stored session (their identity) if they have none yet."""
    session = request.session
    session.keys()  # reads the stored session: a cookie naming none leaves no key behind
    if session.session_key is None:
        session["visitor"] = True
        sessions.start_idle(session)
        session.save()
        return services.identify(session, new=True)
    sessions.renew_cookie_if_kept(session)
    return services.identify(session)


# The name a visitor last played under, kept in their session so quick play asks only once.
NAME_SESSION_KEY = "player_name"


def _remembered_name(request: HttpRequest, typed: str | None = None) -> str | None:
    """``typed`` if the visitor gave a name (and remember it), else the one they gave before."""
    if typed:
        request.session[NAME_SESSION_KEY] = typed
        return typed
    name: str | None = request.session.get(NAME_SESSION_KEY)
    return name


def _lobby_page(request: HttpRequest, form: RoomForm, join_error: str | None = None, status: int = 200) -> HttpResponse:
    context: dict[str, Any] = {
        "rooms": lobby_rooms(),
        "form": form,
        "join_error": join_error,
        "player_name": request.session.get(NAME_SESSION_KEY, ""),
    }
    return render(request, "game/lobby.html", context, status=status)


@require_GET
def lobby(request: HttpRequest) -> HttpResponse:
    return _lobby_page(request, RoomForm(initial={"player_name": request.session.get(NAME_SESSION_KEY, "")}))


@require_POST
def create_room(request: HttpRequest) -> HttpResponse:
    """Make a room and seat its creator as X."""
    form = RoomForm(request.POST)
    if not form.is_valid():
        return _lobby_page(request, form, status=400)
    host_id = request.user.pk if request.user.is_authenticated else None
    identity = _ensure_session(request)
    if refusal := _room_creation_refusal(request, identity):
        form.add_error(None, refusal)
        return _lobby_page(request, form, status=429)
    name = _remembered_name(request, form.cleaned_data["player_name"])
    room = services.create_room(
        name=form.cleaned_data["name"],
        size=form.cleaned_data["size"],
        win_length=form.cleaned_data["win_length"],
        host_id=host_id,
        time_control=form.cleaned_data["time_control"],
        absence_seconds=form.cleaned_data["absence_seconds"],
        rated=form.cleaned_data["rated"],
    )
    services.join(room, identity, name)
    request.session.set_expiry(None)  # took a seat: the session lives its full age (game.sessions)
    return redirect("game:room", code=room.code)


def _room_creation_refusal(request: HttpRequest, identity: services.Identity) -> str | None:
    """Why this visitor may not make another room now, if they may not: rooms fill the lobby."""
    assert identity.session_hash is not None
    if services.rooms_waiting_for(identity) >= settings.TICTAC["MAX_WAITING_ROOMS_PER_CREATOR"]:
        return "You already have rooms waiting for a second player: play in one of them first."
    if not budgets.spend_blocking("rooms_per_session", identity.session_hash) or not budgets.spend_blocking(
        "rooms_per_address", client_address(request)
    ):
        return "You have made many rooms lately: try again later."
    return None


@require_POST
def quick_play(request: HttpRequest) -> HttpResponse:
    identity = _ensure_session(request)
    try:
        typed = clean_name(request.POST.get("name", "")) if request.POST.get("name", "").strip() else None
    except ProtocolError as error:
        return _lobby_page(request, RoomForm(), join_error=error.message, status=400)
    name = _remembered_name(request, typed)
    room = services.quick_play(identity, name, _present_sessions)
    request.session.set_expiry(None)  # took a seat: the session lives its full age (game.sessions)
    return redirect("game:room", code=room.code)


@require_POST
def play_computer(request: HttpRequest) -> HttpResponse:
    """Make a room, seat the visitor as X and the computer, at the level asked for, as O."""
    identity = _ensure_session(request)
    level = request.POST.get("level", "easy")
    if refusal := _room_creation_refusal(request, identity):
        return _lobby_page(request, RoomForm(), join_error=refusal, status=429)
    try:
        computer_players.refuse_if_full("")
        if level not in services.BOT_LEVELS:
            raise services.ActionRefused("bad_level", "Choose easy, medium or perfect.")
        if services.bot_games_of(identity) >= settings.TICTAC["MAX_BOT_GAMES_PER_SESSION"]:
            raise services.ActionRefused("too_many_bots", "You are already playing the computer: finish that first.")
    except services.ActionRefused as refused:
        return _lobby_page(request, RoomForm(), join_error=refused.message, status=429)
    room = services.create_room(name="Against the computer")
    services.join(room, identity, _remembered_name(request))
    services.add_computer(room, services.identify(request.session), level)
    request.session.set_expiry(None)  # took a seat: the session lives its full age (game.sessions)
    return redirect("game:room", code=room.code)


def _present_sessions(room_codes: list[str]) -> dict[str, frozenset[str]]:
    return {code: seen.sessions for code, seen in presence().snapshots_blocking(room_codes).items()}


@require_GET
def join_by_code(request: HttpRequest) -> HttpResponse:
    code = request.GET.get("code", "").strip()
    # People paste whole invite links as often as codes.
    if match := re.search(rf"/rooms/({ROOM_CODE_PATTERN})/?$", code):
        code = match.group(1)
    if re.fullmatch(ROOM_CODE_PATTERN, code) and Room.objects.filter(code=code).exists():
        return redirect("game:room", code=code)
    return _lobby_page(request, RoomForm(), join_error=f"No room has the code {code[:40]!r}.", status=404)


@require_GET
def room(request: HttpRequest, code: str) -> HttpResponse:
    room = get_object_or_404(Room, code=code)
    _ensure_session(request)
    state = room_state_blocking(room)
    context = {
        "room": room,
        "state": state.message,
        "chat": services.recent_chat(room),
        "ws_path": f"/ws/rooms/{room.code}/",
    }
    return render(request, "game/room.html", context)


@require_GET
def room_api(request: HttpRequest, code: str) -> JsonResponse:
    room = Room.objects.filter(code=code).first()
    if room is None:
        return JsonResponse({"error": "not_found", "message": f"No room has the code {code!r}."}, status=404)
    return JsonResponse(room_state_blocking(room).message)


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Ready when both the database and the channel layer answer; names the part that does not."""
    checks = {"db": _check_database, "channel_layer": _check_channel_layer}
    report: dict[str, str] = {}
    for part, check in checks.items():
        try:
            check()
            report[part] = "ok"
        except Exception as error:
            logger.warning("health check failed: %s: %s", part, error.__class__.__name__)
            report[part] = "error"
    healthy = all(value == "ok" for value in report.values())
    return JsonResponse({"status": "ok" if healthy else "error", **report}, status=200 if healthy else 503)


@never_cache
@require_GET
@operators_only
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text format: sockets, rooms, games, moves, refusals, latency."""
    from . import metrics as _registers_collectors  # noqa: F401

    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_channel_layer() -> None:
    presence().ping_blocking()
