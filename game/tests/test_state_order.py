"""Which states one socket shows (game/state_order.py), with plain versions:
(game number, game version, presence read time)."""

from __future__ import annotations

from game.state_order import StateOrder


def shown_after(*versions: tuple[int, int, int]) -> StateOrder:
    order = StateOrder()
    for version in versions:
        order.admit(version)
    return order


def test_the_first_state_is_shown_and_becomes_the_last() -> None:
    order = StateOrder()
    assert order.admit((1, 0, 5))
    assert order.last == (1, 0, 5)


def test_a_newer_state_is_shown_whichever_part_is_newer() -> None:
    order = shown_after((1, 3, 50))
    assert order.admit((1, 3, 51))  # the same game, presence read later
    assert order.admit((1, 4, 0))  # a move
    assert order.admit((2, 0, 0))  # the next game
    assert order.last == (2, 0, 0)


def test_an_older_state_or_a_repeat_is_dropped_and_changes_nothing() -> None:
    order = shown_after((1, 4, 50))
    assert not order.admit((1, 3, 60))
    assert not order.admit((1, 4, 50))
    assert order.last == (1, 4, 50)


def test_a_forced_state_is_shown_but_an_older_one_never_becomes_the_last() -> None:
    order = shown_after((1, 4, 50))
    assert order.admit((1, 3, 10), force=True)
    assert order.last == (1, 4, 50)
    assert not order.admit((1, 4, 0))  # still older than what was shown before
    assert order.admit((1, 5, 0), force=True)
    assert order.last == (1, 5, 0)


def test_an_older_game_with_newer_presence_misses_a_presence_change() -> None:
    order = shown_after((1, 4, 50))
    assert order.misses_a_presence_change((1, 3, 60))
    assert order.misses_a_presence_change((0, 9, 60))


def test_no_presence_change_is_missed_by_a_state_that_is_newer_or_read_earlier() -> None:
    order = shown_after((1, 4, 50))
    assert not order.misses_a_presence_change((1, 3, 50))  # presence read no later
    assert not order.misses_a_presence_change((1, 4, 60))  # the same game: simply newer
    assert not order.misses_a_presence_change((1, 5, 0))
    assert not StateOrder().misses_a_presence_change((1, 3, 60))  # nothing shown yet
