"""What ``python -m bench.costs`` reads, and the arithmetic of a unit's cost.

A :class:`Meters` reading takes every counter at once: the worker's CPU
(psutil), Redis's ``INFO`` (:class:`bench.redis_stats.RedisStats`), the
PostgreSQL cluster's CPU and the database's statistics
(:class:`DatabaseStats`), and this run's own processes. A :class:`Window` is
what happened between two readings; :func:`per_unit` divides one by the units
it did, less what the idle process (and idle sockets) did meanwhile.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import psutil
import psycopg

from bench.redis_stats import RedisStats

if TYPE_CHECKING:
    from bench.runner import ScenarioRun


class DatabaseStats:
    """The statistics PostgreSQL keeps for one database.

    A reading is one statement in a transaction of its own, which it
    subtracts from the next readings' transactions; its text names
    ``pg_stat``, which leaves it out of the statements. It also flushes its
    own backend's statistics at once (PostgreSQL 15), so what the reader
    did is never counted late, in another phase.
    """

    QUERY = """
        SELECT pg_stat_force_next_flush(), json_build_object(
            'database', (
                SELECT json_build_object('commits', xact_commit, 'rollbacks', xact_rollback,
                    'inserted', tup_inserted, 'updated', tup_updated, 'deleted', tup_deleted)
                FROM pg_stat_database WHERE datname = current_database()),
            'tables', (
                SELECT coalesce(json_agg(json_build_object('table', relname,
                    'inserted', n_tup_ins, 'updated', n_tup_upd, 'deleted', n_tup_del)), '[]')
                FROM pg_stat_user_tables),
            'wal', (SELECT json_build_object('records', wal_records, 'bytes', wal_bytes) FROM pg_stat_wal),
            'statements', (
                SELECT coalesce(json_agg(json_build_object('query', query, 'calls', calls)), '[]')
                FROM pg_stat_statements
                WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
                AND query NOT LIKE '%pg_stat%' AND query NOT ILIKE 'CREATE EXTENSION%'))
    """

    def __init__(self, url: str) -> None:
        self.connection = psycopg.connect(url, autocommit=True)
        self.connection.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        # The extension's own catalogue rows are counted now, not in the first phase.
        self.connection.execute("SELECT pg_stat_force_next_flush()")
        self.version = str(self.connection.info.server_version)
        self.readings = 0

    def read(self) -> dict[str, float]:
        row = self.connection.execute(self.QUERY).fetchone()  # type: ignore[arg-type]
        assert row is not None
        stats: dict[str, Any] = row[1]
        database = stats["database"]
        counters = {
            # Every earlier reading committed a transaction of its own.
            "db_transactions": float(database["commits"]) - self.readings,
            "db_rollbacks": float(database["rollbacks"]),
            "db_rows_inserted": float(database["inserted"]),
            "db_rows_updated": float(database["updated"]),
            "db_rows_deleted": float(database["deleted"]),
            "db_rows_written": float(database["inserted"] + database["updated"] + database["deleted"]),
            "db_wal_records": float(stats["wal"]["records"]),
            "db_wal_bytes": float(stats["wal"]["bytes"]),
        }
        for table in stats["tables"]:
            for change in ("inserted", "updated", "deleted"):
                counters[f"db_{change}:{table['table']}"] = float(table[change])
        counters["db_statements"] = counters["db_write_statements"] = 0.0
        for statement in stats["statements"]:
            calls = float(statement["calls"])
            # By its first word (SELECT, INSERT, UPDATE, BEGIN, ...), and by its own text (shortened).
            kind = statement["query"].split(None, 1)[0].upper()
            text = " ".join(statement["query"].split())[:160]
            counters[f"db_statement:{kind}"] = counters.get(f"db_statement:{kind}", 0.0) + calls
            counters[f"db_query:{text}"] = counters.get(f"db_query:{text}", 0.0) + calls
            counters["db_statements"] += calls
            if kind in ("INSERT", "UPDATE", "DELETE"):
                counters["db_write_statements"] += calls
        self.readings += 1
        return counters

    def close(self) -> None:
        self.connection.close()


def _cpu_ms(process: psutil.Process, reaped: bool = False) -> float:
    """A process's CPU (user + system), and with ``reaped`` that of the children it has waited for, in ms."""
    try:
        times = process.cpu_times()
    except psutil.NoSuchProcess:
        return 0.0
    seconds: float = times.user + times.system
    if reaped:
        seconds += times.children_user + times.children_system
    return seconds * 1000


