"""A room's invite and watch links as QR code images."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from game.models import Room
from game.web.qr import qr_svg

# A room's code, and so its links, never change; the host may, so not for ever.
CACHE_SECONDS = 3600


def _room_link(request: HttpRequest, code: str, query: str = "") -> str:
    room = get_object_or_404(Room, code=code)
    return request.build_absolute_uri(reverse("game:room", kwargs={"code": room.code}) + query)


@require_GET
@cache_control(max_age=CACHE_SECONDS)
def play_qr(request: HttpRequest, code: str) -> HttpResponse:
    """The QR code of the room's invite link, ``https://host/rooms/<code>/``."""
    return HttpResponse(qr_svg(_room_link(request, code)), content_type="image/svg+xml")


@require_GET
@cache_control(max_age=CACHE_SECONDS)
def watch_qr(request: HttpRequest, code: str) -> HttpResponse:
    """The QR code of the room's watch link, ``https://host/rooms/<code>/?watch=1``."""
    return HttpResponse(qr_svg(_room_link(request, code, "?watch=1")), content_type="image/svg+xml")
