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

from bench import capacity
from bench.__main__ import RESULTS, machine
from bench.cost_meters import DATABASE_KEYS, OTHER_KEYS, Meters, Window, per_socket_second, per_unit
from bench.cost_tables import cost_table, phase_lines
from bench.crowd import layout, room_count
from bench.database import Databases
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
