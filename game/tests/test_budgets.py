"""Abuse budgets per session and per client address, held in Redis so they hold across workers."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from django.test import Client

from game.models import Room
from game.realtime import budgets, presence
from game.realtime.presence import MemoryPresence
from testing.clients import Socket, chat_until_the_address_budget_is_spent, new_session_key, unused_address


@pytest.mark.django_db
def test_a_creator_with_rooms_waiting_for_players_is_refused_another(tight: dict[str, Any], address: str) -> None:
    tight["MAX_WAITING_ROOMS_PER_CREATOR"] = 2
    client = Client(REMOTE_ADDR=address)
    assert [client.post("/rooms/", {"name": f"spam {n}"}).status_code for n in range(3)] == [302, 302, 429]
    assert Room.objects.count() == 2


@pytest.mark.django_db
def test_room_creation_is_throttled_per_session(tight: dict[str, Any], address: str) -> None:
    tight["BUDGETS"]["rooms_per_session"] = (2, 3600)
    client = Client(REMOTE_ADDR=address)
    codes = [client.post("/rooms/", {"name": f"mine {n}"}).status_code for n in range(3)]
    assert codes == [302, 302, 429]
    assert "many rooms lately" in client.post("/rooms/", {"name": "again"}).content.decode()
    assert Room.objects.count() == 2


@pytest.mark.django_db
def test_room_creation_is_throttled_per_address_whatever_the_cookies(tight: dict[str, Any], address: str) -> None:
    tight["BUDGETS"]["rooms_per_address"] = (3, 3600)
    # A fresh client each time: no cookie, a new session every request.
    codes = [Client(REMOTE_ADDR=address).post("/rooms/", {"name": f"n{n}"}).status_code for n in range(4)]
    assert codes == [302, 302, 302, 429]
    assert Client(REMOTE_ADDR=unused_address()).post("/rooms/", {"name": "elsewhere"}).status_code == 302


async def _closed_with(socket: Socket) -> int | None:
    """Connect ``socket``: the code the server closes it with at once, or None if it sends a message instead."""
    await socket.connect()
    message = await socket.communicator.receive_output(timeout=10)
    return message.get("code") if message["type"] == "websocket.close" else None


async def test_cookie_less_sockets_from_one_address_are_capped(
    room: Room, tight: dict[str, Any], settings: Any, address: str
) -> None:
    settings.TRUSTED_PROXY_COUNT = 1  # the address is the proxy's X-Forwarded-For
    tight["MAX_SOCKETS_PER_ADDRESS"] = 3
    opened = []
    for _ in range(3):
        socket = Socket(f"/ws/rooms/{room.code}/", forwarded_for=address)
        assert await _closed_with(socket) is None
        opened.append(socket)
    extra = Socket(f"/ws/rooms/{room.code}/", forwarded_for=address)
    assert await _closed_with(extra) == 4429
    other = Socket(f"/ws/rooms/{room.code}/", forwarded_for=unused_address())
    assert await _closed_with(other) is None
    for socket in [*opened, other]:
        await socket.close()


async def test_a_forwarded_address_counts_only_behind_a_trusted_proxy(
    room: Room, tight: dict[str, Any], settings: Any, address: str
) -> None:
    settings.TRUSTED_PROXY_COUNT = 0
    tight["MAX_SOCKETS_PER_ADDRESS"] = 1
    # With no trusted proxy, X-Forwarded-For is the client's own word: two sockets from one
    # connection address claiming two addresses are one address.
    sockets = []
    for claimed in (unused_address(), unused_address()):
        socket = Socket(f"/ws/rooms/{room.code}/", forwarded_for=claimed)
        socket.communicator.scope["client"] = (address, 40000)
        sockets.append(socket)
    assert [await _closed_with(socket) for socket in sockets] == [None, 4429]
    for socket in sockets:
        await socket.close()


async def test_chat_is_budgeted_per_address(room: Room, tight: dict[str, Any], settings: Any, address: str) -> None:
    settings.TRUSTED_PROXY_COUNT = 1
    tight["BUDGETS"]["chat_per_address"] = (3, 60)
    talkers = [await Socket.open(room.code, await new_session_key(), forwarded_for=address) for _ in range(2)]
    assert await chat_until_the_address_budget_is_spent(*talkers) == "rate_limited"
    for socket in talkers:
        await socket.close()


async def test_lobby_sockets_are_capped_per_address(
    tight: dict[str, Any], settings: Any, address: str, transactional_db: None
) -> None:
    settings.TRUSTED_PROXY_COUNT = 1
    tight["MAX_LOBBY_SOCKETS_PER_ADDRESS"] = 2
    lobbies = [Socket("/ws/lobby/", forwarded_for=address) for _ in range(3)]
    outcomes = [await _closed_with(lobby) or "rooms" for lobby in lobbies]
    assert outcomes == ["rooms", "rooms", 4429]
    for lobby in lobbies:
        await lobby.close()


class _StoppedClock:
    """A clock that stays inside one budget window, so no test straddles two."""

    def __init__(self) -> None:
        self.now = 10_000_000.0 + 10 * next(_windows)

    def __call__(self) -> float:
        return self.now


_windows = itertools.count()


async def _spend_until_refused(rate: budgets.SharedRate, address: str, at_most: int = 10_000) -> int:
    """How many ``rate`` allows ``address`` before its first refusal."""
    for allowed in range(at_most):
        if not await rate.allow(address):
            return allowed
    raise AssertionError(f"never refused after {at_most}")


async def test_messages_per_address_are_counted_over_every_worker(tight: dict[str, Any], address: str) -> None:
    tight["MESSAGES_PER_ADDRESS_PER_SECOND"] = 3  # 30 a 10 s window, each one reported
    clock = _StoppedClock()
    # Two workers: each its own process state, one Redis between them.
    workers = [budgets.SharedRate("messages_per_address", "MESSAGES_PER_ADDRESS_PER_SECOND", clock) for _ in range(2)]
    allowed = 0
    while True:
        answers = [await worker.allow(address) for worker in workers]
        allowed += sum(answers)
        if not any(answers):
            break
    assert allowed == 30
    clock.now += 2 * budgets.SharedRate.WINDOW_SECONDS  # a whole sliding window later, nothing is left
    assert all([await worker.allow(address) for worker in workers])


async def test_a_worker_that_reports_in_steps_learns_of_the_others_spending(
    tight: dict[str, Any], address: str
) -> None:
    tight["MESSAGES_PER_ADDRESS_PER_SECOND"] = 40  # 400 a window, reported 20 at a time
    clock = _StoppedClock()
    first, second = (
        budgets.SharedRate("messages_per_address", "MESSAGES_PER_ADDRESS_PER_SECOND", clock) for _ in range(2)
    )
    for _ in range(300):  # under the limit: one worker alone never refuses these
        assert await first.allow(address)
    by_second = await _spend_until_refused(second, address)
    by_first = await _spend_until_refused(first, address)
    assert by_second < 400  # refused because of what the first worker spent
    assert 400 <= 300 + by_second + by_first <= 400 + 2 * 20  # over the limit by at most a step per worker


async def test_a_socket_is_refused_once_its_address_spent_the_budget_on_another_worker(
    room: Room, tight: dict[str, Any], settings: Any, address: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.TRUSTED_PROXY_COUNT = 1
    tight["MESSAGES_PER_ADDRESS_PER_SECOND"] = 2
    clock = _StoppedClock()
    monkeypatch.setattr(budgets.messages_per_address, "clock", clock)
    other_worker = budgets.SharedRate("messages_per_address", "MESSAGES_PER_ADDRESS_PER_SECOND", clock)
    assert await _spend_until_refused(other_worker, address) == 20
    socket = await Socket.open(room.code, await new_session_key(), forwarded_for=address)
    await socket.send({"type": "ping"})  # this socket's first message: its own limits are untouched
    assert (await socket.next_message("error"))["code"] == "rate_limited"
    await socket.close()


# --- Sliding windows -------------------------------------------------------------------------------

HOUR = 3600
# A moment at which one fixed window of an hour ends and the next begins.
WINDOW_EDGE = 500_000 * HOUR


@pytest.fixture(params=["redis", "memory"])
def counted_in(request: pytest.FixtureRequest) -> str:
    """Where the budgets count: Redis (several workers) or the in-memory layer's dict (one process)."""
    if request.param == "memory":
        presence.stores.use(MemoryPresence())
    return str(request.param)


