"""Real server processes for tests: daphne, uvicorn or runserver on a free port."""

from __future__ import annotations

import http.cookiejar
import os
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from testing.wait import until
from tictac.processes import free_port, stop_process

ROOT = Path(__file__).resolve().parent.parent

COMMANDS = {
    "daphne": ["-m", "daphne", "-b", "127.0.0.1", "-p", "{port}", "tictac.asgi:application"],
    "uvicorn": ["-m", "uvicorn", "--host", "127.0.0.1", "--port", "{port}", "tictac.asgi:application"],
    "runserver": ["manage.py", "runserver", "--noreload", "127.0.0.1:{port}"],
}


def server_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST")}
    env.update(
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE="tictac.settings",
        DJANGO_DEBUG="0",
        DJANGO_LOG_LEVEL="WARNING",
    )
    env.update(extra)
    return env


def query(database_url: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Run one SELECT against the database the servers use (SQLite or PostgreSQL)."""
    if database_url.startswith("sqlite:///"):
        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as connection:
            return connection.execute(sql.replace("%s", "?"), params).fetchall()
    import psycopg  # here, not at the top: every test run loads this module, few need PostgreSQL

    with psycopg.connect(database_url.replace("postgres://", "postgresql://", 1)) as connection:
        return connection.execute(sql, params).fetchall()


def manage(database_url: str, code: str) -> None:
    """Run Python in ``manage.py shell`` against the servers' database (a test changing what they store)."""
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=server_env(database_url), check=True
    )


def migrate(database_url: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env=server_env(database_url),
        check=True,
    )


def migrated_sqlite(directory: Path) -> str:
    """The URL of a new, migrated SQLite database in ``directory``."""
    database_url = f"sqlite:///{directory / 'db.sqlite3'}"
    migrate(database_url)
    return database_url


def start_healthy(
    command: list[str], env: dict[str, str], url: str, log_path: Path, timeout: float = 30
) -> subprocess.Popen[bytes]:
    """Start a server process and wait until its /healthz answers 200 (or fail, stopping it)."""
    with open(log_path, "ab") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)

    def healthy() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"{command} exited early; see {log_path}:\n{log_path.read_text()}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    try:
        until(healthy, timeout=timeout, interval=0.1, message=f"{command} to answer /healthz 200; see {log_path}")
    except AssertionError:
        stop_process(process, timeout=10)
        raise
    return process


class LiveServer:
    def __init__(
        self,
        kind: str,
        database_url: str,
        log_path: Path,
        *,
        extra_args: tuple[str, ...] = (),
        port: int | None = None,
        **env: str,
    ) -> None:
        self.kind = kind
        self.extra_args = extra_args
        self.port = port or free_port()
        self.env = server_env(database_url, **env)
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> LiveServer:
        args = [part.format(port=self.port) for part in COMMANDS[self.kind]]
        # Server flags go before the application path (daphne) or anywhere (uvicorn).
        args[-1:-1] = self.extra_args
        self.process = start_healthy([sys.executable, *args], self.env, self.url, self.log_path, timeout)
        return self

    def stop(self) -> None:
        stop_process(self.process, timeout=10)
        self.process = None

    def get(self, path: str, opener: urllib.request.OpenerDirector | None = None) -> Any:
        return (opener or urllib.request.build_opener()).open(self.url + path, timeout=10)


class Browser:
    """A visitor with a cookie jar: one session across servers that share a database."""

    def __init__(self) -> None:
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def visit(self, server: LiveServer, path: str) -> bytes:
        with self.opener.open(server.url + path, timeout=10) as response:
            body: bytes = response.read()
            return body

    @property
    def session_key(self) -> str:
        key = next(cookie.value for cookie in self.jar if cookie.name == "sessionid")
        assert key is not None
        return key

    def ws_headers(self, server: LiveServer) -> dict[str, str]:
        return {"Origin": server.url, "Cookie": f"sessionid={self.session_key}"}
