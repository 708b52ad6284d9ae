"""A page and two downloads for every game, and a room's past games, over plain HTTP."""

from __future__ import annotations

import doctest
import json
import re

import pytest
from django.test import Client

from game.actions import moves, rematch, rooms
from game.domain import notation
from game.domain.notation import GameRecord
from game.models import Game, Move, Room
from testing.seating import SeatedPair, seat_pair

pytestmark = pytest.mark.django_db


def _play(room: Room, x: int, o: int, cells: list[int]) -> Game:
    """Play ``cells`` in turn, X first; the game as stored afterwards."""
    for position, cell in enumerate(cells):
        moves.play_move(room, x if position % 2 == 0 else o, cell)
    return Game.objects.filter(room=room).order_by("-number").first()  # type: ignore[return-value]


# bob (O) completes the middle row with his third move.
BOB_WINS = [0, 3, 1, 4, 8, 5]


def _bob_wins() -> tuple[Room, Game]:
    room, alice, bob = seat_pair(rooms.create_room(name="Replays"))
    game = _play(room, alice, bob, BOB_WINS)
    assert (game.status, game.winner, game.reason) == ("won", "O", "line")
    return room, game


def _finished_on(game: Game) -> str:
    last_move = Move.objects.filter(game=game).order_by("-number").first()
    assert last_move is not None
    return last_move.created_at.date().isoformat()


def test_the_text_download_has_the_header_block_then_one_line_per_move(client: Client) -> None:
    room, game = _bob_wins()
    response = client.get(f"/games/{game.pk}.txt")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode() == (
        f'[Room "{room.code}"]\n'
        '[Game "1"]\n'
        '[Size "3"]\n'
        '[WinLength "3"]\n'
        '[X "alice"]\n'
        '[O "bob"]\n'
        '[Result "0-1"]\n'
        '[Status "won"]\n'
        '[Reason "line"]\n'
        f'[Date "{_finished_on(game)}"]\n'
        "\n"
        "1. X r1c1\n"
        "2. O r2c1\n"
        "3. X r1c2\n"
        "4. O r2c2\n"
        "5. X r3c3\n"
        "6. O r2c3\n"
    )


