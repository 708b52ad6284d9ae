"""What a room page costs the database: a newcomer's session is one write, a returning
visitor's none, and every page view runs on the one database thread the sockets use."""

from __future__ import annotations

import threading

import pytest
from channels.db import database_sync_to_async
from channels.testing import HttpCommunicator
from django.core.signals import request_started
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from game.actions import identities, rooms, seating
from game.models import Room
from game.storage.session_store import SessionStore
from tictac.asgi import application


def _session_writes(queries: CaptureQueriesContext) -> list[str]:
    return [
        query["sql"].split(" ", 1)[0]
        for query in queries.captured_queries
        if "django_session" in query["sql"] and not query["sql"].startswith("SELECT")
    ]


@pytest.mark.django_db
def test_a_newcomers_room_page_stores_their_session_in_one_insert() -> None:
    room = rooms.create_room(name="crowd")
    with CaptureQueriesContext(connection) as queries:
        response = Client(HTTP_HOST="127.0.0.1").get(f"/rooms/{room.code}/")
    assert response.status_code == 200
    assert response.cookies["sessionid"].value  # the contract: the page sets the cookie
    assert _session_writes(queries) == ["INSERT"]
    assert SessionStore(response.cookies["sessionid"].value).get("visitor") is True


@pytest.mark.django_db
def test_a_returning_visitors_room_page_writes_no_session() -> None:
    room = rooms.create_room(name="again")
    browser = Client(HTTP_HOST="127.0.0.1")
    browser.get(f"/rooms/{room.code}/")
    with CaptureQueriesContext(connection) as queries:
        assert browser.get(f"/rooms/{room.code}/").status_code == 200
    assert _session_writes(queries) == []


def _reads_of(queries: CaptureQueriesContext, table: str) -> int:
    return sum(
        1 for query in queries.captured_queries if query["sql"].startswith("SELECT") and f"FROM {table}" in query["sql"]
    )


@pytest.mark.django_db
def test_a_returning_visitors_room_page_reads_their_session_once() -> None:
    room = rooms.create_room(name="once")
    browser = Client(HTTP_HOST="127.0.0.1")
    browser.get(f"/rooms/{room.code}/")
    with CaptureQueriesContext(connection) as queries:
        assert browser.get(f"/rooms/{room.code}/").status_code == 200
    assert _reads_of(queries, '"django_session"') == 1


@pytest.mark.django_db
def test_the_room_page_does_not_look_up_who_the_visitor_plays_as() -> None:
    # The page's socket tells it the visitor's seat; the page itself needs only their session.
    room = rooms.create_room(name="anyone")
    browser = Client(HTTP_HOST="127.0.0.1")
    for _ in range(2):  # a newcomer, then the same visitor returning
        with CaptureQueriesContext(connection) as queries:
            assert browser.get(f"/rooms/{room.code}/").status_code == 200
        assert _reads_of(queries, '"game_player"') == 0


@pytest.mark.django_db
def test_a_cookie_naming_no_stored_session_gets_a_new_one() -> None:
    room = rooms.create_room(name="stale")
    browser = Client(HTTP_HOST="127.0.0.1")
    browser.cookies["sessionid"] = "x" * 32
    response = browser.get(f"/rooms/{room.code}/")
    assert response.cookies["sessionid"].value not in ("", "x" * 32)
    assert SessionStore(response.cookies["sessionid"].value).exists(response.cookies["sessionid"].value)


@pytest.mark.django_db
def test_a_changed_session_is_still_saved() -> None:
    session = SessionStore()
    session["visitor"] = True
    session.create()
    assert session.session_key is not None
    session["player_name"] = "Ada"
    session.save()
    assert SessionStore(session.session_key)["player_name"] == "Ada"


async def test_page_views_run_on_the_database_thread_the_sockets_use(room: Room) -> None:
    page_threads: list[int] = []

    def note_thread(**kwargs: object) -> None:
        page_threads.append(threading.get_ident())

    request_started.connect(note_thread)
    try:
        for _ in range(2):
            page = HttpCommunicator(application, "GET", f"/rooms/{room.code}/", headers=[(b"host", b"127.0.0.1")])
            assert (await page.get_response(timeout=10))["status"] == 200
    finally:
        request_started.disconnect(note_thread)
    database_thread = await database_sync_to_async(threading.get_ident)()
    assert page_threads == [database_thread, database_thread]


@pytest.mark.django_db
def test_a_newcomer_taking_a_seat_inserts_their_player_without_looking_first() -> None:
    room = rooms.create_room(name="seat")
    newcomer = identities.Identity(session_key="n" * 32)
    with CaptureQueriesContext(connection) as queries:
        game, player = seating.join(room, newcomer, "Nell")
    assert game.player_x_id == player.id
    assert _reads_of(queries, '"game_player"') == 0


@pytest.mark.django_db
def test_a_seat_taken_with_an_identity_older_than_its_player_finds_that_player() -> None:
    # Two tabs of one session connected before either sat down; the first made the Player.
    room = rooms.create_room(name="tabs")
    first_tab = second_tab = identities.Identity(session_key="t" * 32)
    _, made = seating.join(room, first_tab, "Tess")
    game, found = seating.join(room, second_tab, None)
    assert found.id == made.id
    assert game.player_x_id == made.id
    assert game.player_o_id is None
