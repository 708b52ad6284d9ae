"""A pytest plugin (``-p testing.live_fixtures`` in pytest.ini): the fixtures that
the live test modules share, so that none of them imports another.

``two_servers`` is daphne unless a test asks for another kind of server:
``@pytest.mark.parametrize("two_servers", ["uvicorn"], indirect=True)``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from testing.live import LiveServer, migrate
from testing.postgres import EmbeddedPostgres, find_bin_dir


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


@pytest.fixture(scope="module")
def two_servers(
    request: pytest.FixtureRequest, database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[LiveServer]]:
    """Two server processes of one kind (daphne by default) on ``database`` and the test Redis."""
    kind = getattr(request, "param", "daphne")
    logs = tmp_path_factory.mktemp("logs")
    # The races fire moves far above a person's pace; rate limiting has tests of its own.
    servers = [
        LiveServer(kind, database, logs / f"{kind}-{n}.log", TICTAC_MESSAGES_PER_SECOND="1000").start()
        for n in range(2)
    ]
    yield servers
    for server in servers:
        server.stop()
