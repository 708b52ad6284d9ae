"""How many messages a room socket may send (game/realtime/message_limits.py): its own bucket, and
buckets shared by its session's and its address's sockets in this process."""

from __future__ import annotations

import gc
from typing import Any

import pytest

from game.realtime.message_limits import MessageLimits, message_limits


@pytest.fixture
def limits(settings: Any) -> MessageLimits:
    """Limits whose clock stands still: no bucket refills while a test runs."""
    settings.TICTAC = {**settings.TICTAC, "MESSAGES_PER_SECOND": 2, "MESSAGES_PER_ADDRESS_PER_SECOND": 60}
    return MessageLimits(clock=lambda: 0.0)


def test_tabs_of_one_session_share_its_bucket_and_other_sessions_do_not(limits: MessageLimits) -> None:
    tab, other_tab = limits.for_socket("alice"), limits.for_socket("alice")
    bob = limits.for_socket("bob")
    assert tab.buckets[0] is not other_tab.buckets[0]  # each socket's own
    assert tab.buckets[1] is other_tab.buckets[1]
    assert bob.buckets[1] is not tab.buckets[1]
    assert (tab.buckets[0].rate, tab.buckets[1].rate) == (2, 3)  # a session: more than one tab, less than two


def test_sockets_of_one_address_share_its_bucket(limits: MessageLimits) -> None:
    first, second = limits.for_socket("alice", "192.0.2.1"), limits.for_socket(None, "192.0.2.1")
    assert first.buckets[-1] is second.buckets[-1]
    assert first.buckets[-1].rate == 60
    assert len(limits.for_socket(None, None).buckets) == 1  # neither: its own bucket alone


def test_a_shared_bucket_goes_with_the_last_socket_holding_it(limits: MessageLimits) -> None:
    tab = limits.for_socket("alice", "192.0.2.1")
    assert (len(limits.per_session), len(limits.per_address)) == (1, 1)
    del tab
    gc.collect()
    assert (len(limits.per_session), len(limits.per_address)) == (0, 0)


def test_reset_forgets_every_shared_bucket() -> None:
    held = message_limits.for_socket("alice", "192.0.2.1")
    message_limits.reset()
    assert (len(message_limits.per_session), len(message_limits.per_address)) == (0, 0)
    again = message_limits.for_socket("alice", "192.0.2.1")
    assert again.buckets[1] is not held.buckets[1]
    message_limits.reset()


async def test_a_socket_past_its_burst_is_refused(limits: MessageLimits) -> None:
    socket = limits.for_socket(None)
    assert [await socket.allow() for _ in range(5)] == [True, True, True, True, False]


async def test_tabs_together_are_refused_past_their_sessions_burst(limits: MessageLimits) -> None:
    tab, other_tab = limits.for_socket("alice"), limits.for_socket("alice")
    # Bursts of 4 a tab and 6 a session.
    allowed = [await tab.allow() for _ in range(4)] + [await other_tab.allow() for _ in range(4)]
    assert allowed == [True] * 6 + [False] * 2


async def test_a_message_refused_by_its_sockets_bucket_costs_its_session_nothing(limits: MessageLimits) -> None:
    tab, other_tab = limits.for_socket("alice"), limits.for_socket("alice")
    assert [await tab.allow() for _ in range(6)] == [True] * 4 + [False] * 2
    assert [await other_tab.allow() for _ in range(3)] == [True, True, False]  # 6 - 4 left to the session
