"""Which games the referee finds due (game.actions.endings.due_rooms), and what it reads to find them.

Every process's referee asks twice a second, so the question must cost what the answer does: it
reads the games in play through two partial indexes, never every game in play or ever played.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import connection

from game.actions import endings, moves, rooms, write
from game.models import Room, session_hash
from testing.seating import X_SESSION, seat_pair

pytestmark = pytest.mark.django_db


@pytest.fixture
def at(monkeypatch: pytest.MonkeyPatch) -> list[datetime]:
    """The server's clock, stopped: ``at[0] += timedelta(...)`` moves it."""
    moment = [write.now()]
    monkeypatch.setattr(write, "now", lambda: moment[0])
    return moment


def _room_where_both_moved(name: str, time_control: str = "none") -> Room:
    room, x, o = seat_pair(rooms.create_room(name=name, time_control=time_control))
    moves.play_move(room, x, 0)
    moves.play_move(room, o, 4)
    return room


def _only_x_here(room: Room) -> None:
    endings.note_presence(room, frozenset({session_hash(X_SESSION)}))


def test_the_due_games_are_those_whose_flag_fell_or_whose_player_left_before_both_moved(at: list[datetime]) -> None:
    flag_falls = _room_where_both_moved("flag falls", "move:15")
    clock_runs = _room_where_both_moved("clock runs", "move:60")
    left_early, x, _ = seat_pair(rooms.create_room(name="left early", absence_seconds=30))
    moves.play_move(left_early, x, 0)
    _only_x_here(left_early)
    left_late = _room_where_both_moved("left late")  # the other may claim: the server ends nothing
    _only_x_here(left_late)
    assert endings.due_rooms() == []

    at[0] += timedelta(seconds=20)
    assert [room.name for room in endings.due_rooms()] == ["flag falls"]
    at[0] += timedelta(seconds=15)
    assert sorted(room.name for room in endings.due_rooms()) == ["flag falls", "left early"]
    endings.settle(flag_falls)
    assert [room.name for room in endings.due_rooms()] == ["left early"]
    # Never due, though in play: one's clock still runs, the other's player left after both had moved.
    clock_game, late_game = write.current_game(clock_runs), write.current_game(left_late)
    assert (clock_game.status, late_game.status) == ("playing", "playing")
    assert late_game.o_left_at is not None


def test_each_question_the_referee_asks_reads_through_its_own_partial_index() -> None:
    if connection.vendor != "sqlite":
        pytest.skip("the plan is read with SQLite's EXPLAIN QUERY PLAN")
    _room_where_both_moved("in play", "move:15")
    asked: list[tuple[str, Any]] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        asked.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        endings.due_rooms()
    plans = []
    with connection.cursor() as cursor:
        for sql, params in asked:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            plans.append([row[-1] for row in cursor.fetchall() if "game_game" in row[-1]])
    assert plans == [
        ["SEARCH game_game USING INDEX game_playing_by_deadline (deadline<?)"],
        ["SCAN game_game USING INDEX game_playing_left"],
    ]