def test_the_json_download_holds_players_result_moves_and_times(client: Client) -> None:
    room, game = _bob_wins()
    response = client.get(f"/games/{game.pk}.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    data = response.json()
    last_move = Move.objects.get(game=game, number=len(BOB_WINS))
    assert data == {
        "id": game.pk,
        "room": room.code,
        "number": 1,
        "size": 3,
        "win_length": 3,
        "players": {"X": "alice", "O": "bob"},
        "status": "won",
        "winner": "O",
        "reason": "line",
        "line": [3, 4, 5],
        "moves": BOB_WINS,
        "created_at": data["created_at"],
        "finished_at": data["finished_at"],
    }
    assert data["created_at"].startswith(game.created_at.strftime("%Y-%m-%dT%H:%M:%S"))
    # A game won by a move ended when that move was played.
    assert data["finished_at"].startswith(last_move.created_at.strftime("%Y-%m-%dT%H:%M:%S"))


def test_a_resigned_game_records_who_resigned_and_no_line(seated_pair: SeatedPair, client: Client) -> None:
    room, alice, bob = seated_pair
    _play(room, alice, bob, [4])
    game = moves.resign(room, bob)
    data = client.get(f"/games/{game.pk}.json").json()
    assert (data["status"], data["winner"], data["reason"], data["line"], data["moves"]) == (
        "resigned",
        "X",
        "resigned",
        None,
        [4],
    )
    assert data["finished_at"] is not None
    text = client.get(f"/games/{game.pk}.txt").content.decode()
    assert '[Result "1-0"]\n[Status "resigned"]\n[Reason "resigned"]' in text
    assert text.endswith('"]\n\n1. X r2c2\n')
    page = client.get(f"/games/{game.pk}/").content.decode()
    assert "bob resigned — alice wins" in page


def test_the_replay_page_shows_names_result_date_size_board_and_its_own_link_to_anyone() -> None:
    room, game = _bob_wins()
    anonymous = Client()
    response = anonymous.get(f"/games/{game.pk}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "alice vs bob" in page
    assert '<p id="result" class="status" data-status="won">bob wins (three in a row)</p>' in page
    assert "3×3 · 3 in a row" in page
    assert f'<time datetime="{_finished_on(game)}T' in page
    assert f'value="http://testserver/games/{game.pk}/"' in page
    assert f'href="/games/{game.pk}.txt"' in page
    assert f'href="/games/{game.pk}.json"' in page
    assert f'href="/rooms/{room.code}/games/"' in page
    # The last position, server-drawn; replay.js takes it from there with the moves in #replay-data.
    cells = re.findall(r'data-cell="(\d+)" data-mark="([XO]?)"', page)
    assert [mark for _, mark in cells] == ["X", "X", "", "O", "O", "O", "", "", "X"]
    data = json.loads(re.search(r'<script id="replay-data" type="application/json">(.*?)</script>', page)[1])  # type: ignore[index]
    assert data == {"size": 3, "moves": BOB_WINS, "line": [3, 4, 5]}
    assert "still being played" not in page
    assert "sessionid" not in response.cookies  # reading a game makes no session


def test_the_replay_page_keeps_to_the_content_security_policy(client: Client) -> None:
    _, game = _bob_wins()
    page = client.get(f"/games/{game.pk}/").content.decode()
    scripts = re.findall(r"<script([^>]*)>", page)
    assert scripts
    assert all("src=" in attributes or 'type="application/json"' in attributes for attributes in scripts)
    assert " style=" not in page
    assert "/static/game/replay.js" in page


def test_names_made_of_html_are_shown_as_text_everywhere(client: Client) -> None:
    evil = "<b>x</b>&\"'"
    room, alice, bob = seat_pair(rooms.create_room(name="Evil"), x_name=evil)
    game = _play(room, alice, bob, [0, 3, 1, 4, 2])
    page = client.get(f"/games/{game.pk}/").content.decode()
    assert "<b>x</b>" not in page
    assert "&lt;b&gt;x&lt;/b&gt;&amp;&quot;&#x27; wins (three in a row)" in page
    listing = client.get(f"/rooms/{room.code}/games/").content.decode()
    assert "<b>x</b>" not in listing
    assert client.get(f"/games/{game.pk}.json").json()["players"]["X"] == evil
    assert '[X "<b>x</b>&\\"\'"]' in client.get(f"/games/{game.pk}.txt").content.decode()


def test_a_game_still_being_played_shows_its_moves_so_far_and_says_so(seated_pair: SeatedPair, client: Client) -> None:
    room, alice, bob = seated_pair
    game = _play(room, alice, bob, [4, 0])
    page = client.get(f"/games/{game.pk}/").content.decode()
    assert "This game is still being played" in page
    assert ">alice to move</p>" in page
    assert f'href="/rooms/{room.code}/"' in page
    data = client.get(f"/games/{game.pk}.json").json()
    assert (data["status"], data["reason"], data["finished_at"], data["moves"]) == ("playing", None, None, [4, 0])
    assert '[Result "*"]' in client.get(f"/games/{game.pk}.txt").content.decode()


@pytest.mark.parametrize("suffix", ["/", ".txt", ".json"])
def test_an_unknown_game_is_404(client: Client, suffix: str) -> None:
    assert client.get(f"/games/999999{suffix}").status_code == 404


def test_an_unknown_room_has_no_games_list(client: Client) -> None:
    assert client.get("/rooms/no-such-room/games/").status_code == 404


def test_the_room_lists_its_finished_games_newest_first_each_linking_to_its_page(
    seated_pair: SeatedPair, client: Client
) -> None:
    room, alice, bob = seated_pair
    first = _play(room, alice, bob, BOB_WINS)  # bob wins as O
    rematch.request_rematch(room, alice)
    rematch.request_rematch(room, bob)
    # Marks swap: bob is X in game 2, and it ends in a draw.
    second = _play(room, bob, alice, [4, 0, 8, 2, 1, 7, 3, 5, 6])
    assert (second.number, second.status) == (2, "draw")
    rematch.request_rematch(room, alice)
    rematch.request_rematch(room, bob)
    third = _play(room, alice, bob, [4])  # being played: not listed
    response = client.get(f"/rooms/{room.code}/games/")
    assert response.status_code == 200
    page = response.content.decode()
    assert re.findall(r'data-game="(\d+)"', page) == [str(second.pk), str(first.pk)]
    assert str(third.pk) not in re.findall(r'data-game="(\d+)"', page)
    assert f'href="/games/{second.pk}/"' in page
    assert f'href="/games/{first.pk}/"' in page
    assert "Game 2: bob vs alice" in page
    assert "Draw · 9 moves" in page
    assert "bob wins (three in a row) · 6 moves" in page


def test_the_room_games_list_is_one_query_for_the_games_however_many(
    seated_pair: SeatedPair, client: Client, django_assert_max_num_queries: object
) -> None:
    room, alice, bob = seated_pair
    for _ in range(5):
        _play(room, alice, bob, [4, 0, 8, 2, 1, 7, 3, 5, 6])  # a draw
        rematch.request_rematch(room, alice)
        rematch.request_rematch(room, bob)
        alice, bob = bob, alice  # marks swap in a rematch
    with django_assert_max_num_queries(2):  # type: ignore[operator]
        page = client.get(f"/rooms/{room.code}/games/").content.decode()
    assert len(re.findall(r'data-game="(\d+)"', page)) == 5


def test_a_room_with_no_finished_games_says_so(seated_pair: SeatedPair, client: Client) -> None:
    room, _, _ = seated_pair
    page = client.get(f"/rooms/{room.code}/games/").content.decode()
    assert "No finished games in this room yet." in page


def test_the_room_page_links_to_its_past_games(seated_pair: SeatedPair, client: Client) -> None:
    room, _, _ = seated_pair
    page = client.get(f"/rooms/{room.code}/").content.decode()
    assert f'<a href="/rooms/{room.code}/games/" id="past-games">Past games</a>' in page


def _record(status: str, reason: str, winner: str | None, win_length: int = 3) -> GameRecord:
    return GameRecord("room", 1, 5, win_length, "alice", "bob", status, reason, winner, (0, 1), "2025-06-01")


@pytest.mark.parametrize(
    ("status", "reason", "winner", "words", "result"),
    [
        ("won", "line", "X", "alice wins (three in a row)", "1-0"),
        ("won", "line", "O", "bob wins (three in a row)", "0-1"),
        ("draw", "full_board", None, "Draw", "1/2-1/2"),
        ("draw", "agreed", None, "Draw agreed", "1/2-1/2"),
        ("draw", "claimed_draw", None, "Draw claimed", "1/2-1/2"),
        ("resigned", "resigned", "O", "alice resigned — bob wins", "0-1"),
        ("timeout", "timeout", "X", "bob ran out of time — alice wins", "1-0"),
        ("abandoned", "claimed_win", "X", "bob left — alice wins", "1-0"),
        ("aborted", "aborted", None, "Game aborted", "*"),
        ("playing", "", None, "alice to move", "*"),
    ],
)
def test_every_ending_is_said_in_words_and_as_a_result(
    status: str, reason: str, winner: str | None, words: str, result: str
) -> None:
    record = _record(status, reason, winner)
    assert (record.result_words, record.result) == (words, result)


def test_a_win_names_how_many_in_a_row() -> None:
    assert _record("won", "line", "O", win_length=5).result_words == "bob wins (five in a row)"


def test_the_records_module_examples_hold() -> None:
    failures, tried = doctest.testmod(notation)
    assert tried > 0
    assert failures == 0
