"""``python -m bench.costs``: what one move, one visitor and one idle socket cost a worker, Redis and the database.

Issue 15: "docs/scaling.md gains a capacity model from measured per-unit
costs on PostgreSQL: CPU per move, per join, per idle socket per minute;
Redis commands and bytes per move; database writes per move and per join."

One tictac worker on its chosen settings (``tictac/uvicorn-sansio-arenas2/pubsub``),
its own Redis and a fresh copy of the bench's database are driven by the
bench's own client processes (:class:`bench.runner.ScenarioRun` starts and
warms them up), through five phases:

1. **idle**: no socket open. What the process, Redis and the database do on
   their own is subtracted from every phase below, at its rate per second.
2. **joins**: a crowd of visitors arrives (``bench/crowd.py``: a room page
   with a new session, a socket, and half of them take a seat), in rooms of
   ``--class-size`` people.
3. **idle sockets**: the crowd stays, connected and silent, for
   ``--socket-seconds``: heartbeats, the server's pings, presence.
4. **leaves**: the seated resign, then every socket closes.
5. **moves**: ``--games`` games at one move a second each, far below one
   worker's peak, so a move costs its own work and not a queue's.

A phase is the difference of two readings of counters: the worker's CPU
(psutil), Redis's ``INFO`` (CPU, commands by name, bytes in and out), the
PostgreSQL cluster's CPU (psutil, its processes and the backends it has
reaped), and the database's statistics (``pg_stat_database``,
``pg_stat_user_tables``, ``pg_stat_wal``, and ``pg_stat_statements``, which
this run loads). PostgreSQL reports a backend's counts up to 10 s late once
it is idle, so a phase that ends in silence is read again after
:data:`STATS_FLUSH_SECONDS`, and the moves' database figures are divided by
the moves the database itself counted (rows inserted into ``game_move``) in
the same reading. Each figure is per unit, with the idle process's rate
(and, where sockets sat idle in a phase, theirs) subtracted. What the rest
of the machine did meanwhile is recorded per phase (``other_cpu_cores``).

``--markdown FILE`` prints the tables of a saved run (and the capacity model
built from it, :mod:`bench.capacity`) without running anything.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
import psycopg

from bench import capacity
from bench.__main__ import RESULTS, machine
from bench.crowd import layout, room_count
from bench.database import Databases
from bench.redis_stats import RedisStats
from bench.runner import WARMUP_GAMES, ScenarioRun, crowd_specs, wait_for_quiet
from bench.scenarios import CHOSEN_LAYER, CHOSEN_SERVER, Plan, Scenario
from bench.stats import distribution
from testing.live import ROOT

SCENARIO = Scenario("tictac", CHOSEN_SERVER, CHOSEN_LAYER)
STATS_FLUSH_SECONDS = 11.0
"""PostgreSQL (15) flushes an idle backend's statistics within 10 s (``PGSTAT_IDLE_INTERVAL``)."""
POSTGRES_SETTINGS = ("shared_preload_libraries=pg_stat_statements", "pg_stat_statements.max=1000")
MOVE_WARMUP_SECONDS = 3.0
LOST_AFTER = 5.0
STALLED_AFTER = 1.0


@dataclass(frozen=True)
class Options:
    database: str = "postgres"
    games: int = 50
    """Games at one move a second each in the moves phase."""
    move_seconds: float = 30.0
    visitors: int = 1000
    class_size: int = 4
    """People per room in the crowd: two seat-takers and ``class_size - 2`` watchers."""
    concurrency: int = 20
    idle_seconds: float = 20.0
    socket_seconds: float = 60.0


# Reading the counters.


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


# Per unit.


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


