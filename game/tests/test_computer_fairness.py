"""The computer is fair to everyone: 3×3 answered at once, searches served in turn per address, refusals at the door."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from game.actions import write
from game.domain import search, solved_3x3
from game.domain.fair_queue import FairQueue
from game.domain.rules import Board, Cell
from game.realtime import search_process
from game.realtime.computer_turns import (
    ComputerPlayers,
    SearchScheduler,
    SearchSupersededError,
    client_of,
    computer_players,
)
from testing.clients import Socket, make_room, new_session_key

# --- The queue, as values ----------------------------------------------------------------------------


def test_one_client_with_many_items_waiting_delays_another_clients_item_by_one() -> None:
    queue = FairQueue[str, str]()
    for number in range(24):
        queue.push("flood", f"flood {number}")
    queue.push("honest", "honest 0")
    served = []
    while (popped := queue.pop()) is not None:
        served.append(popped[1])
        queue.done(popped[0])
    assert served[:3] == ["flood 0", "honest 0", "flood 1"]
    assert served[3:] == [f"flood {number}" for number in range(2, 24)]


def test_a_client_has_at_most_per_client_items_started_and_the_rest_wait_for_them() -> None:
    queue = FairQueue[str, int](per_client=2)
    for number in range(5):
        queue.push("a", number)
    assert [queue.pop(), queue.pop(), queue.pop()] == [("a", 0), ("a", 1), None]
    assert (len(queue), queue.started("a")) == (3, 2)
    queue.done("a")
    assert queue.pop() == ("a", 2)


def test_a_queue_refuses_a_client_allowance_below_one() -> None:
    with pytest.raises(ValueError, match="per_client"):
        FairQueue[str, int](per_client=0)


def test_searches_count_against_an_address_an_ipv6_64_or_a_session_without_one() -> None:
    assert client_of("2001:db8:1:2::1", None) == client_of("2001:db8:1:2:ffff::7", None) == "2001:db8:1:2::/64"
    assert client_of("2001:db8:1:3::1", None) != client_of("2001:db8:1:2::1", None)
    assert client_of("::ffff:203.0.113.5", None) == client_of("203.0.113.5", "s") == "203.0.113.5"
    assert (client_of(None, "s"), client_of("", None)) == ("session:s", None)


# --- The scheduler, with searches that finish when the test says -----------------------------------------


class ControlledSearches:
    """Stands in for the search process: each search starts, is recorded, and ends when the test finishes it."""

    def __init__(self) -> None:
        self.started: asyncio.Queue[tuple[Board, asyncio.Future[Cell]]] = asyncio.Queue()

    async def run(self, board: Board, level: search.Level) -> Cell:
        answer: asyncio.Future[Cell] = asyncio.get_running_loop().create_future()
        await self.started.put((board, answer))
        return await answer

    async def next_started(self) -> tuple[Board, asyncio.Future[Cell]]:
        return await asyncio.wait_for(self.started.get(), 5)


def _board(moves: int) -> Board:
    """A 15×15 board with its first ``moves`` cells filled (no line yet): a different search per count."""
    board = Board.empty(15, 5)
    for cell in range(moves):
        board = board.play(cell)
    return board


@pytest.fixture
async def searches() -> AsyncIterator[ControlledSearches]:
    controlled = ControlledSearches()
    yield controlled
    while not controlled.started.empty():  # let nothing hang past the test
        controlled.started.get_nowait()[1].cancel()


async def test_with_many_searches_queued_from_one_address_a_search_from_another_is_served_next(
    searches: ControlledSearches,
) -> None:
    scheduler = SearchScheduler(searches.run)
    flood = [
        asyncio.create_task(scheduler.search("10.0.0.1", f"flood{number}", _board(number + 1), "perfect"))
        for number in range(24)
    ]
    honest = asyncio.create_task(scheduler.search("10.0.0.2", "honest", _board(30), "perfect"))
    first_board, first = await searches.next_started()
    assert first_board == _board(1)
    assert len(scheduler) == 24  # 23 of the flood and the honest one wait
    first.set_result(0)
    second_board, second = await searches.next_started()
    assert second_board == _board(30)
    second.set_result(7)
    assert await honest == 7
    assert await flood[0] == 0
    for number in range(1, 24):  # then the flood again, in its own order
        board, answer = await searches.next_started()
        assert board == _board(number + 1)
        answer.set_result(number)
    assert await asyncio.gather(*flood) == list(range(24))


async def test_one_search_runs_at_a_time_and_a_failed_one_fails_only_its_own_caller(
    searches: ControlledSearches,
) -> None:
    scheduler = SearchScheduler(searches.run)
    failing = asyncio.create_task(scheduler.search("a", "room1", _board(1), "perfect"))
    waiting = asyncio.create_task(scheduler.search("b", "room2", _board(2), "perfect"))
    _, first = await searches.next_started()
    assert searches.started.empty()
    assert scheduler.started == 1
    first.set_exception(RuntimeError("the search process died"))
    with pytest.raises(RuntimeError, match="died"):
        await failing
    _, second = await searches.next_started()
    second.set_result(5)
    assert await waiting == 5


async def test_a_rooms_waiting_search_is_replaced_by_a_newer_states_and_shared_by_the_same_state(
    searches: ControlledSearches,
) -> None:
    scheduler = SearchScheduler(searches.run)
    busy = asyncio.create_task(scheduler.search("a", "busy", _board(1), "perfect"))
    _, running = await searches.next_started()
    older = asyncio.create_task(scheduler.search("b", "room", _board(2), "perfect"))
    newer = asyncio.create_task(scheduler.search("b", "room", _board(4), "perfect"))
    same = asyncio.create_task(scheduler.search("b", "room", _board(4), "perfect"))
    with pytest.raises(SearchSupersededError):
        await older
    assert len(scheduler) == 1  # one search waits for the room, not three
    running.set_result(0)
    board, answer = await searches.next_started()
    assert board == _board(4)
    answer.set_result(9)
    assert (await newer, await same, await busy) == (9, 9, 0)
    assert scheduler.started == 2


# --- Refusals when a game is added ----------------------------------------------------------------------


async def test_past_the_bound_of_waiting_searches_a_large_board_game_is_refused_with_too_many_bots(
    searches: ControlledSearches, settings: Any
) -> None:
    settings.TICTAC = {**settings.TICTAC, "MAX_QUEUED_SEARCHES": 3}
    players = ComputerPlayers(searches.run)
    waiting = [
        asyncio.create_task(players.searches.search(f"10.0.0.{number}", f"room{number}", _board(1), "perfect"))
        for number in range(4)  # one starts, three wait
    ]
    _, answer = await searches.next_started()
    assert len(players.searches) == 3
    with pytest.raises(write.ActionRefused) as refused:
        players.refuse_if_full("new", client="10.0.0.9", size=7)
    assert refused.value.code == "too_many_bots"
    players.refuse_if_full("new", client="10.0.0.9", size=3)  # 3×3 never waits for a search: still welcome
    for _ in range(3):
        answer.set_result(0)
        _, answer = await searches.next_started()
    answer.set_result(0)
    assert await asyncio.gather(*waiting) == [0, 0, 0, 0]
    players.refuse_if_full("new", client="10.0.0.9", size=7)  # nothing waits now


async def test_an_address_playing_its_most_large_board_games_is_refused_another_and_others_are_not(
    transactional_db: None, settings: Any
) -> None:
    settings.TICTAC = {**settings.TICTAC, "MAX_SEARCHED_BOT_GAMES_PER_ADDRESS": 1}
    settings.TRUSTED_PROXY_COUNT = 1  # the address is the proxy's X-Forwarded-For
    sockets: list[Socket] = []

    async def seated(size: int, address: str) -> Socket:
        room = await make_room(name="Against the computer", size=size, win_length=3)
        socket = await Socket.open(room.code, await new_session_key(), forwarded_for=address)
        sockets.append(socket)
        await socket.join("alice")
        return socket

    try:
        first = await seated(5, "203.0.113.1")
        await first.send({"type": "add_computer", "level": "easy"})
        await first.next_state(status="playing")
        second = await seated(5, "203.0.113.1")
        assert (await second.error({"type": "add_computer", "level": "easy"}))["code"] == "too_many_bots"
        small = await seated(3, "203.0.113.1")  # 3×3 costs no search: not counted
        await small.send({"type": "add_computer", "level": "easy"})
        await small.next_state(status="playing")
        elsewhere = await seated(5, "198.51.100.7")
        await elsewhere.send({"type": "add_computer", "level": "easy"})
        await elsewhere.next_state(status="playing")
    finally:
        for socket in sockets:
            await socket.close()
        await computer_players.settled()


# --- 3×3 at once, larger boards searched -------------------------------------------------------------------


async def test_a_perfect_3x3_game_is_answered_without_the_search_process(transactional_db: None) -> None:
    room = await make_room(name="Learning", size=3, win_length=3)
    alice = await Socket.open(room.code, await new_session_key())
    searched_before, answered_before = computer_players.searches.started, computer_players.answered_at_once
    try:
        await alice.join("alice")
        await alice.send({"type": "add_computer", "level": "perfect"})
        state = await alice.next_state(status="playing")
        while state["game"]["status"] == "playing":
            await alice.send({"type": "move", "cell": state["game"]["board"].index("")})
            state = await alice.next_state()
            while state["game"]["status"] == "playing" and state["game"]["turn"] != "X":
                state = await alice.next_state()
        assert state["game"]["winner"] != "X"
    finally:
        await alice.close()
        await computer_players.settled()
    assert computer_players.searches.started == searched_before
    assert computer_players.answered_at_once - answered_before == state["game"]["moves"] // 2


async def test_a_larger_board_is_answered_through_the_search_process(transactional_db: None) -> None:
    room = await make_room(name="Bigger", size=5, win_length=4)
    alice = await Socket.open(room.code, await new_session_key())
    searched_before = computer_players.searches.started
    try:
        await alice.join("alice")
        await alice.send({"type": "add_computer", "level": "medium"})
        await alice.next_state(status="playing")
        await alice.send({"type": "move", "cell": 12})
        answered = await alice.next_state(moves=2)
        assert answered["game"]["last_move"]["mark"] == "O"
    finally:
        await alice.close()
        await computer_players.settled()
    assert computer_players.searches.started == searched_before + 1


def test_the_search_process_runs_at_a_lower_priority_than_its_server() -> None:
    players = ComputerPlayers()
    pool = players._search_pool()
    try:
        assert pool.submit(os.nice, 0).result(timeout=60) == min(19, os.nice(0) + search_process.SEARCH_NICENESS)
    finally:
        pool.shutdown()


def test_the_solved_table_holds_a_legal_move_for_every_3x3_position_in_play_and_nothing_else() -> None:
    table = solved_3x3.solved_table()
    positions: set[Board] = set()

    def visit(board: Board) -> None:
        if board in positions or board.outcome is not None:
            return
        positions.add(board)
        for cell in board.legal_moves():
            visit(board.play(cell))

    visit(Board.empty(3))
    assert {board.cells for board in positions} == set(table)  # 4,520 positions, bounded once built
    assert all(solved_3x3.solved_3x3_move(board) in board.legal_moves() for board in positions)
    with pytest.raises(KeyError):
        solved_3x3.solved_3x3_move(Board.from_string("XXX/OO./..."))  # over: no move to look up


async def test_the_lobbys_play_the_computer_counts_against_the_same_address_as_the_socket(
    transactional_db: None, settings: Any
) -> None:
    settings.TICTAC = {**settings.TICTAC, "MAX_SEARCHED_BOT_GAMES_PER_ADDRESS": 1}
    settings.TRUSTED_PROXY_COUNT = 1
    room = await make_room(name="Against the computer", size=5, win_length=3)
    socket = await Socket.open(room.code, await new_session_key(), forwarded_for="203.0.113.1")
    try:
        await socket.join("alice")
        await socket.send({"type": "add_computer", "level": "easy"})
        await socket.next_state(status="playing")

        def play_computer(address: str) -> int:
            response = Client(HTTP_X_FORWARDED_FOR=address).post("/play/computer/", {"size": "5", "win_length": "3"})
            return response.status_code

        assert await sync_to_async(play_computer)("203.0.113.1") == 429  # a new cookie changes nothing
        assert await sync_to_async(play_computer)("198.51.100.7") == 302
    finally:
        await socket.close()
        await computer_players.settled()