def test_a_burst_straddling_two_fixed_windows_gets_no_more_than_the_limit(
    tight: dict[str, Any], address: str, counted_in: str
) -> None:
    tight["BUDGETS"]["rooms_per_address"] = (5, HOUR)

    def burst(at: float) -> list[bool]:
        return [budgets.spend_blocking("rooms_per_address", address, now=at) for _ in range(5)]

    assert burst(WINDOW_EDGE - 1) == [True] * 5  # the last second of one window
    assert burst(WINDOW_EDGE + 1) == [False] * 5  # the first of the next: still the same hour
    # Half an hour on, half the first burst has slid out of the window (the refused spends never counted).
    assert burst(WINDOW_EDGE - 1 + HOUR / 2) == [True, True, False, False, False]


async def test_a_burst_straddling_two_fixed_windows_gets_no_more_than_the_limit_on_the_event_loop(
    tight: dict[str, Any], address: str, counted_in: str
) -> None:
    tight["BUDGETS"]["chat_per_address"] = (3, 60)
    edge = 60 * 25_000_000.0
    assert [await budgets.spend("chat_per_address", address, now=edge - 0.5) for _ in range(3)] == [True] * 3
    assert [await budgets.spend("chat_per_address", address, now=edge + 0.5) for _ in range(3)] == [False] * 3
    assert await budgets.spend("chat_per_address", address, now=edge - 0.5 + 60)  # a minute on: room again


async def test_a_message_burst_straddling_two_fixed_windows_is_refused_past_the_rate(
    tight: dict[str, Any], address: str
) -> None:
    tight["MESSAGES_PER_ADDRESS_PER_SECOND"] = 3  # 30 in any 10 s, each one reported
    clock = _StoppedClock()
    rate = budgets.SharedRate("messages_per_address", "MESSAGES_PER_ADDRESS_PER_SECOND", clock)
    window_edge = clock.now + budgets.SharedRate.WINDOW_SECONDS
    clock.now = window_edge - 0.1
    assert [await rate.allow(address) for _ in range(30)] == [True] * 30
    clock.now = window_edge + 0.1  # a new fixed window, the same ten seconds
    assert [await rate.allow(address) for _ in range(30)] == [False] * 30