class CostRun(ScenarioRun):
    """The bench's scenario run, measuring unit costs instead of a ramp and a peak."""

    def __init__(self, options: Options, databases: Databases, logs: Path) -> None:
        plan = Plan(
            ramp_games=(options.games,), ramp_seconds=options.move_seconds, peak_games=(), peak_seconds=0,
            crowd_visitors=options.visitors, crowd_class=options.class_size, crowd_concurrency=options.concurrency,
        )  # fmt: skip
        super().__init__(SCENARIO, plan, databases, logs, say=_say)
        self.options = options

    def run(self) -> dict[str, Any]:
        # A shared machine seldom goes quiet: wait a little, note the load, and go on (each phase records it).
        background = wait_for_quiet(self.say, patience=10.0)
        try:
            self._start()
            return {**self._measure(), "background_cpu_cores_before": background}
        finally:
            self._stop()

    def _measure(self) -> dict[str, Any]:
        idle_rss = self._warm_up()
        postgres = self.databases.postgres
        postgres_pid = postgres.process.pid if postgres is not None and postgres.process is not None else None
        meters = Meters(self, self.servers[0].env["DATABASE_URL"], postgres_pid)
        try:
            return self._phases(meters, idle_rss)
        finally:
            meters.close()

    def _phases(self, meters: Meters, idle_rss: int) -> dict[str, Any]:
        assert self.pool is not None
        options = self.options
        phases: dict[str, Any] = {}

        self.say(f"  idle, no sockets: {options.idle_seconds:.0f} s (after {STATS_FLUSH_SECONDS:.0f} s of quiet)")
        time.sleep(STATS_FLUSH_SECONDS)
        start = meters.read()
        time.sleep(options.idle_seconds)
        idle = Window.between(start, meters.read())
        phases["idle"] = _phase(idle)

        self.say(f"  joins: a crowd of {options.visitors} in rooms of {options.class_size}")
        people = layout(options.visitors, self.crowd_codes, options.class_size)
        specs = crowd_specs(self.scenario, self.servers, people)
        before_joins = meters.read()
        start_at = time.monotonic() + 0.3
        self.pool.start_crowd(specs, options.concurrency, start_at)
        crowd = self.pool.finish_crowd()
        arrived = time.monotonic()
        self.say(f"    {crowd.connected} connected, {crowd.seated} seated, failures {dict(crowd.failures) or 0}")
        time.sleep(STATS_FLUSH_SECONDS)
        after_joins = meters.read()
        joins = Window.between(before_joins, after_joins)
        sockets = crowd.connected

        self.say(f"  idle sockets: {sockets} for {options.socket_seconds:.0f} s")
        time.sleep(options.socket_seconds)
        after_sockets = meters.read()
        idle_sockets = Window.between(after_joins, after_sockets)
        socket_rate = per_socket_second(idle_sockets, sockets, idle)
        rss_per_socket_kb = (after_sockets.worker_rss_bytes - idle_rss) / 1024 / sockets if sockets else None

        self.say("  leaves: the seated resign, every socket closes")
        closes = self.pool.crowd_leave()
        self._settle()
        time.sleep(STATS_FLUSH_SECONDS)
        leaves = Window.between(after_sockets, meters.read())

        self.say(f"  moves: {options.games} games at one move a second for {options.move_seconds:.0f} s")
        self._connect_up_to(options.games)
        moves, counts = self._moves(meters)
        self.pool.close_all()

        # The sockets of the crowd sat idle while it arrived (half of them, on average) and until the reading.
        join_socket_seconds = sockets * ((arrived - start_at) / 2 + (after_joins.at - arrived))
        move_socket_seconds = 2 * options.games * moves.seconds
        database_moves = moves.counters.get("db_inserted:game_move", 0.0)
        per_move = per_unit(moves, counts.accepted, idle, socket_rate, move_socket_seconds, OTHER_KEYS)
        per_move |= per_unit(moves, database_moves, idle, socket_rate, move_socket_seconds, DATABASE_KEYS)
        phases["joins"] = {
            **_phase(joins), "visitors": crowd.visitors, "connected": crowd.connected, "seat_takers": crowd.seat_takers,
            "seated": crowd.seated, "failures": dict(crowd.failures), "errors": dict(crowd.errors),
            "arrival_seconds": round(arrived - start_at, 2), "page_ms": distribution(crowd.page_ms),
            "visitor_ms": distribution(crowd.visitor_ms),
        }  # fmt: skip
        phases["idle_sockets"] = {**_phase(idle_sockets), "sockets": sockets}
        phases["leaves"] = {**_phase(leaves), "closes_by_server": dict(closes)}
        phases["moves"] = {
            **_phase(moves), "games": options.games, "accepted": counts.accepted,
            "moves_per_second": round(counts.moves_per_second, 1), "database_moves": database_moves,
            "latency_ms": distribution(counts.latencies_ms), "stalled": counts.stalled,
            "never_arrived": counts.never_arrived, "errors": dict(counts.errors), "closes": dict(counts.closes),
        }  # fmt: skip
        visitors = crowd.visitors
        return {
            "scenario": str(self.scenario),
            "phases": phases,
            "idle_rss_mb": round(idle_rss / 2**20, 1),
            "per_unit": {
                "move": _rounded(per_move),
                "visitor_join": _rounded(per_unit(joins, visitors, idle, socket_rate, join_socket_seconds)),
                "visitor_leave": _rounded(per_unit(leaves, visitors, idle)),
                "idle_socket_minute": _rounded({key: rate * 60 for key, rate in socket_rate.items()}),
                "idle_process_second": _rounded({key: idle.rate(key) for key in idle.counters}),
            },
            "rss_per_socket_kb": round(rss_per_socket_kb, 1) if rss_per_socket_kb is not None else None,
            "redis_version": meters.redis.version,
            "postgres_version": meters.database.version if meters.database is not None else None,
        }

    def _moves(self, meters: Meters) -> tuple[Window, Any]:
        """Games at one move a second; the counters at the edges of the measured window."""
        assert self.pool is not None
        options = self.options
        start_at = time.monotonic() + 0.3
        self.pool.start_play(
            options.games, interval=1.0, start_at=start_at, warmup=MOVE_WARMUP_SECONDS,
            seconds=options.move_seconds, lost_after=LOST_AFTER, stalled_after=STALLED_AFTER,
        )  # fmt: skip
        time.sleep(max(0.0, start_at + MOVE_WARMUP_SECONDS - time.monotonic()))
        before = meters.read()
        time.sleep(max(0.0, start_at + MOVE_WARMUP_SECONDS + options.move_seconds - time.monotonic()))
        after = meters.read()
        counts = self.pool.finish_play()
        latency = distribution(counts.latencies_ms)
        self.say(
            f"    {counts.accepted} moves ({counts.moves_per_second:.1f}/s), p50 {latency.get('p50')} ms, "
            f"p99 {latency.get('p99')} ms, stalled {counts.stalled}, never arrived {counts.never_arrived}"
        )
        return Window.between(before, after), counts


