"""The lobby's pages: the lobby, making a room, quick play and its waiting page, playing the
computer, and joining a room by its code."""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from game.actions import computer, identities, practice, rooms, seating, tournaments, write
from game.domain import pools, rules
from game.domain.pools import Pool
from game.domain.protocol import ProtocolError, clean_name
from game.messages.lobby import row_words
from game.models import ROOM_CODE_PATTERN, Room
from game.realtime import budgets
from game.realtime.computer_turns import client_of, computer_players
from game.realtime.lobby_reads import read_lobby
from game.storage import session_lifetime
from game.web.access import client_address
from game.web.forms import RoomForm
from game.web.page_limits import page_limits
from game.web.page_sessions import NAME_SESSION_KEY, ensure_session, remembered_name, store_session, stored_session


def _lobby_page(request: HttpRequest, form: RoomForm, join_error: str | None = None, status: int = 200) -> HttpResponse:
    lobby = read_lobby()
    context: dict[str, Any] = {
        "limits": page_limits(),
        "rooms": lobby.rooms,
        "rows": [row_words(summary) for summary in lobby.rooms],
        "stats": lobby.stats,
        "pools": pools.PRESETS,
        "tournaments": tournaments.running(),
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
    if refusal := _room_creation_refusal(request):
        form.add_error(None, refusal)
        return _lobby_page(request, form, status=429)
    host_id = request.user.pk if request.user.is_authenticated else None
    identity = _room_maker(request)
    name = remembered_name(request, form.cleaned_data["player_name"])
    room = rooms.create_room(
        name=form.cleaned_data["name"],
        size=form.cleaned_data["size"],
        win_length=form.cleaned_data["win_length"],
        host_id=host_id,
        time_control=form.cleaned_data["time_control"],
        absence_seconds=form.cleaned_data["absence_seconds"],
        rated=form.cleaned_data["rated"],
    )
    seating.join(room, identity, name, side=form.chosen_side)
    request.session.set_expiry(None)  # took a seat: the session lives its full age (game.storage.session_lifetime)
    return redirect("game:room", code=room.code)


def _room_creation_refusal(request: HttpRequest) -> str | None:
    """Why this visitor may not make another room now, if they may not: rooms fill the lobby.

    Asked before the visitor is given a session: a client that sends no cookie
    gets a new session (a row), and a new session's budget, every time, but
    not a new address.
    """
    if (session := stored_session(request)) is not None:
        assert session.session_hash is not None
        if rooms.rooms_waiting_for(session) >= settings.TICTAC["MAX_WAITING_ROOMS_PER_CREATOR"]:
            return "You already have rooms waiting for a second player: play in one of them first."
        if not budgets.spend_blocking("rooms_per_session", session.session_hash):
            return _TOO_MANY_ROOMS
    if not budgets.spend_blocking("rooms_per_address", client_address(request)):
        return _TOO_MANY_ROOMS
    return None


_TOO_MANY_ROOMS = "You have made many rooms lately: try again later."


def _room_maker(request: HttpRequest) -> identities.Identity:
    """The identity of a visitor :func:`_room_creation_refusal` let make a room; a session is made if they had none."""
    made = store_session(request)
    identity = identities.identify(request.session, new=made)
    if made:  # a new session's first room counts too (within any limit but 0)
        assert identity.session_hash is not None
        budgets.spend_blocking("rooms_per_session", identity.session_hash)
    return identity


@require_POST
def quick_play(request: HttpRequest) -> HttpResponse:
    """Send the visitor to wait in a pool (field ``pool``, a pool key), or back to their quick-play game."""
    try:
        pool = Pool.parse(request.POST.get("pool") or pools.DEFAULT.key)
    except ValueError:
        return _lobby_page(request, RoomForm(), join_error="There is no such quick-play pool.", status=400)
    try:
        typed = clean_name(request.POST.get("name", "")) if request.POST.get("name", "").strip() else None
    except ProtocolError as error:
        return _lobby_page(request, RoomForm(), join_error=error.message, status=400)
    # The address first: a client without a cookie would get a new session, and budget, each time.
    if not budgets.spend_blocking("seeks_per_address", client_address(request)):
        return _lobby_page(request, RoomForm(), join_error=_TOO_MANY_SEEKS, status=429)
    identity = ensure_session(request)  # an idle session: it is kept only once paired (game.web.pool_consumer)
    assert identity.session_hash is not None
    name = remembered_name(request, typed)
    if (room := rooms.quick_play_room(identity)) is not None:
        seating.join(room, identity, name)  # a new name shows at once
        return redirect("game:room", code=room.code)
    if not budgets.spend_blocking("seeks_per_session", identity.session_hash):
        return _lobby_page(request, RoomForm(), join_error=_TOO_MANY_SEEKS, status=429)
    return redirect("game:seek", key=pool.key)


_TOO_MANY_SEEKS = "You have asked for many quick games lately: try again later."


@require_GET
def seek(request: HttpRequest, key: str) -> HttpResponse:
    """The waiting page of a pool: its socket waits for an opponent and goes to the room once paired."""
    try:
        pool = Pool.parse(key)
    except ValueError:
        raise Http404("There is no such quick-play pool.") from None
    if not session_lifetime.is_stored(request.session):
        return redirect("game:lobby")  # the seek socket needs the session POST /play/ gives
    session_lifetime.renew_cookie_if_kept(request.session)
    context = {"pool": pool, "limits": page_limits(), "ws_path": f"/ws/play/{pool.key}/"}
    return render(request, "game/seek.html", context)


@require_POST
def play_computer(request: HttpRequest) -> HttpResponse:
    """Make a room of the size asked for (3×3 by default), seat the visitor as X, under the name
    they typed (or the one they gave before), and the computer, at the level asked for, as O."""
    level = request.POST.get("level", "easy")
    try:
        typed = clean_name(request.POST.get("name", "")) if request.POST.get("name", "").strip() else None
        # From a finished game's position ("Practice from here"): its board, the side to move for the visitor.
        start = practice.position_asked_for(request.POST.get("from_game"), request.POST.get("ply"))
        size, win_length = (start.size, start.win_length) if start is not None else _board_asked_for(request)
    except (ProtocolError, ValueError) as error:
        message = error.message if isinstance(error, ProtocolError) else str(error)
        return _lobby_page(request, RoomForm(), join_error=message, status=400)
    try:
        session = stored_session(request)
        # The search process's fair share for boards it searches: per address (not the session a
        # cookie-less client would renew), as add_computer counts it on the socket.
        client = client_of(client_address(request), session.session_hash if session is not None else None)
        computer_players.refuse_if_full("", client=client, size=size)
        if level not in computer.BOT_LEVELS:
            raise write.ActionRefused("bad_level", "Choose easy, medium or perfect.")
        if session is not None and computer.bot_games_of(session) >= settings.TICTAC["MAX_BOT_GAMES_PER_SESSION"]:
            raise write.ActionRefused("too_many_bots", "You are already playing the computer: finish that first.")
        # The address's budgets before a session is made: a client without a cookie gets a new one each time.
        if not budgets.spend_blocking("computer_games_per_address", client_address(request)):
            raise write.ActionRefused("too_many_bots", budgets.TOO_MANY_COMPUTER_GAMES)
    except write.ActionRefused as refused:
        return _lobby_page(request, RoomForm(), join_error=refused.message, status=429)
    if refusal := _room_creation_refusal(request):
        return _lobby_page(request, RoomForm(), join_error=refusal, status=429)
    identity = _room_maker(request)
    if start is not None:
        room = practice.create_room_at(start)
    else:
        room = rooms.create_room(name="Against the computer", size=size, win_length=win_length)
    seating.join(room, identity, remembered_name(request, typed), side=start.turn if start is not None else None)
    computer.add_computer(room, identities.identify(request.session), level)
    request.session.set_expiry(None)  # took a seat: the session lives its full age (game.storage.session_lifetime)
    return redirect("game:room", code=room.code)


def _board_asked_for(request: HttpRequest) -> tuple[int, int]:
    """The form's ``size`` and ``win_length`` (3 and 3 when left out); ValueError with a reason a player reads."""
    try:
        size = int(request.POST.get("size", "").strip() or 3)
        win_length = int(request.POST.get("win_length", "").strip() or 3)
    except ValueError:
        raise ValueError("The board size and the marks in a row to win must be whole numbers.") from None
    try:
        rules.check_dimensions(size, win_length)
    except ValueError:
        raise ValueError(
            f"Boards are {rules.MIN_SIZE}×{rules.MIN_SIZE} to {rules.MAX_SIZE}×{rules.MAX_SIZE},"
            f" with {rules.MIN_WIN_LENGTH} to the board's size in a row to win."
        ) from None
    return size, win_length


@require_GET
def join_by_code(request: HttpRequest) -> HttpResponse:
    code = request.GET.get("code", "").strip()
    # People paste whole invite links as often as codes.
    if match := re.search(rf"/rooms/({ROOM_CODE_PATTERN})/?$", code):
        code = match.group(1)
    if re.fullmatch(ROOM_CODE_PATTERN, code) and Room.objects.filter(code=code).exists():
        return redirect("game:room", code=code)
    return _lobby_page(request, RoomForm(), join_error=f"No room has the code {code[:40]!r}.", status=404)
