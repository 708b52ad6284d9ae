"""Requests that make rows are budgeted per client address, over every worker, whether or not they
bring a cookie: a client that sends none gets a new session (a row) each time, never a new address."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.test import Client

from game.actions import rooms
from game.models import Player, Room
from game.realtime import budgets
from testing.clients import Socket, new_session_key, unused_address


def _rows() -> tuple[int, int, int, int]:
    """How many rooms, players, sessions and accounts the database holds."""
    return Room.objects.count(), Player.objects.count(), Session.objects.count(), User.objects.count()


@pytest.mark.django_db
def test_cookie_less_room_page_views_from_one_address_make_at_most_the_cap_of_sessions(
    tight: dict[str, Any], address: str
) -> None:
    tight["BUDGETS"]["new_sessions_per_address"] = (10, 3600)
    room = rooms.create_room(name="looked at")
    responses = [Client(REMOTE_ADDR=address).get(f"/rooms/{room.code}/") for _ in range(40)]
    assert [response.status_code for response in responses] == [200] * 40  # the page is still served
    assert Session.objects.count() == 10
    assert ["sessionid" in response.cookies for response in responses] == [True] * 10 + [False] * 30
    # Another address still gets its cookie, and a visitor with a session keeps theirs.
    assert "sessionid" in Client(REMOTE_ADDR=unused_address()).get(f"/rooms/{room.code}/").cookies
    returning = Client(REMOTE_ADDR=address)
    returning.cookies["sessionid"] = responses[0].cookies["sessionid"].value
    assert returning.get(f"/rooms/{room.code}/").status_code == 200
    assert Session.objects.count() == 11


@pytest.mark.django_db
def test_cookie_less_room_creation_past_the_address_budget_makes_nothing(tight: dict[str, Any], address: str) -> None:
    tight["BUDGETS"]["rooms_per_address"] = (2, 3600)
    made = [Client(REMOTE_ADDR=address).post("/rooms/", {"name": f"r{n}"}).status_code for n in range(2)]
    assert made == [302, 302]
    before = _rows()
    refused = [Client(REMOTE_ADDR=address).post("/rooms/", {"name": f"x{n}"}) for n in range(3)]
    assert [response.status_code for response in refused] == [429] * 3
    assert "many rooms lately" in refused[0].content.decode()
    assert _rows() == before  # no room, no player, no session


@pytest.mark.django_db(transaction=True)
def test_cookie_less_computer_games_past_the_address_budget_make_nothing(tight: dict[str, Any], address: str) -> None:
    tight["BUDGETS"]["computer_games_per_address"] = (2, 3600)
    made = [Client(REMOTE_ADDR=address).post("/play/computer/", {"level": "easy"}).status_code for _ in range(2)]
    assert made == [302, 302]
    before = _rows()
    refused = Client(REMOTE_ADDR=address).post("/play/computer/", {"level": "easy"})
    assert refused.status_code == 429
    assert budgets.TOO_MANY_COMPUTER_GAMES in refused.content.decode()
    assert _rows() == before
    assert Client(REMOTE_ADDR=unused_address()).post("/play/computer/", {"level": "easy"}).status_code == 302


@pytest.mark.django_db(transaction=True)
def test_computer_games_with_a_cookie_share_their_addresss_budget(tight: dict[str, Any], address: str) -> None:
    tight["BUDGETS"]["computer_games_per_address"] = (1, 3600)
    Client(REMOTE_ADDR=address).post("/play/computer/", {"level": "easy"})
    with_a_cookie = Client(REMOTE_ADDR=address)
    with_a_cookie.post("/rooms/", {"name": "mine"})  # a session of its own
    assert with_a_cookie.post("/play/computer/", {"level": "easy"}).status_code == 429


async def test_the_computer_asked_for_in_a_room_is_refused_past_the_address_budget(
    room: Room, tight: dict[str, Any], settings: Any, address: str
) -> None:
    settings.TRUSTED_PROXY_COUNT = 1
    tight["BUDGETS"]["computer_games_per_address"] = (1, 3600)
    assert await budgets.spend("computer_games_per_address", address)  # the lobby's button, on another worker
    alice = await Socket.open(room.code, await new_session_key(), forwarded_for=address)
    await alice.join("alice")
    refusal = await alice.error({"type": "add_computer", "level": "easy"})
    assert (refusal["code"], refusal["message"]) == ("too_many_bots", budgets.TOO_MANY_COMPUTER_GAMES)
    assert await Player.objects.filter(bot_level__gt="").acount() == 0
    await alice.close()


PASSWORD = "a long enough passphrase 22"


@pytest.mark.django_db
def test_sign_ups_past_the_address_budget_make_no_account(tight: dict[str, Any], address: str) -> None:
    tight["BUDGETS"]["signups_per_address"] = (2, 3600)

    def sign_up(username: str) -> Any:
        return Client(REMOTE_ADDR=address).post(
            "/accounts/signup/", {"username": username, "password1": PASSWORD, "password2": PASSWORD}
        )

    mistaken = {"username": "ann", "password1": PASSWORD, "password2": "something else"}
    assert [Client(REMOTE_ADDR=address).post("/accounts/signup/", mistaken).status_code for _ in range(3)] == [400] * 3
    # Only forms that would make an account spend the budget: a typo costs nothing.
    assert [sign_up(name).status_code for name in ("ann", "bea")] == [302, 302]
    before = _rows()
    refused = sign_up("cat")
    assert refused.status_code == 429
    assert "Many accounts were made from your address lately" in refused.content.decode()
    assert 'id="signup-form"' in refused.content.decode()  # the form again, to try later
    assert _rows() == before  # no account, no session
    assert not User.objects.filter(username="cat").exists()
