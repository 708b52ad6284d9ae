"""Playing the computer from the lobby: under the name typed, on the board asked for."""

from __future__ import annotations

import pytest
from django.test import Client

from game.actions import write
from game.models import Room
from game.web.page_sessions import NAME_SESSION_KEY

pytestmark = pytest.mark.django_db(transaction=True)


def _room_of(response: object) -> Room:
    location: str = response["Location"]  # type: ignore[index]
    return Room.objects.get(code=location.split("/")[2])


def test_the_player_sits_under_the_name_they_typed_and_it_is_remembered(client: Client) -> None:
    response = client.post("/play/computer/", {"level": "easy", "name": "  Rosa  "})
    assert response.status_code == 302
    room = _room_of(response)
    state = client.get(f"/api/rooms/{room.code}/").json()
    assert state["players"]["X"]["name"] == "Rosa"
    assert state["players"]["O"]["computer"] == "easy"
    assert client.session[NAME_SESSION_KEY] == "Rosa"
    # Next time, without typing, the remembered name again.
    again = client.post("/play/computer/", {"level": "easy"})
    assert client.get(f"/api/rooms/{_room_of(again).code}/").json()["players"]["X"]["name"] == "Rosa"


def test_a_seven_by_seven_board_with_four_in_a_row_is_made_when_asked(client: Client) -> None:
    response = client.post("/play/computer/", {"level": "medium", "size": "7", "win_length": "4"})
    room = _room_of(response)
    assert (room.size, room.win_length) == (7, 4)
    game = write.current_game(room)
    assert (game.status, len(game.board)) == ("playing", 49)


def test_without_a_board_asked_for_it_is_three_by_three(client: Client) -> None:
    room = _room_of(client.post("/play/computer/", {"level": "easy", "size": "", "win_length": ""}))
    assert (room.size, room.win_length) == (3, 3)


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"size": "2"}, "Boards are 3×3 to 15×15"),
        ({"size": "16", "win_length": "5"}, "Boards are 3×3 to 15×15"),
        ({"size": "5", "win_length": "6"}, "to the board"),
        ({"size": "seven"}, "whole numbers"),
        ({"name": "x" * 200}, "A name is at most"),
    ],
)
def test_a_bad_board_or_name_gets_400_with_the_lobby_and_makes_nothing(
    client: Client, fields: dict[str, str], reason: str
) -> None:
    response = client.post("/play/computer/", {"level": "easy", **fields})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="create-room"' in page  # the lobby, with the reason
    assert reason in page
    assert not Room.objects.exists()
