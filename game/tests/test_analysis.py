"""A finished game judged position by position: 3×3 exactly (checked against a minimax of its own), larger
boards by the engine's bounded search, kept once searched; and the replay's "Practice from here"."""

from __future__ import annotations

import asyncio
from functools import cache
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.test import AsyncClient, Client

from game.actions import identities, moves, rooms, seating, write
from game.domain import analysis
from game.domain.rules import EMPTY, Board, Cell
from game.models import Game, GameAnalysis, Move, Room
from game.realtime.analysis_jobs import Analyses, analyses
from game.realtime.computer_turns import computer_players

# --- 3×3, exact: against a plain minimax written here, independent of game.domain.search's table ---------------------

Outcome = tuple[int, int]
"""For the player to move: 1 win, 0 draw, -1 loss; and the plies until the game ends with best play."""

_LINES = ((0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6))


def _preference(outcome: Outcome) -> tuple[int, int]:
    """How much the player to move likes an outcome: a win, the sooner the better; a loss, the later."""
    result, plies = outcome
    return (result, -plies if result == 1 else plies if result == -1 else 0)


@cache
def _oracle(cells: tuple[str, ...]) -> dict[Cell, Outcome]:
    """Each empty cell's outcome for the player to move in ``cells`` (a 3×3 position still in play)."""
    mark = "X" if cells.count("X") == cells.count("O") else "O"
    outcomes: dict[Cell, Outcome] = {}
    for cell in (index for index, value in enumerate(cells) if value == EMPTY):
        after = (*cells[:cell], mark, *cells[cell + 1 :])
        if any(all(after[index] == mark for index in line) for line in _LINES):
            outcomes[cell] = (1, 1)
        elif EMPTY not in after:
            outcomes[cell] = (0, 1)
        else:
            result, plies = max(_oracle(after).values(), key=_preference)
            outcomes[cell] = (-result, plies + 1)
    return outcomes


WORDS = {1: "win", 0: "draw", -1: "loss"}


def test_every_reachable_3x3_position_has_the_values_and_best_moves_of_an_exhaustive_minimax() -> None:
    seen: set[Board] = set()

    def visit(board: Board) -> None:
        if board in seen or board.outcome is not None:
            return
        seen.add(board)
        truth = _oracle(board.cells)
        found = analysis.exact_position(board)
        assert found["to_move"] == board.turn
        assert found["values"] == {str(cell): WORDS[result] for cell, (result, _) in truth.items()}, board
        best_result = max(result for result, _ in truth.values())
        assert found["value"] == WORDS[best_result]
        assert set(found["best"]) == {cell for cell, (result, _) in truth.items() if result == best_result}
        liked = [_preference(truth[cell]) for cell in found["best"]]
        assert liked == sorted(liked, reverse=True), f"{board}: fewest moves to a win (longest loss) first"
        for cell in board.legal_moves():
            visit(board.play(cell))

    visit(Board.empty(3))
    assert len(seen) == 4520  # every position with the game still on


def test_on_the_empty_board_every_cell_draws() -> None:
    start = analysis.exact_position(Board.empty(3))
    assert start["values"] == {str(cell): "draw" for cell in range(9)}
    assert start["best"] == list(range(9))
    assert (start["to_move"], start["value"]) == ("X", "draw")


@pytest.mark.parametrize("corner", [0, 2, 6, 8])
def test_after_x_takes_a_corner_only_the_centre_draws_for_o(corner: int) -> None:
    reply = analysis.exact_position(Board.empty(3).play(corner))
    assert reply["to_move"] == "O"
    assert {cell for cell, value in reply["values"].items() if value == "draw"} == {"4"}
    assert {value for cell, value in reply["values"].items() if cell != "4"} == {"loss"}
    assert reply["best"] == [4]


def test_after_x_takes_the_centre_the_corners_draw_and_the_edges_lose_for_o() -> None:
    reply = analysis.exact_position(Board.empty(3).play(4))
    assert reply["values"] == {"0": "draw", "1": "loss", "2": "draw", "3": "loss"} | {
        "5": "loss",
        "6": "draw",
        "7": "loss",
        "8": "draw",
    }


