"""A fresh, migrated and seeded database for every scenario.

Migrating and seeding happen once, into a template; each scenario then
starts from a copy of it (a file copy for SQLite, ``CREATE DATABASE …
TEMPLATE`` for PostgreSQL), so no scenario sees another's sessions or games.
The PostgreSQL cluster is the test suite's, which runs with fsync off.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg

from testing.live import ROOT, migrate, server_env
from testing.postgres import EmbeddedPostgres

TEMPLATE = "bench_template"


def seed_rooms(database_url: str, count: int) -> list[str]:
    output = subprocess.run(
        [sys.executable, "-m", "bench.seed", str(count)],
        cwd=ROOT,
        env=server_env(database_url),
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    codes: list[str] = json.loads(output.strip().splitlines()[-1])
    return codes


class Databases:
    """Hands out copies of one migrated, seeded template database."""

    def __init__(self, kind: str, directory: Path, rooms: int, postgres_settings: tuple[str, ...] = ()) -> None:
        self.kind = kind
        self.directory = directory
        self.postgres = EmbeddedPostgres(postgres_settings).start() if kind == "postgres" else None
        self.copies = 0
        template_url = self._template_url()
        migrate(template_url)
        self.room_codes = seed_rooms(template_url, rooms)

    def _template_url(self) -> str:
        if self.postgres is not None:
            return self._create_postgres_database(TEMPLATE)
        return f"sqlite:///{self.directory / 'template.sqlite3'}"

    def _create_postgres_database(self, name: str, template: str | None = None) -> str:
        assert self.postgres is not None
        url = f"postgres://postgres@127.0.0.1:{self.postgres.port}"
        with psycopg.connect(f"{url}/postgres", autocommit=True) as connection:
            # Names are ours (bench_template, bench_1, ...): nothing to quote.
            clause = f" TEMPLATE {template}" if template else ""
            connection.execute(f"CREATE DATABASE {name}{clause}")  # type: ignore[arg-type]
        return f"{url}/{name}"

    def fresh(self) -> str:
        """The URL of a new copy of the template."""
        self.copies += 1
        if self.postgres is not None:
            return self._create_postgres_database(f"bench_{self.copies}", template=TEMPLATE)
        path = self.directory / f"scenario-{self.copies}.sqlite3"
        shutil.copyfile(self.directory / "template.sqlite3", path)
        return f"sqlite:///{path}"

    def close(self) -> None:
        if self.postgres is not None:
            self.postgres.stop()