def _phase(window: Window) -> dict[str, Any]:
    return {"seconds": round(window.seconds, 2), "other_cpu_cores": window.other_cpu_cores, "counters": window.counters}


def _rounded(figures: dict[str, float]) -> dict[str, float]:
    """Figures for people: four significant digits, and the breakdowns that stayed at zero left out."""
    return {
        key: float(f"{value:.4g}") for key, value in sorted(figures.items()) if ":" not in key or abs(value) >= 0.0005
    }


# The table.

ROWS = (
    ("worker CPU (ms)", "worker_cpu_ms"),
    ("Redis CPU (ms)", "redis_cpu_ms"),
    ("Redis commands", "redis_commands"),
    ("Redis bytes in", "redis_in_bytes"),
    ("Redis bytes out", "redis_out_bytes"),
    ("Redis memory held (bytes)", "redis_memory_bytes"),
    ("PostgreSQL CPU (ms)", "postgres_cpu_ms"),
    ("DB transactions (reads in autocommit too)", "db_transactions"),
    ("DB statements", "db_statements"),
    ("DB write statements", "db_write_statements"),
    ("DB rows written", "db_rows_written"),
    ("DB WAL bytes", "db_wal_bytes"),
)
COLUMNS = (
    ("per move", "move"),
    ("per visitor: join", "visitor_join"),
    ("per visitor: leave", "visitor_leave"),
    ("per idle socket per minute", "idle_socket_minute"),
    ("idle, no sockets, per second", "idle_process_second"),
)
BREAKDOWNS = (("Redis commands", "redis_command:"), ("statements", "db_statement:"), ("rows written", "db_"))


