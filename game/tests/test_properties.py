"""Property: whatever several sockets send, the stored game stays legal and is what they were told."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from game.actions import rooms
from game.domain import rules
from game.models import Game, Move, Status
from testing.clients import Socket, new_session_key

SIZE = 3

cells = st.integers(min_value=-2, max_value=SIZE * SIZE + 1)
messages = st.one_of(
    st.builds(lambda cell: {"type": "move", "cell": cell}, cells),
    st.builds(lambda cell: {"type": "move", "cell": cell}, st.sampled_from([True, "4", 4.0, None, [1]])),
    st.just({"type": "join", "name": "p"}),
    st.just({"type": "resign"}),
    st.just({"type": "rematch"}),
    st.builds(lambda text: {"type": "chat", "text": text}, st.text(max_size=8)),
    st.just({"type": "sync"}),
    st.sampled_from(['{"type":', "[]", '{"type":"fly"}', "null"]),
)
# Socket 0 and 1 are two players' sessions, 2 is a second tab of player 0, 3 has no session.
steps = st.lists(st.tuples(st.integers(min_value=0, max_value=3), messages), min_size=1, max_size=14)


def _stored(room_id: int) -> tuple[Game, list[tuple[int, int, str]]]:
    game = Game.objects.filter(room_id=room_id).order_by("-number").first()
    assert game is not None
    moves = list(Move.objects.filter(game=game).order_by("number").values_list("number", "cell", "mark"))
    return game, moves


def _assert_legal(game: Game, moves: list[tuple[int, int, str]]) -> None:
    board = rules.Board.empty(SIZE, 3)
    for number, (stored_number, cell, mark) in enumerate(moves, start=1):
        assert stored_number == number
        assert mark == board.turn
        board = board.play(cell)
    assert list(board.cells) == list(game.cells)
    assert game.move_count == len(moves) == len(game.history)
    assert [cell for _, cell, _ in moves] == game.history
    if game.status == Status.PLAYING:
        assert board.outcome is None
        assert game.turn == board.turn
    elif game.status == Status.WON:
        assert board.outcome is not None
        assert board.outcome.winner == game.winner
        assert game.line == list(board.outcome.line)
    elif game.status == Status.DRAW:
        assert board.outcome is not None
        assert board.outcome.is_draw
    elif game.status == Status.WAITING:
        assert game.player_x_id is None or game.player_o_id is None


def _told_matches_stored(told: dict[str, Any], game: Game) -> None:
    assert told["game"]["id"] == game.id
    assert told["game"]["board"] == list(game.cells)
    assert told["game"]["moves"] == game.move_count
    assert told["game"]["status"] == game.status
    assert told["game"]["turn"] == game.turn
    assert told["game"]["winner"] == game.winner


async def _run(steps: list[tuple[int, Any]]) -> None:
    room = await database_sync_to_async(rooms.create_room)(name="prop", size=SIZE, win_length=3)
    alice, bob = await new_session_key(), await new_session_key()
    sockets = [
        await Socket.open(room.code, alice),
        await Socket.open(room.code, bob),
        await Socket.open(room.code, alice),
        await Socket.open(room.code),
    ]
    try:
        for index, message in steps:
            socket = sockets[index]
            if isinstance(message, str):
                await socket.send_text(message)
            else:
                await socket.send(message)
            told = await socket.fresh_state()  # everything this socket sent has been answered
            game, moves = await database_sync_to_async(_stored)(room.id)
            _assert_legal(game, moves)
            _told_matches_stored(told, game)
        for socket in sockets:
            _told_matches_stored(await socket.fresh_state(), game)
    finally:
        for socket in sockets:
            await socket.close()


@pytest.mark.slow  # 30 generated games over real sockets
@pytest.mark.usefixtures("transactional_db")
@hypothesis_settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=steps)
def test_any_sequence_of_messages_keeps_the_stored_game_legal_and_told_truthfully(
    steps: list[tuple[int, Any]], settings: Any
) -> None:
    # Each step adds a sync and a ping; rate limiting has its own tests.
    settings.TICTAC = {**settings.TICTAC, "MESSAGES_PER_SECOND": 1000}
    async_to_sync(_run)(steps)
