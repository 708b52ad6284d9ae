from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest
from channels.db import database_sync_to_async
from django.test import override_settings

from game import budgets, services, state
from game.bots import computer_players
from game.cache import game_cache
from game.local_sockets import local_sockets
from game.message_limits import message_limits
from game.models import Room
from testing.live import migrate
from testing.postgres import EmbeddedPostgres, find_bin_dir

from .clients import Socket, new_session_key

make_room = database_sync_to_async(services.create_room)


@pytest.fixture(autouse=True)
def fresh_process_caches() -> None:
    """Each test starts as a new process would: nothing cached about rooms an
    earlier test made (their ids come round again once its database is gone)."""
    game_cache.reset()
    state.last_presence.reset()
    message_limits.reset()
    budgets.messages_per_address.reset()
    local_sockets.reset()


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


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated database for a module's live servers, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('live') / 'db.sqlite3'}"
    else:
        url = request.getfixturevalue("postgres_server").create_database()
    migrate(url)
    return url


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[EmbeddedPostgres]:
    """Debian's PostgreSQL, started once for the run (CI must have it; elsewhere its tests skip)."""
    if find_bin_dir() is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not installed; `python3 run.py test` installs it with apt as root")
        pytest.skip("PostgreSQL is not installed here (apt-get install postgresql)")
    server = EmbeddedPostgres().start()
    yield server
    server.stop()
