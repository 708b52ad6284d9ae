"""The ASGI server processes a benchmark talks to, and what they cost.

Redis is tictac's own :class:`tictac.embedded_redis.EmbeddedRedis` and
PostgreSQL the test suite's :class:`testing.postgres.EmbeddedPostgres`. Servers
start the way ``testing/live.py`` starts them (same environment, same
readiness check on ``/healthz``) but from a command per server kind and an
ASGI application per app, which the test helper does not offer.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import psutil

from bench.scenarios import APP_SETTINGS, APPS, LAYERS, SERVER_ENV, SERVERS, Scenario
from testing.live import server_env, start_healthy
from testing.one_address import LIMITS_OFF as ONE_ADDRESS_LIMITS_OFF
from tictac.processes import free_port, stop_process


@dataclass(frozen=True)
class Usage:
    """Resources a set of processes had used at one moment."""

    cpu_seconds: float
    rss_bytes: int


def usage(processes: list[psutil.Process]) -> Usage:
    """The processes' CPU and RSS, each with its children's: a server that serves from a worker process of its own
    (granian) is measured by that worker, and a search process (the computer's) counts as the server's."""
    cpu = 0.0
    rss = 0
    for root in processes:
        for process in [root, *_children(root)]:
            try:
                with process.oneshot():
                    times = process.cpu_times()
                    cpu += times.user + times.system
                    rss += process.memory_info().rss
            except psutil.NoSuchProcess:
                continue  # it ended between the listing and the reading
    return Usage(cpu, rss)


def _children(process: psutil.Process) -> list[psutil.Process]:
    try:
        return list(process.children(recursive=True))
    except psutil.NoSuchProcess:
        return []


class ServerProcess:
    """One ASGI server process serving a scenario's app on a free port."""

    def __init__(self, scenario: Scenario, database_url: str, redis_url: str, log_path: Path) -> None:
        layer, settings_module = LAYERS[scenario.layer]
        self.scenario = scenario
        self.port = free_port()
        self.log_path = log_path
        self.env = server_env(
            database_url,
            REDIS_URL=redis_url,
            TICTAC_CHANNEL_LAYER=layer,
            # The limit is per socket; a benchmark player sends far faster than a person.
            TICTAC_MESSAGES_PER_SECOND="100000",
            **ONE_ADDRESS_LIMITS_OFF,  # every benchmark client comes from 127.0.0.1
        )
        self.env["DJANGO_SETTINGS_MODULE"] = settings_module
        if scenario.app in APP_SETTINGS:
            self.env["BENCH_BASE_SETTINGS"] = settings_module
            self.env["DJANGO_SETTINGS_MODULE"] = APP_SETTINGS[scenario.app]
        self.env.update(SERVER_ENV.get(scenario.server, {}))
        self.command = [part.format(port=self.port) for part in SERVERS[scenario.server]] + [APPS[scenario.app]]
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ps(self) -> psutil.Process:
        assert self.process is not None
        return psutil.Process(self.process.pid)

    def start(self, timeout: float = 30) -> ServerProcess:
        self.process = start_healthy([sys.executable, *self.command], self.env, self.url, self.log_path, timeout)
        return self

    def stop(self) -> None:
        # A tictac server that played the computer has a search process of its own (game.realtime.computer_turns), and
        # multiprocessing's resource tracker beside it; a SIGTERMed server leaves them running. They
        # are noted before the stop and ended after it, so no run leaves processes behind.
        children = []
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(psutil.NoSuchProcess):
                children = self.ps.children(recursive=True)
        stop_process(self.process, timeout=10)
        self.process = None
        for child in children:
            with contextlib.suppress(psutil.NoSuchProcess):
                child.terminate()
        _, alive = psutil.wait_procs(children, timeout=5)
        for child in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()
