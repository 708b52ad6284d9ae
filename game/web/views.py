"""HTTP views: the lobby, room pages, the JSON snapshot and the health check."""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from collections.abc import Awaitable
from typing import Any, TypeVar, cast

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.layers import BaseChannelLayer, InMemoryChannelLayer, get_channel_layer
from django import forms
from django.conf import settings
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from game.actions import chat, computer, identities, practice, rooms, seating, tournaments, write
from game.domain import pools, rules
from game.domain.pools import Pool
from game.domain.protocol import CHAT_MAX_LENGTH, NAME_MAX_LENGTH, ProtocolError, clean_name
from game.messages import room_states
from game.messages.lobby import LOBBY_LIMIT, read_lobby, row_words
from game.models import MAX_ABSENCE_SECONDS, MIN_ABSENCE_SECONDS, ROOM_CODE_PATTERN, Room
from game.realtime import budgets
from game.realtime.computer_turns import client_of, computer_players
from game.realtime.presence import MemoryPresence, presence
from game.storage import session_lifetime
from game.web.access import client_address, operators_only
from game.web.forms import RoomForm

logger = logging.getLogger(__name__)

Checked = TypeVar("Checked")


def _store_session(request: HttpRequest, *, within: str | None = None) -> bool:
    """Give the visitor a stored session (their identity) if they have none yet; whether this request made it.

    The check reads the session once: a key the store does not hold (or that
    expired) is dropped by that read (game.storage.session_lifetime.is_stored). With
    ``within``, a per-address budget, a new session is made only while the
    visitor's address has some of it left.
    """
    session = request.session
    if session_lifetime.is_stored(session):
        session_lifetime.renew_cookie_if_kept(session)
        return False
    if within is not None and not budgets.spend_blocking(within, client_address(request)):
        return False
    session["visitor"] = True
    session_lifetime.start_idle(session)
    session.save()
    return True


def _ensure_session(request: HttpRequest) -> identities.Identity:
    """The visitor's identity, giving them a stored session first if they have none."""
    made = _store_session(request)
    return identities.identify(request.session, new=made)


def _stored_session(request: HttpRequest) -> identities.Identity | None:
    """The visitor's stored session as an identity that knows only its key, or None; it makes none."""
    if not session_lifetime.is_stored(request.session):
        return None
    return identities.Identity(session_key=request.session.session_key)


# The name a visitor last played under, kept in their session so quick play asks only once.
NAME_SESSION_KEY = session_lifetime.PLAYER_NAME_KEY


def _remembered_name(request: HttpRequest, typed: str | None = None) -> str | None:
    """``typed`` if the visitor gave a name (and remember it), else the one they gave before."""
    if typed:
        request.session[NAME_SESSION_KEY] = typed
        return typed
    name: str | None = request.session.get(NAME_SESSION_KEY)
    return name


# How often the pages ping their socket, and how long they trust one that has heard nothing
# (not even a pong) before dropping it as half-open and reconnecting. The pings also keep
# proxies in front (nginx: proxy_read_timeout, 60 s unless set) from closing an idle socket.
PING_EVERY_SECONDS = 20
SILENCE_LIMIT_SECONDS = 50


def _code_lengths() -> tuple[int, int]:
    """A room code's shortest and longest length: ROOM_CODE_PATTERN ends with ``{4,32}``."""
    shortest, longest = re.findall(r"\d+", ROOM_CODE_PATTERN)[-2:]
    return int(shortest), int(longest)


def page_limits() -> dict[str, int]:
    """The server's limits that the pages' forms and scripts follow: the templates' ``limits``, JSON ``#limits``."""
    code_min_length, code_max_length = _code_lengths()
    return {
        "name_max_length": NAME_MAX_LENGTH,
        "chat_max_length": CHAT_MAX_LENGTH,
        "room_name_max_length": cast(forms.CharField, RoomForm.base_fields["name"]).max_length or 0,
        "code_min_length": code_min_length,
        "code_max_length": code_max_length,
        "min_size": rules.MIN_SIZE,
        "max_size": rules.MAX_SIZE,
        "min_win_length": rules.MIN_WIN_LENGTH,
        "min_absence_seconds": MIN_ABSENCE_SECONDS,
        "max_absence_seconds": MAX_ABSENCE_SECONDS,
        "lobby_rooms": LOBBY_LIMIT,
        "ping_every_ms": PING_EVERY_SECONDS * 1000,
        "silence_limit_ms": SILENCE_LIMIT_SECONDS * 1000,
        "heartbeat_ms": round(settings.TICTAC["HEARTBEAT_SECONDS"] * 1000),
    }


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
    name = _remembered_name(request, form.cleaned_data["player_name"])
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
    if (session := _stored_session(request)) is not None:
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
    made = _store_session(request)
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
    identity = _ensure_session(request)  # an idle session: it is kept only once paired (game.web.pool_consumer)
    assert identity.session_hash is not None
    name = _remembered_name(request, typed)
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
        session = _stored_session(request)
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
    seating.join(room, identity, _remembered_name(request, typed), side=start.turn if start is not None else None)
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


