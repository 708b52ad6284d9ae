"""Which states one socket shows (game/domain/state_order.py), with plain stamps:
(game number, game version, presence read time), each state's payload its stamp."""

from __future__ import annotations

from game.domain.state_order import StateOrder, StateStamp


def shown_after(*stamps: StateStamp) -> StateOrder[StateStamp]:
    order: StateOrder[StateStamp] = StateOrder()
    for stamp in stamps:
        order.offer(stamp, stamp)
    return order


def offer(order: StateOrder[StateStamp], stamp: StateStamp, *, force: bool = False) -> list[StateStamp]:
    return order.offer(stamp, stamp, force=force)


def test_the_first_state_is_shown_and_becomes_the_last() -> None:
    order: StateOrder[StateStamp] = StateOrder()
    assert offer(order, (1, 0, 5)) == [(1, 0, 5)]
    assert order.last == (1, 0, 5)


def test_a_newer_state_is_shown_whichever_part_is_newer() -> None:
    order = shown_after((1, 3, 50))
    assert offer(order, (1, 3, 51)) == [(1, 3, 51)]  # the same game, presence read later
    assert offer(order, (1, 4, 0)) == [(1, 4, 0)]  # the next move
    assert offer(order, (2, 0, 0)) == [(2, 0, 0)]  # the next game
    assert order.last == (2, 0, 0)


def test_an_older_state_or_a_repeat_is_dropped_and_changes_nothing() -> None:
    order = shown_after((1, 4, 50))
    assert offer(order, (1, 3, 60)) == []
    assert offer(order, (1, 4, 50)) == []
    assert order.last == (1, 4, 50)


def test_a_forced_state_is_shown_but_an_older_one_never_becomes_the_last() -> None:
    order = shown_after((1, 4, 50))
    assert offer(order, (1, 3, 10), force=True) == [(1, 3, 10)]
    assert order.last == (1, 4, 50)
    assert offer(order, (1, 4, 0)) == []  # still older than what was shown before
    assert offer(order, (1, 5, 0), force=True) == [(1, 5, 0)]
    assert order.last == (1, 5, 0)


def test_a_state_past_a_gap_waits_for_the_gap_and_then_both_show_in_order() -> None:
    order = shown_after((1, 3, 50))
    assert offer(order, (1, 5, 70)) == []  # move 4 was committed first but is still on its way
    assert order.holding
    assert offer(order, (1, 4, 60)) == [(1, 4, 60), (1, 5, 70)]
    assert not order.holding
    assert order.last == (1, 5, 70)


def test_an_answer_the_socket_asked_for_is_shown_at_once_past_a_gap() -> None:
    order = shown_after((1, 3, 50))
    assert offer(order, (1, 5, 0)) == []
    assert offer(order, (1, 7, 0), force=True) == [(1, 7, 0)]
    assert not order.holding  # what was held is older than the answer now
    assert offer(order, (1, 6, 0)) == []


def test_a_gap_never_filled_is_given_up_in_order() -> None:
    order = shown_after((1, 3, 50))
    offer(order, (1, 7, 0))
    offer(order, (1, 5, 0))
    assert order.release() == [(1, 5, 0), (1, 7, 0)]
    assert order.last == (1, 7, 0)
    assert not order.holding
    assert order.release() == []


def test_the_next_game_shows_what_the_last_one_held_first() -> None:
    order = shown_after((1, 3, 50))
    offer(order, (1, 5, 0))
    assert offer(order, (2, 0, 0)) == [(1, 5, 0), (2, 0, 0)]


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
