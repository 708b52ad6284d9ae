"""A throwaway PostgreSQL server for tests, from Debian's postgresql package.

PostgreSQL refuses to run as root, so as root the cluster belongs to the
``postgres`` user the package creates and its commands run through
``runuser``. The cluster keeps nothing worth keeping: fsync is off.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

from testing.wait import until
from tictac.processes import free_port, stop_process


def find_bin_dir() -> Path | None:
    """The newest installed PostgreSQL's bin folder, or None."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda path: int(path.split("/")[4]))
    if candidates:
        return Path(candidates[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class EmbeddedPostgres:
    def __init__(self, settings: tuple[str, ...] = ()) -> None:
        """``settings``: more ``name=value`` server settings, after the defaults (``python -m bench.costs``
        loads ``pg_stat_statements`` to count statements)."""
        bin_dir = find_bin_dir()
        if bin_dir is None:
            raise RuntimeError("PostgreSQL is not installed (Debian: apt-get install postgresql)")
        self.bin_dir = bin_dir
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="tictac-pg-"))
        self.data = self.directory / "data"
        self.settings = settings
        self.process: subprocess.Popen[bytes] | None = None
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            self._as_user = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.directory, "postgres", "postgres")

    def _run(self, *command: str) -> None:
        subprocess.run([*self._as_user, *command], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def start(self, timeout: float = 30) -> EmbeddedPostgres:
        self._run(str(self.bin_dir / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8")
        log = open(self.directory / "postgres.log", "wb")  # noqa: SIM115 - the server writes it while it runs
        settings = ["fsync=off", "synchronous_commit=off", "full_page_writes=off", "max_connections=300"]
        settings += self.settings
        command = [*self._as_user, str(self.bin_dir / "postgres"), "-D", str(self.data), "-p", str(self.port)]
        command += ["-k", str(self.directory), "-h", "127.0.0.1"]
        for setting in settings:
            command += ["-c", setting]
        process = self.process = subprocess.Popen(command, stdout=log, stderr=log)

        def ready() -> bool:
            answer = subprocess.run(
                [str(self.bin_dir / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)], capture_output=True
            )
            if answer.returncode != 0 and process.poll() is not None:
                raise RuntimeError((self.directory / "postgres.log").read_text())
            return answer.returncode == 0

        until(ready, timeout=timeout, interval=0.1, message=f"PostgreSQL to accept connections on port {self.port}")
        return self

    def create_database(self) -> str:
        """A new empty database; returns its URL."""
        name = f"tictac_{uuid.uuid4().hex[:12]}"
        subprocess.run(
            [str(self.bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name],
            check=True,
        )
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        stop_process(self.process, timeout=15)
        self.process = None
        shutil.rmtree(self.directory, ignore_errors=True)
