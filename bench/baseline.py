"""The baseline page: a minimal Django view that renders a template with a session.

Issue 15 measures tictac's room page against it ("page loads per second at
least 0.5× those of a minimal Django view that renders a template with a
session on the same server in the same run"). It is served by the naive
app's processes (``bench.naive_asgi``, settings ``bench.baseline_settings``),
so it runs on the same server command, worker count, database and
middleware as the scenario, but with nothing of tictac's own in the way:
Django's own ASGI handler (a thread per request), Django's own database
session backend (``django.contrib.sessions.backends.db``), and no query
besides the session's.

A visitor without a session gets one, as on tictac's room page: a row in
``django_session`` and a ``sessionid`` cookie. The page is about the room
page's size (9–10 KB), from Django's template engine with the project's
settings (the cached loader, as in production).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import include, path

PAGE_PATH = "baseline/rooms/<str:code>/"

# What the template lists: constant, so that the view reads nothing but the session.
_LINES = [
    {"name": f"visitor {number}", "mark": "XO"[number % 2], "text": f"message number {number} in this room"}
    for number in range(18)
]


def page(request: HttpRequest, code: str) -> HttpResponse:
    session = request.session
    if not session.session_key or not session.exists(session.session_key):
        session["visitor"] = True  # the session middleware saves it and sets the cookie
    context = {
        "code": code,
        "cells": range(9),
        "state": {"room": {"code": code, "size": 3, "win_length": 3}, "board": [""] * 9, "status": "waiting"},
        "lines": _LINES,
    }
    return render(request, "bench/baseline_page.html", context)


urlpatterns = [
    path(PAGE_PATH, page, name="baseline_page"),
    # /healthz (the servers' readiness check), the room pages and the rest.
    path("", include("tictac.urls")),
]