def _tree_cpu_ms(root: psutil.Process) -> float:
    """A process tree's CPU: every living member's, and the members that ended (reaped by their parent)."""
    total = _cpu_ms(root, reaped=True)
    for child in root.children(recursive=True):
        total += _cpu_ms(child, reaped=True)
    return total


@dataclass(frozen=True)
class Reading:
    at: float
    counters: dict[str, float]
    machine: Any
    """``psutil.cpu_times()``: the whole machine, for what everyone else used."""
    worker_rss_bytes: int


@dataclass(frozen=True)
class Window:
    """What happened between two readings."""

    seconds: float
    counters: dict[str, float]
    other_cpu_cores: float
    """CPU the machine spent on anything but this run (other sessions' tests, say) meanwhile."""

    @classmethod
    def between(cls, before: Reading, after: Reading) -> Window:
        seconds = after.at - before.at
        counters = {key: after.counters.get(key, 0.0) - before.counters.get(key, 0.0) for key in after.counters}
        total = sum(after.machine) - sum(before.machine)
        idle = (after.machine.idle + after.machine.iowait) - (before.machine.idle + before.machine.iowait)
        busy_cores = (1 - idle / total) * (psutil.cpu_count() or 1) if total else 0.0
        ours = sum(counters[key] for key in OUR_PROCESSES if key in counters) / 1000 / seconds
        return cls(seconds, counters, round(max(0.0, busy_cores - ours), 2))

    def rate(self, key: str) -> float:
        return self.counters.get(key, 0.0) / self.seconds


OUR_PROCESSES = ("worker_cpu_ms", "redis_cpu_ms", "postgres_cpu_ms", "load_generator_cpu_ms", "controller_cpu_ms")


class Meters:
    """Reads every counter at once: the worker, Redis, PostgreSQL, and this run's own processes."""

    def __init__(self, run: ScenarioRun, database_url: str, postgres_pid: int | None) -> None:
        assert run.redis is not None
        assert run.pool is not None
        self.worker = run.servers[0].ps
        self.redis = RedisStats(run.redis.port)
        self.database = DatabaseStats(database_url) if postgres_pid is not None else None
        self.postgres = psutil.Process(postgres_pid) if postgres_pid is not None else None
        self.clients = [psutil.Process(process.pid) for process in run.pool.processes if process.pid is not None]
        self.controller = psutil.Process()

    def read(self) -> Reading:
        counters = {"worker_cpu_ms": _cpu_ms(self.worker)}
        counters.update(self.redis.read())
        if self.postgres is not None and self.database is not None:
            counters["postgres_cpu_ms"] = _tree_cpu_ms(self.postgres)
            counters.update(self.database.read())
        counters["load_generator_cpu_ms"] = sum(_cpu_ms(client) for client in self.clients)
        counters["controller_cpu_ms"] = _cpu_ms(self.controller)
        return Reading(time.monotonic(), counters, psutil.cpu_times(), self.worker.memory_info().rss)

    def close(self) -> None:
        self.redis.close()
        if self.database is not None:
            self.database.close()


def per_unit(
    window: Window,
    units: float,
    idle: Window,
    socket_rate: dict[str, float] | None = None,
    socket_seconds: float = 0.0,
    keys: tuple[str, ...] | None = None,
) -> dict[str, float]:
    """Each counter of ``window`` per unit, less the idle process's rate and ``socket_seconds`` of idle sockets'."""
    figures = {}
    for key, value in window.counters.items():
        if keys is not None and not key.startswith(keys):
            continue
        background = idle.rate(key) * window.seconds + (socket_rate or {}).get(key, 0.0) * socket_seconds
        figures[key] = (value - background) / units if units else math.nan
    return figures


def per_socket_second(sockets_window: Window, sockets: int, idle: Window) -> dict[str, float]:
    """What one idle socket adds per second, by counter."""
    return {key: (sockets_window.rate(key) - idle.rate(key)) / sockets for key in sockets_window.counters if sockets}


DATABASE_KEYS = ("db_",)
OTHER_KEYS = ("worker_", "redis_", "postgres_", "load_generator_", "controller_")