def test_a_win_thrown_to_a_loss_is_a_blunder_and_a_draw_thrown_to_a_loss_a_mistake() -> None:
    # X 0, O 4, X 8, O 2 (O loses: X forks at 6), X 1 (ignores O's 2-4-6), O 6 wins.
    game = analysis.analyse_exactly([0, 4, 8, 2, 1, 6])
    positions = game["positions"]
    assert game["exact"] is True
    assert [entry["ply"] for entry in positions] == list(range(7))
    assert [entry["verdict"] for entry in positions] == ["ok", "ok", "ok", "mistake", "blunder", "ok", None]
    assert (positions[3]["value"], positions[3]["values"]["2"]) == ("draw", "loss")
    assert (positions[4]["value"], positions[4]["values"]["1"], positions[4]["best"]) == ("win", "loss", [6])
    assert positions[5]["best"][0] == 6  # O wins at once: the quickest win first
    last = positions[6]
    assert (last["played"], last["to_move"], last["values"], last["best"]) == (None, None, {}, [])


def test_a_win_let_go_for_a_draw_is_a_mistake() -> None:
    # X 0, O 1 (an edge: O loses), X 2: X could have won (4, say), and only draws now.
    positions = analysis.analyse_exactly([0, 1, 2])["positions"]
    assert [entry["verdict"] for entry in positions] == ["ok", "mistake", "mistake", None]
    assert (positions[2]["value"], positions[2]["values"]["2"]) == ("win", "draw")
    assert positions[3]["value"] == "draw"  # a resigned game's last position is still judged


def test_a_larger_boards_analysis_has_the_engines_move_for_each_position_in_play() -> None:
    cells_played = [5, 0, 6, 1, 7]  # X completes 5-6-7 on 4×4, k=3
    in_play = analysis.positions_in_play(4, 3, cells_played)
    assert len(in_play) == len(cells_played)
    searched = [analysis.search_position(board, 0.05) for board in in_play]
    game = analysis.analyse_bounded(4, 3, cells_played, searched)
    assert game["exact"] is False
    assert [entry["played"] for entry in game["positions"]] == [*cells_played, None]
    assert all("values" not in entry and entry["verdict"] is None for entry in game["positions"])
    before_the_win = game["positions"][4]
    assert (before_the_win["to_move"], before_the_win["forced"], before_the_win["score"]) == ("X", "win", None)
    assert before_the_win["best"][0] in (4, 7)  # either end of 5-6 completes a line
    assert game["positions"][5]["best"] == []


# --- GET /games/<id>/analysis.json ----------------------------------------------------------------------


def _finished_game(cells: list[int], size: int = 3, win_length: int = 3, *, resign: bool = False) -> Game:
    room = rooms.create_room(name="Analysed", size=size, win_length=win_length)
    _, alice = seating.join(room, identities.Identity(session_key="a" * 32), "alice")
    _, bob = seating.join(room, identities.Identity(session_key="b" * 32), "bob")
    for ply, cell in enumerate(cells):
        moves.play_move(room, alice.id if ply % 2 == 0 else bob.id, cell)
    if resign:
        moves.resign(room, bob.id if len(cells) % 2 else alice.id)
    return write.current_game(room)


@pytest.mark.django_db
def test_a_finished_3x3_game_is_analysed_exactly_without_storing_it(client: Client) -> None:
    game = _finished_game([0, 4, 8, 2, 1, 6])
    response = client.get(f"/games/{game.pk}/analysis.json")
    assert response.status_code == 200
    body = response.json()
    assert body == analysis.analyse_exactly([0, 4, 8, 2, 1, 6])
    assert body["positions"][4]["verdict"] == "blunder"
    assert not GameAnalysis.objects.exists()


@pytest.mark.django_db
def test_an_unknown_game_is_404_and_a_game_in_play_409_with_a_reason(client: Client) -> None:
    missing = client.get("/games/999999/analysis.json")
    assert missing.status_code == 404
    assert missing.json()["error"] == "not_found"
    room = rooms.create_room(name="Still on")
    _, alice = seating.join(room, identities.Identity(session_key="a" * 32), "alice")
    seating.join(room, identities.Identity(session_key="b" * 32), "bob")
    moves.play_move(room, alice.id, 4)
    playing = client.get(f"/games/{write.current_game(room).pk}/analysis.json")
    assert playing.status_code == 409
    assert playing.json() == {
        "error": "game_not_over",
        "message": "This game is still being played: it is analysed once it is over.",
    }


