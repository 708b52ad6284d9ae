"""The HTTP side of the contract: lobby, room pages, the JSON snapshot, health."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from django.test import Client, override_settings

from game.actions import computer, identities, rooms, seating, write
from game.domain import rules
from game.domain.protocol import CHAT_MAX_LENGTH, NAME_MAX_LENGTH
from game.models import Game, Player, Room, session_hash
from game.realtime.presence import PresenceSnapshot, presence
from game.realtime.presence_readings import last_presence
from game.web.forms import TIME_CONTROL_LABELS
from game.web.page_limits import page_limits

pytestmark = pytest.mark.django_db


def _seat_here(room: Room, name: str) -> None:
    """Seat a new session in ``room`` with a socket there now: the lobby lists only rooms someone is in."""
    session = SessionStore()
    session.create()
    assert session.session_key is not None
    seating.join(room, identities.identify(session), name)
    async_to_sync(presence().add)(room.code, f"test.{room.code}", session_hash(session.session_key))


def test_the_lobby_lists_open_rooms_and_offers_the_create_form(client: Client) -> None:
    _seat_here(rooms.create_room(name="Friday night", size=5, win_length=4), "alice")
    closed = rooms.create_room(name="Gone")
    _seat_here(closed, "bob")
    Room.objects.filter(pk=closed.pk).update(is_open=False)
    page = client.get("/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Friday night" in text
    assert "Gone" not in text
    assert 'name="size"' in text
    assert 'name="side" value="random"' in text
    assert "csrfmiddlewaretoken" in text


def test_creating_a_room_redirects_to_its_page_with_a_first_game() -> None:
    client = Client(enforce_csrf_checks=True)
    client.get("/")
    token = client.cookies["csrftoken"].value
    response = client.post("/rooms/", {"name": "Duel", "size": "7", "win_length": "5", "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    room = Room.objects.get(name="Duel")
    assert response["Location"] == f"/rooms/{room.code}/"
    assert (room.size, room.win_length) == (7, 5)
    assert Game.objects.get(room=room).status == "waiting"


def test_size_and_win_length_default_to_three(client: Client) -> None:
    response = client.post("/rooms/", {"name": "Plain"})
    assert response.status_code == 302
    room = Room.objects.get(name="Plain")
    assert (room.size, room.win_length) == (3, 3)


@pytest.mark.parametrize(("size", "win_length"), [("2", "3"), ("16", "3"), ("5", "6"), ("5", "2"), ("x", "3")])
def test_bad_room_values_get_400_with_the_errors_and_create_nothing(client: Client, size: str, win_length: str) -> None:
    response = client.post("/rooms/", {"name": "Bad", "size": size, "win_length": win_length})
    assert response.status_code == 400
    assert response.context["form"].errors
    assert not Room.objects.filter(name="Bad").exists()


def test_creating_a_room_without_the_csrf_token_is_refused() -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post("/rooms/", {"name": "Sneaky"})
    assert response.status_code == 403
    assert not Room.objects.filter(name="Sneaky").exists()


def test_the_room_page_sets_a_session_cookie_and_has_a_board(client: Client) -> None:
    room = rooms.create_room(name="Board", size=4, win_length=3)
    response = client.get(f"/rooms/{room.code}/")
    assert response.status_code == 200
    cookie = response.cookies["sessionid"]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    assert response.context["state"]["room"]["size"] == 4
    assert 'id="initial-state"' in response.content.decode()


def test_the_room_page_shows_this_processs_recent_presence_reading_without_asking_redis(client: Client) -> None:
    room = rooms.create_room(name="Watched")
    # Redis has nobody in the room; this process read two watchers a moment ago.
    last_presence.keep(room.code, PresenceSnapshot(frozenset({"w1", "w2"}), 0, time.time_ns() // 1000))
    assert client.get(f"/rooms/{room.code}/").context["state"]["spectators"] == 2
    # The API answers what Redis holds now.
    assert client.get(f"/api/rooms/{room.code}/").json()["spectators"] == 0


def test_the_room_page_reads_presence_from_redis_when_this_process_knows_none(client: Client) -> None:
    room = rooms.create_room(name="Fresh")
    async_to_sync(presence().add)(room.code, "socket-1", "watcher-hash", None)
    try:
        assert client.get(f"/rooms/{room.code}/").context["state"]["spectators"] == 1
    finally:
        async_to_sync(presence().remove)(room.code, "socket-1", "watcher-hash", None)


def test_an_unknown_room_is_404_on_the_page_and_the_api(client: Client) -> None:
    assert client.get("/rooms/nosuchroom/").status_code == 404
    response = client.get("/api/rooms/nosuchroom/")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_the_api_answers_the_state_without_you(client: Client) -> None:
    room = rooms.create_room(name="Api", size=3, win_length=3)
    state = client.get(f"/api/rooms/{room.code}/").json()
    assert state["type"] == "state"
    assert "you" not in state
    assert state["room"] == {
        "code": room.code,
        "name": "Api",
        "size": 3,
        "win_length": 3,
        "open": True,
        "time_control": None,
        "absence_seconds": 30,
        "rated": False,
        "idle_seconds": 300,
        "pool": "3x3-move:30",
    }
    assert state["game"]["board"] == [""] * 9
    assert state["game"]["status"] == "waiting"
    assert state["players"] == {"X": None, "O": None}
    assert state["spectators"] == 0


def test_creating_a_room_seats_its_creator_as_x_under_their_name(client: Client) -> None:
    response = client.post(
        "/rooms/", {"name": "Mine", "size": "3", "win_length": "3", "player_name": "erin", "time_control": "move:15"}
    )
    room = Room.objects.get(name="Mine")
    assert response["Location"] == f"/rooms/{room.code}/"
    assert room.time_control == "move:15"
    game = write.current_game(room)
    assert game.player_x.name == "erin"  # type: ignore[union-attr]
    assert game.player_x.session_hash == session_hash(client.session.session_key)  # type: ignore[union-attr]


@pytest.mark.parametrize(("side", "seats"), [("o", {"O"}), ("x", {"X"}), ("random", {"X", "O"})])
def test_a_creator_sits_on_the_side_they_chose(side: str, seats: set[str]) -> None:
    taken = set()
    for attempt in range(40 if side == "random" else 1):
        client = Client()
        client.post("/rooms/", {"name": f"Side {side} {attempt}", "size": "3", "win_length": "3", "side": side})
        game = write.current_game(Room.objects.get(name=f"Side {side} {attempt}"))
        taken.add("X" if game.player_x_id else "O")
    assert taken == seats  # random: both sides come up (40 tries miss one 2 ** -39 of the time)


def test_join_by_code_accepts_a_code_or_an_invite_link(client: Client) -> None:
    room = rooms.create_room(name="Code")
    assert client.get("/join/", {"code": room.code})["Location"] == f"/rooms/{room.code}/"
    link = f"http://127.0.0.1:8000/rooms/{room.code}/"
    assert client.get("/join/", {"code": link})["Location"] == f"/rooms/{room.code}/"
    assert client.get("/join/", {"code": "nope!"}).status_code == 404


def test_healthz_is_ok_when_database_and_redis_answer(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "db": "ok", "channel_layer": "ok", "presence": "ok"}


def test_healthz_is_503_naming_the_channel_layer_when_the_layer_cannot_reach_redis(client: Client) -> None:
    nowhere = {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]},
    }
    with override_settings(CHANNEL_LAYERS={"default": nowhere}):
        response = client.get("/healthz")
    assert response.status_code == 503
    # Presence's Redis answers: the layer itself was asked, not presence in its name.
    assert response.json() == {"status": "error", "db": "ok", "channel_layer": "error", "presence": "ok"}


def test_healthz_answers_in_time_when_the_layer_s_redis_accepts_but_never_answers(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket
    import time

    from game.web import operator_views

    monkeypatch.setattr(operator_views, "HEALTH_TIMEOUT_SECONDS", 0.5)
    with socket.create_server(("127.0.0.1", 0)) as silent:  # connections wait in its backlog, unanswered
        port = silent.getsockname()[1]
        hung = {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [f"redis://127.0.0.1:{port}/0"]},
        }
        started = time.monotonic()
        with override_settings(CHANNEL_LAYERS={"default": hung}):
            response = client.get("/healthz")
        assert time.monotonic() - started < 3
    assert response.status_code == 503
    assert response.json()["channel_layer"] == "error"


def test_healthz_is_503_naming_presence_when_its_redis_is_unreachable(client: Client) -> None:
    from game.realtime import presence

    presence.stores.use(presence.RedisPresence(["redis://127.0.0.1:1/0"], ttl_seconds=30))
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "error", "db": "ok", "channel_layer": "ok", "presence": "error"}


def test_healthz_says_in_memory_for_the_in_memory_layer_and_is_ready(client: Client) -> None:
    from game.realtime import presence

    presence.stores.use(presence.MemoryPresence())
    with override_settings(CHANNEL_LAYERS={"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "db": "ok", "channel_layer": "in-memory", "presence": "in-memory"}


def test_healthz_leaves_no_channel_subscribed_behind() -> None:
    import redis.asyncio
    from channels.layers import get_channel_layer
    from django.conf import settings

    from game.web.operator_views import _round_trip
    from testing.wait import auntil

    async def subscribed_after_three_checks() -> list[bytes]:
        layer = get_channel_layer()
        for _ in range(3):
            await _round_trip(layer)
        client = redis.asyncio.Redis.from_url(settings.REDIS_URLS[0])

        async def none_left() -> bool:
            return not await client.pubsub_channels("*healthz*")

        try:
            # An UNSUBSCRIBE is sent without waiting for its reply: Redis forgets the channel soon after.
            await auntil(none_left, message="no *healthz* channel left subscribed")
            return await client.pubsub_channels("*healthz*")
        finally:
            await client.aclose()

    assert async_to_sync(subscribed_after_three_checks)() == []


def test_a_host_creates_and_closes_rooms_in_the_admin(admin_client: Client) -> None:
    response = admin_client.post(
        "/admin/game/room/add/",
        # What the add form posts with its defaults for the time control and the away limit.
        {
            "code": "hosted1",
            "name": "Hosted",
            "size": "4",
            "win_length": "3",
            "is_open": "on",
            "time_control": "none",
            "absence_seconds": "30",
            "idle_seconds": "300",
        },
    )
    assert response.status_code == 302
    room = Room.objects.get(code="hosted1")
    assert Game.objects.filter(room=room, number=1).exists()
    response = admin_client.post(
        "/admin/game/room/", {"action": "close_rooms", "_selected_action": [room.pk]}, follow=True
    )
    assert response.status_code == 200
    room.refresh_from_db()
    assert room.is_open is False


def test_the_admin_shows_games_and_moves_read_only(admin_client: Client) -> None:
    room = rooms.create_room(name="History")
    game = write.current_game(room)
    assert admin_client.get(f"/admin/game/game/{game.pk}/change/").status_code == 200
    assert admin_client.get("/admin/game/game/?status=waiting").status_code == 200
    assert admin_client.get("/admin/game/move/?q=History").status_code == 200
    assert admin_client.post(f"/admin/game/game/{game.pk}/change/", {"status": "won"}).status_code == 403
    assert admin_client.get("/admin/game/game/add/").status_code == 403


def test_metrics_are_served_in_prometheus_text_format(client: Client) -> None:
    rooms.create_room(name="Counted")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    for name in (
        "tictac_open_sockets",
        "tictac_rooms_open 1.0",
        "tictac_games_in_play 0.0",
        "tictac_moves_accepted_total",
        "# TYPE tictac_message_seconds histogram",
    ):
        assert name in text


def test_no_table_but_the_session_store_holds_a_session_key_and_the_admin_shows_none(
    client: Client, admin_client: Client
) -> None:
    client.post("/rooms/", {"name": "Keys", "player_name": "fay"})
    key = client.session.session_key
    assert key is not None
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            if table == "django_session":
                continue
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            assert not any(key in str(value) for row in cursor.fetchall() for value in row), table
    player = Player.objects.get(name="fay")
    page = admin_client.get(f"/admin/game/player/{player.pk}/change/").content.decode()
    assert "fay" in page
    assert key not in page
    assert player.session_hash not in page


def test_the_admins_room_help_text_shows_the_address_pattern_as_text(admin_client: Client) -> None:
    page = admin_client.get("/admin/game/room/add/").content.decode()
    assert "/rooms/&lt;code&gt;/" in page  # shown as typed, not taken for a <code> element
    assert "/rooms//" not in page


def _json_script(html: str, element_id: str) -> Any:
    """The data a page carries in ``{{ ...|json_script:element_id }}``."""
    match = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', html, re.S)
    assert match, element_id
    return json.loads(match.group(1))


def test_the_pages_take_their_limits_from_the_server_not_from_numbers_in_the_page(client: Client) -> None:
    room = rooms.create_room(name="Limits")
    lobby = client.get("/").content.decode()
    page = client.get(f"/rooms/{room.code}/").content.decode()
    for html in (lobby, page):
        limits = _json_script(html, "limits")
        assert limits == page_limits()
        assert limits["name_max_length"] == NAME_MAX_LENGTH
        assert limits["chat_max_length"] == CHAT_MAX_LENGTH
        assert (limits["min_size"], limits["max_size"]) == (rules.MIN_SIZE, rules.MAX_SIZE)
        assert 0 < limits["ping_every_ms"] < limits["silence_limit_ms"]
    assert f'id="chat-input" name="text" type="text" maxlength="{CHAT_MAX_LENGTH}"' in page
    size = re.search(r'name="size" type="number"\s+min="(\d+)" max="(\d+)"', lobby)
    assert size
    assert (int(size[1]), int(size[2])) == (rules.MIN_SIZE, rules.MAX_SIZE)
    # The create form offers exactly the time controls the form accepts, in its words.
    offered = re.findall(r'<option value="([^"]+)"(?: selected)?>([^<]+)</option>', lobby)
    assert [(value, label) for value, label in offered if value not in computer.BOT_LEVELS] == list(
        TIME_CONTROL_LABELS.items()
    )


def test_the_pages_load_their_scripts_as_modules(client: Client) -> None:
    room = rooms.create_room(name="Modules")
    game = write.current_game(room)
    for path, script in (
        ("/", "lobby.js"),
        (f"/rooms/{room.code}/", "room/main.js"),
        (f"/games/{game.pk}/", "replay.js"),
    ):
        html = client.get(path).content.decode()
        assert f'<script type="module" src="/static/game/{script}"></script>' in html, path