def _figure(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def cost_table(document: dict[str, Any]) -> str:
    """The per-unit figures as a Markdown table, each column naming the run."""
    units = document["result"]["per_unit"]
    run = f"costs-{document['started']}"
    lines = [
        f"| `{run}` ({document['database']}, `{document['commit']}`) | "
        + " | ".join(title for title, _ in COLUMNS)
        + " |",
        "|---|" + "---:|" * len(COLUMNS),
    ]
    for title, key in ROWS:
        lines.append(f"| {title} | " + " | ".join(_figure(units[column].get(key)) for _, column in COLUMNS) + " |")
    lines.append("")
    for column in ("move", "visitor_join"):
        figures = units[column]
        for title, prefix in BREAKDOWNS:
            parts = [
                f"{key.split(':', 1)[1] if prefix != 'db_' else key.removeprefix('db_')} {_figure(value)}"
                for key, value in figures.items()
                if key.startswith(prefix) and ":" in key and (prefix != "db_" or key.startswith(("db_inserted:",
                    "db_updated:", "db_deleted:")))
            ]  # fmt: skip
            if parts:
                lines.append(f"- {title} per {column.replace('_', ' ')} (`{run}`): " + ", ".join(parts))
    return "\n".join(lines)


def phase_lines(document: dict[str, Any]) -> str:
    result = document["result"]
    phases = result["phases"]
    moves, joins = phases["moves"], phases["joins"]
    lines = [
        f"moves: {moves['accepted']} in {moves['seconds']} s ({moves['moves_per_second']}/s, {moves['games']} games), "
        f"latency p50 {moves['latency_ms'].get('p50')} ms p99 {moves['latency_ms'].get('p99')} ms, "
        f"stalled {moves['stalled']}, never arrived {moves['never_arrived']}",
        f"joins: {joins['connected']}/{joins['visitors']} connected, {joins['seated']}/{joins['seat_takers']} seated "
        f"in {joins['arrival_seconds']} s, failures {joins['failures'] or 0}",
        f"idle sockets: {phases['idle_sockets']['sockets']} for {phases['idle_sockets']['seconds']} s, "
        f"{result['rss_per_socket_kb']} KB of worker RSS per socket",
        "other load (cores, anything but this run): "
        + ", ".join(f"{name} {phase['other_cpu_cores']}" for name, phase in phases.items()),
    ]
    return "\n".join(lines)


# Running it.


def commit() -> str:
    return subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.costs", description=__doc__.split("\n\n")[0])
    defaults = Options()
    parser.add_argument("--db", choices=("postgres", "sqlite"), default=defaults.database)
    parser.add_argument("--games", type=int, default=defaults.games, help="games at one move a second")
    parser.add_argument("--move-seconds", type=float, default=defaults.move_seconds)
    parser.add_argument("--visitors", type=int, default=defaults.visitors, help="the crowd that joins")
    parser.add_argument("--class-size", type=int, default=defaults.class_size, help="people per room in the crowd")
    parser.add_argument("--concurrency", type=int, default=defaults.concurrency, help="visitors arriving at once")
    parser.add_argument("--idle-seconds", type=float, default=defaults.idle_seconds)
    parser.add_argument("--socket-seconds", type=float, default=defaults.socket_seconds)
    parser.add_argument("--markdown", type=Path, metavar="FILE", help="print the tables of a saved run and stop")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.markdown:
        document = json.loads(args.markdown.read_text())
        print(cost_table(document) + "\n\n" + capacity.markdown(document))
        return 0
    # SIGTERM unwinds like Ctrl-C, so Redis, PostgreSQL and the worker are stopped.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    options = Options(
        args.db, args.games, args.move_seconds, args.visitors, args.class_size, args.concurrency, args.idle_seconds,
        args.socket_seconds,
    )  # fmt: skip
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    RESULTS.mkdir(exist_ok=True)
    logs = RESULTS / f"costs-{stamp}-logs"
    logs.mkdir()
    started = time.monotonic()
    print(f"bench.costs {stamp} at {commit()}: {SCENARIO} on {options.database}, {options}", flush=True)
    rooms = options.games + room_count(options.visitors) + WARMUP_GAMES
    with tempfile.TemporaryDirectory(prefix="tictac-costs-") as scratch:
        settings = POSTGRES_SETTINGS if options.database == "postgres" else ()
        databases = Databases(options.database, Path(scratch), rooms=rooms, postgres_settings=settings)
        try:
            result = CostRun(options, databases, logs).run()
        finally:
            databases.close()
    document = {
        "started": stamp,
        "commit": commit(),
        "seconds": round(time.monotonic() - started, 1),
        "machine": {**machine(), "load_average": [round(load, 2) for load in os.getloadavg()]},
        "database": options.database,
        "options": dataclasses.asdict(options),
        "result": result,
    }
    path = RESULTS / f"costs-{stamp}.json"
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    print("\n" + phase_lines(document) + "\n\n" + cost_table(document) + "\n\n" + capacity.markdown(document))
    print(f"\nwrote {path} ({document['seconds']} s); logs in {logs}")
    return 0


def _say(line: str) -> None:
    print(line, flush=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
