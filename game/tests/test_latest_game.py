"""The compiled read of a room's latest game builds what Django's own query would."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import Model

from game.actions import moves, rooms
from game.models import Game
from game.storage.compiled_reads import compiled_statements
from game.storage.latest_game import _LATEST_GAME, read_latest_game
from testing.seating import SeatedPair, seat_pair


def _as_django_reads_it(room_id: int) -> Game | None:
    return Game.objects.select_related("player_x", "player_o").filter(room_id=room_id).order_by("-number").first()


def _fields(instance: Model | None) -> dict[str, object] | None:
    if instance is None:
        return None
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields}


def _assert_same(room_id: int) -> Game:
    ours, djangos = read_latest_game(room_id), _as_django_reads_it(room_id)
    assert ours is not None
    assert djangos is not None
    assert _fields(ours) == _fields(djangos)
    assert _fields(ours.player_x) == _fields(djangos.player_x)
    assert _fields(ours.player_o) == _fields(djangos.player_o)
    assert ours._state.adding is False
    assert ours._state.db == djangos._state.db
    return ours


@pytest.mark.django_db
def test_a_game_in_play_with_clocks_and_moves_reads_as_django_reads_it() -> None:
    room, alice, _ = seat_pair(rooms.create_room(name="read", time_control="budget:60+2"), "Alice", "Bob")
    moves.play_move(room, alice, 4)
    game = _assert_same(room.pk)
    assert game.player_x is not None
    assert game.player_x.name == "Alice"
    assert game.history == [4]
    assert game.clock_x_ms is not None
    assert game.deadline is not None


def test_a_finished_game_and_its_rematch_read_as_django_reads_them(seated_pair: SeatedPair) -> None:
    room, x, o = seated_pair
    for cell, player in zip((0, 3, 1, 4, 2), (x, o) * 3, strict=False):
        moves.play_move(room, player, cell)
    finished = _assert_same(room.pk)
    assert finished.status == "won"
    assert finished.line == [0, 1, 2]
    assert finished.finished_at is not None
    assert finished.finished_at - finished.created_at < timedelta(minutes=1)


@pytest.mark.django_db
def test_an_empty_seat_reads_as_none_and_a_room_without_games_as_none() -> None:
    room = rooms.create_room(name="waiting")
    game = _assert_same(room.pk)
    assert game.player_x is None
    assert game.player_o is None
    assert read_latest_game(room.pk + 1000) is None


@pytest.mark.django_db
def test_the_statement_is_compiled_once_per_database_until_a_reset() -> None:
    first = compiled_statements.for_read(_LATEST_GAME, "default")
    assert compiled_statements.for_read(_LATEST_GAME, "default") is first
    compiled_statements.reset()
    again = compiled_statements.for_read(_LATEST_GAME, "default")
    assert again is not first
    assert again.sql == first.sql
