from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
from django.test import override_settings

from game.actions import rooms
from game.models import Room
from game.realtime.computer_turns import computer_players
from game.storage import per_process
from testing.clients import Socket, make_room, new_session_key, unused_address
from testing.seating import SeatedPair, seat_pair


@pytest.fixture(autouse=True)
def fresh_process_caches() -> None:
    """Each test starts as a new process would: nothing cached about rooms an
    earlier test made (their ids come round again once its database is gone)."""
    per_process.reset_all()


@pytest.fixture(autouse=True)
def fast_password_hashing() -> Iterator[None]:
    """One round of MD5 for every password this process hashes: the production hasher's many rounds
    cost about a second per sign-up or sign-in here, and no test is about the hasher itself. (The
    servers that live tests start hash as production does.)"""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture
async def room(transactional_db: None) -> Room:
    return await make_room(name="Friday", size=3, win_length=3)


@pytest.fixture
async def open_socket(transactional_db: None) -> AsyncIterator[Callable[..., Awaitable[Socket]]]:
    """Open sockets to a room; every one is closed after the test."""
    sockets: list[Socket] = []

    async def open_(code: str, session_key: str | None = None) -> Socket:
        socket = await Socket.open(code, session_key)
        sockets.append(socket)
        return socket

    yield open_
    for socket in sockets:
        await socket.close()
    # A socket's leaving can give the computer a last turn (it leaves with its person): let it
    # finish before the test's database is emptied.
    await computer_players.settled()


@pytest.fixture
async def players(room: Room, open_socket: Callable[..., Awaitable[Socket]]) -> tuple[Socket, Socket]:
    """alice (X) and bob (O) seated in ``room``, the game playing."""
    alice = await open_socket(room.code, await new_session_key())
    bob = await open_socket(room.code, await new_session_key())
    assert (await alice.join("alice"))["you"]["mark"] == "X"
    assert (await bob.join("bob"))["you"]["mark"] == "O"
    await alice.next_state(status="playing")
    return alice, bob


@pytest.fixture
def seated_pair(db: None) -> SeatedPair:
    """alice (X) and bob (O) seated in a new room through the service layer, the game playing:
    ``room, x, o = seated_pair`` (Player ids); ``seated_pair.x_identity`` is alice's session."""
    return seat_pair(rooms.create_room(name="Seated"))


@pytest.fixture
def address() -> str:
    """An address no other test has used, so that no budget starts part-spent."""
    return unused_address()


@pytest.fixture
def tight(settings: Any) -> dict[str, Any]:
    """settings.TICTAC, to be tightened by the test (restored afterwards)."""
    settings.TICTAC = {**settings.TICTAC, "BUDGETS": dict(settings.TICTAC["BUDGETS"])}
    tightened: dict[str, Any] = settings.TICTAC
    return tightened
