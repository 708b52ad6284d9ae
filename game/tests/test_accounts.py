"""Optional accounts: sign up, sign in, sign out, change password; a seat survives each key rotation."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from game.actions import identities, seating
from game.models import Game, Player, Room

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery 9"


def _seated_visitor(client: Client, player_name: str = "alice") -> Room:
    """The visitor makes a room from the lobby and so sits in it as X."""
    response = client.post("/rooms/", {"name": "Mid-game", "size": "3", "win_length": "3", "player_name": player_name})
    assert response.status_code == 302
    return Room.objects.get(name="Mid-game")


def _player_x(room: Room) -> Player:
    player = Game.objects.select_related("player_x").get(room=room).player_x
    assert player is not None
    return player


def test_a_seated_visitor_who_signs_in_keeps_the_seat_and_their_typed_name(client: Client) -> None:
    user = User.objects.create_user("alice_account", password=PASSWORD)
    room = _seated_visitor(client)
    seated = _player_x(room)
    old_key = client.session.session_key
    response = client.post(
        "/accounts/login/", {"username": "alice_account", "password": PASSWORD, "next": f"/rooms/{room.code}/"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/rooms/{room.code}/"
    assert client.session.session_key != old_key  # login() rotated the key
    identity = identities.identify(client.session)
    assert identity.player_id == seated.id
    assert identity.user_id == user.pk
    player = _player_x(room)
    assert (player.id, player.user_id, player.name) == (seated.id, user.pk, "alice")
    assert seating.join(room, identity, None)[0].seat_of(player.id) == "X"  # re-attached, not a new seat


def test_a_visitor_who_never_typed_a_name_plays_under_their_new_username(client: Client) -> None:
    room = _seated_visitor(client, player_name="")
    assert _player_x(room).name == "Player"
    response = client.post(
        "/accounts/signup/",
        {"username": "carol", "password1": PASSWORD, "password2": PASSWORD, "next": f"/rooms/{room.code}/"},
    )
    assert response.status_code == 302
    assert response["Location"] == f"/rooms/{room.code}/"
    player = _player_x(room)
    assert (player.name, player.user.username if player.user else None) == ("carol", "carol")
    assert identities.identify(client.session).player_id == player.id


def test_a_signed_in_player_who_takes_a_seat_without_typing_a_name_gets_their_username(client: Client) -> None:
    User.objects.create_user("dave", password=PASSWORD)
    client.post("/accounts/login/", {"username": "dave", "password": PASSWORD})
    room = _seated_visitor(client, player_name="")
    assert _player_x(room).name == "dave"


def test_changing_the_password_keeps_the_seat(client: Client) -> None:
    User.objects.create_user("erin", password=PASSWORD)
    client.post("/accounts/login/", {"username": "erin", "password": PASSWORD})
    room = _seated_visitor(client)
    seated = _player_x(room)
    response = client.post(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password1": "another long secret 4", "new_password2": "another long secret 4"},
    )
    assert response.status_code == 302
    assert identities.identify(client.session).player_id == seated.id
    assert client.get("/accounts/password/done/").status_code == 200


def test_signing_out_leaves_the_seat_with_the_account_not_the_browser(client: Client) -> None:
    User.objects.create_user("frank", password=PASSWORD)
    client.post("/accounts/login/", {"username": "frank", "password": PASSWORD})
    room = _seated_visitor(client)
    assert client.get("/accounts/logout/").status_code == 405  # signing out is a POST (CSRF-protected)
    assert client.post("/accounts/logout/").status_code == 302
    client.get(f"/rooms/{room.code}/")
    assert identities.identify(client.session).player_id is None
    assert _player_x(room).user is not None


def test_the_header_offers_sign_in_or_names_the_signed_in_player(client: Client) -> None:
    page = client.get("/").content.decode()
    assert 'id="sign-in"' in page
    assert 'id="sign-up"' in page
    User.objects.create_user("grace", password=PASSWORD)
    client.post("/accounts/login/", {"username": "grace", "password": PASSWORD})
    page = client.get("/").content.decode()
    assert '<span class="account-name" id="account-name">grace</span>' in page
    assert 'href="/players/grace/"' in page
    assert 'id="sign-out"' in page


def test_sign_up_refuses_a_bad_form_and_never_redirects_off_site(client: Client) -> None:
    response = client.post("/accounts/signup/", {"username": "heidi", "password1": "short", "password2": "short"})
    assert response.status_code == 400
    assert not User.objects.filter(username="heidi").exists()
    response = client.post(
        "/accounts/signup/",
        {"username": "heidi", "password1": PASSWORD, "password2": PASSWORD, "next": "https://evil.example/"},
    )
    assert response["Location"] == "/"


def test_the_site_sign_in_is_locked_after_repeated_failures_like_the_admin(client: Client) -> None:
    User.objects.create_user("ivan", password=PASSWORD)
    for _ in range(4):
        assert client.post("/accounts/login/", {"username": "ivan", "password": "wrong"}).status_code == 200
    assert client.post("/accounts/login/", {"username": "ivan", "password": "wrong"}).status_code == 429  # the 5th
    assert client.post("/accounts/login/", {"username": "ivan", "password": PASSWORD}).status_code == 429


def test_another_account_signing_in_on_the_same_browser_does_not_take_the_last_ones_player(client: Client) -> None:
    User.objects.create_user("judy", password=PASSWORD)
    User.objects.create_user("mallory", password=PASSWORD)
    client.post("/accounts/login/", {"username": "judy", "password": PASSWORD})
    room = _seated_visitor(client)
    session = client.session
    session[identities.PLAYER_SESSION_KEY] = _player_x(room).id  # as if remembered, then mallory signs in
    session.save()
    client.post("/accounts/logout/")
    client.get("/")
    session = client.session
    session[identities.PLAYER_SESSION_KEY] = _player_x(room).id
    session.save()
    client.post("/accounts/login/", {"username": "mallory", "password": PASSWORD})
    assert identities.identify(client.session).player_id is None
    assert _player_x(room).user.username == "judy"  # type: ignore[union-attr]
