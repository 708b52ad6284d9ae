"""The HTTP side of the contract: lobby, room pages, the JSON snapshot, health."""

from __future__ import annotations

import pytest
from django.test import Client

from game import services
from game.models import Game, Room

pytestmark = pytest.mark.django_db


def test_the_lobby_lists_open_rooms_and_offers_the_create_form(client: Client) -> None:
    services.create_room(name="Friday night", size=5, win_length=4)
    closed = services.create_room(name="Gone")
    Room.objects.filter(pk=closed.pk).update(is_open=False)
    page = client.get("/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Friday night" in text
    assert "Gone" not in text
    assert 'name="size"' in text
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
    room = services.create_room(name="Board", size=4, win_length=3)
    response = client.get(f"/rooms/{room.code}/")
    assert response.status_code == 200
    cookie = response.cookies["sessionid"]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    assert response.context["state"]["room"]["size"] == 4
    assert 'id="initial-state"' in response.content.decode()


def test_an_unknown_room_is_404_on_the_page_and_the_api(client: Client) -> None:
    assert client.get("/rooms/nosuchroom/").status_code == 404
    response = client.get("/api/rooms/nosuchroom/")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_the_api_answers_the_state_without_you(client: Client) -> None:
    room = services.create_room(name="Api", size=3, win_length=3)
    state = client.get(f"/api/rooms/{room.code}/").json()
    assert state["type"] == "state"
    assert "you" not in state
    assert state["room"] == {"code": room.code, "name": "Api", "size": 3, "win_length": 3, "open": True}
    assert state["game"]["board"] == [""] * 9
    assert state["game"]["status"] == "waiting"
    assert state["players"] == {"X": None, "O": None}
    assert state["spectators"] == 0


def test_quick_play_seats_the_visitor_in_the_oldest_waiting_room(client: Client) -> None:
    older = services.create_room(name="Older")
    services.create_room(name="Newer")
    response = client.post("/play/")
    assert response.status_code == 302
    assert response["Location"] == f"/rooms/{older.code}/"
    game = Game.objects.get(room=older)
    assert game.player_x is not None
    assert game.player_x.session_key == client.session.session_key


def test_quick_play_makes_a_room_when_none_is_waiting(client: Client) -> None:
    response = client.post("/play/")
    assert response.status_code == 302
    assert Room.objects.count() == 1


def test_join_by_code_accepts_a_code_or_an_invite_link(client: Client) -> None:
    room = services.create_room(name="Code")
    assert client.get("/join/", {"code": room.code})["Location"] == f"/rooms/{room.code}/"
    link = f"http://127.0.0.1:8000/rooms/{room.code}/"
    assert client.get("/join/", {"code": link})["Location"] == f"/rooms/{room.code}/"
    assert client.get("/join/", {"code": "nope!"}).status_code == 404


def test_healthz_is_ok_when_database_and_redis_answer(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "db": "ok", "channel_layer": "ok"}


def test_healthz_is_503_naming_the_channel_layer_when_redis_is_unreachable(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from game import presence

    dead = presence.RedisPresence("redis://127.0.0.1:1/0", ttl_seconds=30)
    monkeypatch.setattr(presence, "_store", dead)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["channel_layer"] == "error"
    assert response.json()["db"] == "ok"


def test_a_host_creates_and_closes_rooms_in_the_admin(admin_client: Client) -> None:
    response = admin_client.post(
        "/admin/game/room/add/", {"code": "hosted1", "name": "Hosted", "size": "4", "win_length": "3", "is_open": "on"}
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
    room = services.create_room(name="History")
    game = services.current_game(room)
    assert admin_client.get(f"/admin/game/game/{game.pk}/change/").status_code == 200
    assert admin_client.get("/admin/game/game/?status=waiting").status_code == 200
    assert admin_client.get("/admin/game/move/?q=History").status_code == 200
    assert admin_client.post(f"/admin/game/game/{game.pk}/change/", {"status": "won"}).status_code == 403
    assert admin_client.get("/admin/game/game/add/").status_code == 403


def test_metrics_are_served_in_prometheus_text_format(client: Client) -> None:
    services.create_room(name="Counted")
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
