"""A room's page and its JSON snapshot."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from game.actions import chat, tournaments, write
from game.realtime import room_states
from game.web.page_limits import page_limits
from game.web.page_sessions import store_session


@require_GET
def room(request: HttpRequest, code: str) -> HttpResponse:
    room = write.get_room(code)
    if room is None:
        raise Http404(f"No room has the code {code!r}.")
    # The page needs a session for its socket, not who the visitor is: the socket tells its page.
    # A new one costs a row, so an address gets only so many; past them the visitor watches.
    store_session(request, within="new_sessions_per_address")
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
