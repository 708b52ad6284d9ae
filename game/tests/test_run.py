"""`python3 run.py` leaves nothing behind however it is stopped: Redis, runserver and its autoreload child."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import redis

from testing.live import migrated_sqlite
from testing.wait import until
from tictac.embedded_redis import EmbeddedRedis
from tictac.processes import free_port

ROOT = Path(__file__).resolve().parents[2]
# The Python run.py is started with by a person: the base interpreter, outside .venv.
BASE_PYTHON = Path(sys.base_prefix) / "bin" / "python3"

pytestmark = pytest.mark.live


class Served:
    """A `python3 run.py` serving on free ports, with its whole process tree once it answers."""

    def __init__(self, directory: Path) -> None:
        self.port, self.redis_port = free_port(), free_port()
        env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "PYTEST", "REDIS_"))}
        env.update(
            PORT=str(self.port),
            TICTAC_REDIS_PORT=str(self.redis_port),
            DATABASE_URL=f"sqlite:///{directory / 'db.sqlite3'}",
            DJANGO_LOG_LEVEL="WARNING",
        )
        self.log = directory / "run.log"
        with open(self.log, "wb") as log:
            self.outer = subprocess.Popen(
                [str(BASE_PYTHON), "run.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        self.processes = self._wait_until_serving(timeout=180)  # the first run may pip install

    def _wait_until_serving(self, timeout: float) -> list[psutil.Process]:
        def serving() -> bool:
            assert self.outer.poll() is None, self.log.read_text()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2) as response:
                    return bool(response.status == 200)
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                return False

        until(serving, timeout=timeout, interval=0.2, message=lambda: f"run.py to serve:\n{self.log.read_text()}")
        return [psutil.Process(self.outer.pid), *psutil.Process(self.outer.pid).children(recursive=True)]

    def command_lines(self) -> list[str]:
        return [" ".join(process.cmdline()) for process in self.processes]

    def inner(self) -> psutil.Process:
        return next(p for p in self.processes if p.ppid() == self.outer.pid and "run.py" in " ".join(p.cmdline()))

    def stop(self) -> None:
        for process in self.processes:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()
        self.outer.wait()


@pytest.fixture(scope="module")
def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file to copy, so that each run's own migrate has nothing to do."""
    return Path(migrated_sqlite(tmp_path_factory.mktemp("run")).removeprefix("sqlite:///"))


@pytest.fixture
def served(tmp_path: Path, migrated_database: Path) -> Iterator[Served]:
    if not BASE_PYTHON.exists():
        pytest.skip(f"no base interpreter at {BASE_PYTHON}")
    shutil.copy(migrated_database, tmp_path / "db.sqlite3")
    run = Served(tmp_path)
    yield run
    run.stop()  # only if the test failed half-way


def _assert_everything_stops(run: Served) -> None:
    _, alive = psutil.wait_procs(run.processes, timeout=30)
    assert not alive, [" ".join(p.cmdline()) for p in alive]
    assert not _listening(run.port)
    assert not _listening(run.redis_port)


def _listening(port: int) -> bool:
    """Whether anything accepts connections on 127.0.0.1:``port`` (a bind test would trip on TIME_WAIT)."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return False
    return True


def _assert_the_whole_tree_is_running(run: Served) -> None:
    lines = run.command_lines()
    assert sum("manage.py runserver" in line for line in lines) == 2, lines  # the autoreloader and its child
    assert sum("redis-server" in line for line in lines) == 1, lines
    assert sum(line.endswith("run.py") for line in lines) == 2, lines  # outside and inside .venv


def test_sigterm_to_the_outer_run_py_stops_every_child(served: Served) -> None:
    _assert_the_whole_tree_is_running(served)
    served.outer.send_signal(signal.SIGTERM)
    _assert_everything_stops(served)


def test_sigterm_to_the_inner_run_py_stops_every_child(served: Served) -> None:
    served.inner().send_signal(signal.SIGTERM)
    _assert_everything_stops(served)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux's parent-death signal")
def test_the_outer_run_py_dying_unawares_stops_every_child(served: Served) -> None:
    served.outer.kill()  # SIGKILL: no clean-up of its own
    _assert_everything_stops(served)


def _redis_servers() -> list[psutil.Process]:
    return [process for process in psutil.process_iter(["name"]) if process.info["name"] == "redis-server"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux's parent-death signal")
def test_a_test_run_ended_by_a_usage_error_leaves_no_redis_behind() -> None:
    # The test plugin starts Redis before pytest reads the command line; a bad option then ends
    # the run without pytest_unconfigure, which is where the plugin stops it.
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTEST", "REDIS_", "TICTAC_TEST_"))}
    before = {process.pid for process in _redis_servers()}
    started = time.time()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--no-such-option"], cwd=ROOT, env=env, capture_output=True, timeout=60
    )
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, result.stderr
    left = [p for p in _redis_servers() if p.pid not in before and p.create_time() >= started - 1]
    _, alive = psutil.wait_procs(left, timeout=10)
    leftovers = [" ".join(process.cmdline()) for process in alive]
    for process in alive:
        process.kill()
    assert not leftovers


def test_an_embedded_redis_whose_free_port_was_taken_meanwhile_listens_on_another() -> None:
    # Several test processes start their Redis at once: a port one found free, another may take.
    first = EmbeddedRedis().start()
    try:
        second = EmbeddedRedis()
        second.port = first.port  # as if the other process had taken it between the choice and the start
        second.start()
        try:
            assert second.port != first.port
            assert redis.Redis.from_url(second.url).info("server")["process_id"] == second.process.pid  # type: ignore[union-attr]
        finally:
            second.stop()
    finally:
        first.stop()


def test_an_embedded_redis_asked_for_a_taken_port_refuses_rather_than_use_the_other_server() -> None:
    first = EmbeddedRedis().start()
    try:
        with pytest.raises(RuntimeError, match="could not listen"):
            EmbeddedRedis(port=first.port).start()
    finally:
        first.stop()