@require_GET
def room(request: HttpRequest, code: str) -> HttpResponse:
    room = write.get_room(code)
    if room is None:
        raise Http404(f"No room has the code {code!r}.")
    # The page needs a session for its socket, not who the visitor is: the socket tells its page.
    # A new one costs a row, so an address gets only so many; past them the visitor watches.
    _store_session(request, within="new_sessions_per_address")
    state = room_states.read_blocking(room, reuse_presence=True)
    context = {
        "room": room,
        "state": state.message,
        "chat": chat.recent_chat(room),
        "limits": page_limits(),
        "ws_path": f"/ws/rooms/{room.code}/",
        "tournament": tournaments.of_room(room),
    }
    return render(request, "game/room.html", context)


@require_GET
def room_api(request: HttpRequest, code: str) -> JsonResponse:
    room = write.get_room(code)
    if room is None:
        return JsonResponse({"error": "not_found", "message": f"No room has the code {code!r}."}, status=404)
    return JsonResponse(room_states.read_blocking(room).message)


@never_cache
@require_GET
async def healthz(request: HttpRequest) -> JsonResponse:
    """Ready when the database, the channel layer and presence's Redis answer; names the part that does not.

    Each part says ``ok``, ``error`` or, on the in-memory layer (one process,
    no Redis), ``in-memory``, which is ready too. The view is asynchronous so
    that waiting on Redis never holds the process's database thread.
    """
    checks = {"db": _check_database, "channel_layer": _check_channel_layer}
    report: dict[str, Any] = {}
    for part, check in checks.items():
        try:
            report[part] = await check()
        except Exception as error:
            logger.warning("health check failed: %s: %s", part, error.__class__.__name__)
            report[part] = "error"
    shards = await _check_presence_shards()
    report["presence"] = shards[0] if len(shards) == 1 else ("ok" if set(shards) == {"ok"} else "error")
    if len(shards) > 1:
        report["presence_shards"] = shards  # which of REDIS_URL's servers fail, in its order
    healthy = "error" not in report.values()
    return JsonResponse({"status": "ok" if healthy else "error", **report}, status=200 if healthy else 503)


@never_cache
@require_GET
@operators_only
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text format: sockets, rooms, games, moves, refusals, latency."""
    from game.realtime import metrics as _registers_collectors  # noqa: F401

    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)


# How long /healthz waits for Redis (the channel layer's round trip, presence's PING) before calling it down.
HEALTH_TIMEOUT_SECONDS = 2.0


def _select_one() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


async def _check_database() -> str:
    await database_sync_to_async(_select_one)()
    return "ok"


async def _check_channel_layer() -> str:
    layer = get_channel_layer()
    if layer is None:
        raise LookupError("no channel layer is configured")
    if isinstance(layer, InMemoryChannelLayer):
        return "in-memory"
    await _within(_round_trip(layer), HEALTH_TIMEOUT_SECONDS)
    return "ok"


async def _check_presence_shards() -> list[str]:
    """Each Redis shard's answer to a PING, all at once: ``ok`` or ``error`` (or ``in-memory``)."""
    store = presence()
    if isinstance(store, MemoryPresence):
        return ["in-memory"]

    async def check(shard: int) -> str:
        try:
            # On a thread of its own: not the database thread, which the sockets' moves need.
            ping = sync_to_async(store.ping_blocking, thread_sensitive=False)(shard)
            await _within(ping, HEALTH_TIMEOUT_SECONDS)
        except Exception as error:
            logger.warning("health check failed: presence shard %d: %s", shard, error.__class__.__name__)
            return "error"
        return "ok"

    return list(await asyncio.gather(*(check(shard) for shard in range(store.shard_count))))


async def _within(work: Awaitable[Checked], seconds: float) -> Checked:
    """What ``work`` returns, or TimeoutError after ``seconds``, without waiting for it to wind down."""
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait([task], timeout=seconds)
    if not done:
        task.cancel()  # a round trip lets go of its channel in the background
        raise TimeoutError(f"no answer within {seconds} s")
    return task.result()


async def _round_trip(layer: BaseChannelLayer) -> None:
    """Send a message to a new channel of this process and receive it back: the path every state takes.

    Under an ASGI server this runs on the server's event loop, so it goes
    through the very connections the process's sockets use (for the pub/sub
    layer, its publishing pool and its one subscribing connection).
    """
    sent = {"type": "health.check", "token": secrets.token_hex(8)}
    channel = await layer.new_channel("healthz.")
    await layer.send(channel, sent)
    received = await layer.receive(channel)  # cancelled while it waits, it lets go of the channel itself
    # A receive cancelled while it waits is how a consumer lets go of its channel when it
    # ends: the pub/sub layer then unsubscribes the channel, which nothing else would.
    letting_go = asyncio.ensure_future(layer.receive(channel))
    await asyncio.sleep(0)  # until it waits
    letting_go.cancel()
    await asyncio.wait([letting_go])
    if received != sent:
        raise ValueError("the channel layer returned another message")