@pytest.mark.django_db(transaction=True)
async def test_a_larger_board_is_searched_in_the_search_process_once_then_read_from_storage(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(analyses, "seconds_per_game", 0.5)
    cells_played = [5, 0, 6, 1, 7]
    game = await sync_to_async(_finished_game)(cells_played, size=4, win_length=3)
    client = AsyncClient()
    searched_before = analyses.searched

    first = await client.get(f"/games/{game.pk}/analysis.json")
    assert first.status_code == 200
    body = first.json()
    assert body["exact"] is False
    assert [entry["played"] for entry in body["positions"]] == [*cells_played, None]
    assert body["positions"][4]["forced"] == "win"
    assert analyses.searched - searched_before == len(cells_played)  # one search per position in play
    stored = await GameAnalysis.objects.aget(game_id=game.pk)
    assert stored.analysis == body

    second = await client.get(f"/games/{game.pk}/analysis.json")
    assert second.status_code == 200
    assert second.json() == body
    assert analyses.searched - searched_before == len(cells_played)  # no search the second time


@pytest.mark.django_db(transaction=True)
async def test_a_larger_board_past_the_addresss_budget_is_refused_and_nothing_is_searched(
    tight: dict[str, Any],
) -> None:
    tight["BUDGETS"]["analyses_per_address"] = (0, 3600)
    game = await sync_to_async(_finished_game)([5, 0, 6, 1, 7], size=4, win_length=3)
    searched_before = analyses.searched
    response = await AsyncClient().get(f"/games/{game.pk}/analysis.json")
    assert response.status_code == 429
    assert response.json()["error"] == "too_many_analyses"
    assert analyses.searched == searched_before
    assert not await GameAnalysis.objects.aexists()


@pytest.mark.django_db(transaction=True)
async def test_a_failed_search_is_503_stores_nothing_and_the_next_request_searches_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(analyses, "seconds_per_game", 0.2)
    game = await sync_to_async(_finished_game)([5, 0, 6, 1, 7], size=4, win_length=3)

    async def broken(*args: Any) -> None:
        raise OSError("the search process died")

    with monkeypatch.context() as patched:
        patched.setattr(computer_players, "in_search_process", broken)
        failed = await AsyncClient().get(f"/games/{game.pk}/analysis.json")
    assert failed.status_code == 503
    assert failed.json()["error"] == "unavailable"
    assert not await GameAnalysis.objects.aexists()
    again = await AsyncClient().get(f"/games/{game.pk}/analysis.json")
    assert again.status_code == 200
    assert await GameAnalysis.objects.filter(game_id=game.pk).aexists()


@pytest.mark.django_db(transaction=True)
async def test_one_clients_long_analysis_delays_anothers_by_one_position_at_a_time() -> None:
    long_game = await sync_to_async(_finished_game)([5, 0, 6, 1, 7], size=4, win_length=3)
    short_game = await sync_to_async(_finished_game)([0, 6, 1, 7, 2], size=5, win_length=3)
    searched: list[int] = []  # the board size of each position searched, in order
    first_started, go_on = asyncio.Event(), asyncio.Event()

    async def stand_in(board: Board, seconds: float) -> analysis.SearchedPosition:
        searched.append(board.size)
        first_started.set()
        await go_on.wait()
        return analysis.search_position(board, 0.01)

    jobs = Analyses(stand_in)
    long_one = asyncio.ensure_future(jobs.analyse("10.0.0.1", long_game.pk, 4, 3, [5, 0, 6, 1, 7]))
    await first_started.wait()
    short_one = asyncio.ensure_future(jobs.analyse("10.0.0.2", short_game.pk, 5, 3, [0, 6, 1, 7, 2]))
    # Until the second analysis has queued its first position: a turn of the loop at a time, no timing.
    while jobs.waiting() == 0:  # noqa: ASYNC110 - the queue has no event to wait on, and needs none elsewhere
        await asyncio.sleep(0)
    go_on.set()
    await asyncio.gather(long_one, short_one)
    assert searched[:4] == [4, 5, 4, 5]  # in turn, though the second came while the first was under way
    assert sorted(searched) == [4] * 5 + [5] * 5
    assert len(jobs) == 0


# --- Practice from here: POST /play/computer/ with from_game and ply -------------------------------------


def _room_of(response: Any) -> Room:
    return Room.objects.get(code=response["Location"].split("/")[2])


@pytest.mark.django_db(transaction=True)
def test_practice_from_a_position_makes_an_unrated_computer_room_with_those_moves_played(client: Client) -> None:
    game = _finished_game([0, 4, 8, 2, 1, 6])
    response = client.post("/play/computer/", {"from_game": game.pk, "ply": "4", "level": "perfect"})
    assert response.status_code == 302
    room = _room_of(response)
    assert (room.size, room.win_length, room.rated) == (3, 3, False)
    state = client.get(f"/api/rooms/{room.code}/").json()
    assert state["game"]["board"] == ["X", "", "O", "", "O", "", "", "", "X"]
    assert (state["game"]["status"], state["game"]["turn"]) == ("playing", "X")
    assert state["players"]["O"]["computer"] == "perfect"
    assert state["players"]["X"]["computer"] is None
    practice_game = write.current_game(room)
    assert practice_game.history == [0, 4, 8, 2]
    assert list(Move.objects.filter(game=practice_game).values_list("cell", "mark")) == [
        (0, "X"),
        (4, "O"),
        (8, "X"),
        (2, "O"),
    ]


@pytest.mark.django_db(transaction=True)
def test_practice_from_a_position_with_o_to_move_seats_the_visitor_as_o(client: Client) -> None:
    game = _finished_game([4, 0, 8], resign=True)
    room = _room_of(client.post("/play/computer/", {"from_game": game.pk, "ply": "1", "level": "easy"}))
    state = client.get(f"/api/rooms/{room.code}/").json()
    assert (state["game"]["turn"], state["players"]["X"]["computer"]) == ("O", "easy")
    assert state["game"]["board"][4] == "X"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"from_game": "999999", "ply": "0"}, "No game has the id 999999."),
        ({"from_game": "x", "ply": "2"}, "must be whole numbers"),
        ({"from_game": "GAME", "ply": "two"}, "must be whole numbers"),
        ({"from_game": "GAME", "ply": ""}, "must be whole numbers"),
        ({"from_game": "GAME", "ply": "7"}, "That game has positions 0 to 6, not 7."),
        ({"from_game": "GAME", "ply": "-1"}, "That game has positions 0 to 6, not -1."),
        ({"from_game": "GAME", "ply": "6"}, "The game is over in that position"),
        ({"ply": "3"}, "needs the game it is from"),
        ({"from_game": "PLAYING", "ply": "0"}, "this one is still being played"),
    ],
)
def test_a_bad_position_to_practise_from_gets_400_with_the_reason_and_makes_nothing(
    client: Client, fields: dict[str, str], reason: str
) -> None:
    game = _finished_game([0, 4, 8, 2, 1, 6])
    still_on = rooms.create_room(name="Still on")
    seating.join(still_on, identities.Identity(session_key="c" * 32), "carol")
    seating.join(still_on, identities.Identity(session_key="d" * 32), "dave")
    playing = write.current_game(still_on)
    names = {"GAME": str(game.pk), "PLAYING": str(playing.pk)}
    posted = {name: names.get(value, value) for name, value in fields.items()}
    rooms_before = Room.objects.count()
    response = client.post("/play/computer/", {"level": "easy", **posted})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="create-room"' in page  # the lobby, with the reason
    assert reason in page
    assert Room.objects.count() == rooms_before
    assert "sessionid" not in response.cookies


@pytest.mark.django_db(transaction=True)
def test_practice_is_budgeted_as_any_game_against_the_computer(client: Client, tight: dict[str, Any]) -> None:
    game = _finished_game([0, 4, 8, 2, 1, 6])
    tight["BUDGETS"]["computer_games_per_address"] = (0, 3600)
    rooms_before = Room.objects.count()
    response = client.post("/play/computer/", {"from_game": game.pk, "ply": "2", "level": "easy"})
    assert response.status_code == 429
    assert "many games against the computer" in response.content.decode()
    assert Room.objects.count() == rooms_before
