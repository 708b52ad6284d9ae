"""``python -m bench``: run the scenarios, print the table and the targets, write JSON and a plot."""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import signal
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from bench import report
from bench.crowd import room_count
from bench.database import Databases
from bench.runner import WARMUP_GAMES, ScenarioRun
from bench.scenarios import CHOSEN, FULL, QUICK, Plan, Scenario, default_scenarios

RESULTS = Path(__file__).resolve().parent / "results"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="a short run (4–5 minutes) with fewer scenarios and a smaller crowd"
    )
    parser.add_argument(
        "--scenario",
        action="append",
        type=Scenario.parse,
        metavar="APP/SERVER/LAYER[/WORKERS]",
        help="run these instead of the defaults (repeatable), e.g. tictac/daphne/pubsub or naive/uvicorn/core/2",
    )
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite", help="the database (default sqlite)")
    parser.add_argument("--clients", type=int, help="load generator processes (default 1)")
    parser.add_argument("--no-deflate", action="store_true", help="do not offer permessage-deflate (browsers do)")
    parser.add_argument("--ramp", type=_games, help="games of the ramp at 1 move/s, e.g. 50,100,250,500")
    parser.add_argument("--peak", type=_games, help="games of the as-fast-as-possible phases, e.g. 16,64,256")
    parser.add_argument("--seconds", type=float, help="measured seconds per ramp and peak step")
    parser.add_argument("--crowd", type=int, metavar="N", help="visitors of the crowd before the ramp (0: none)")
    parser.add_argument(
        "--crowd-concurrency", type=int, metavar="N", help="crowd visitors arriving at once (default 50)"
    )
    parser.add_argument(
        "--repeat-tail", type=int, metavar="N",
        help="measured windows of the top ramp step, one after another (default 5; --quick 2)",
    )  # fmt: skip
    parser.add_argument(
        "--repeat-peak",
        type=int,
        metavar="N",
        help="passes over the peak steps, verdict on the median (default 3; --quick 2)",
    )
    parser.add_argument(
        "--computer-games", type=int, metavar="N",
        help="people playing the computer beside the tail in the chosen scenario (default 100; --quick 20; 0: none)",
    )  # fmt: skip
    return parser.parse_args(argv)


def _games(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(","))


def make_plan(args: argparse.Namespace) -> Plan:
    plan = QUICK if args.quick else FULL
    changes: dict[str, Any] = {"deflate": not args.no_deflate}
    if args.clients:
        changes["client_processes"] = args.clients
    if args.ramp:
        changes["ramp_games"] = args.ramp
    if args.peak:
        changes["peak_games"] = args.peak
    if args.seconds:
        changes["ramp_seconds"] = changes["peak_seconds"] = args.seconds
    if args.crowd is not None:
        changes["crowd_visitors"] = args.crowd
    if args.crowd_concurrency:
        changes["crowd_concurrency"] = args.crowd_concurrency
    if args.repeat_tail:
        changes["tail_runs"] = args.repeat_tail
    if args.repeat_peak:
        changes["peak_runs"] = args.repeat_peak
    if args.computer_games is not None:
        changes["computer_games"] = args.computer_games
    return dataclasses.replace(plan, **changes)


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
    }


def main(argv: list[str]) -> int:
    # SIGTERM (a timeout, a CI cancel) unwinds like Ctrl-C, so Redis and the servers are stopped.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    if argv[:1] == ["--computer-fairness"]:  # a measurement of its own (bench/computer_fairness.py)
        from bench.computer_fairness import main as computer_fairness

        return computer_fairness(argv[1:])
    args = parse_args(argv)
    plan = make_plan(args)
    scenarios = args.scenario or default_scenarios(args.quick)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    RESULTS.mkdir(exist_ok=True)
    logs = RESULTS / f"{stamp}-logs"
    logs.mkdir()
    started = time.monotonic()
    print(f"bench {stamp}: {len(scenarios)} scenarios, {args.db}, plan {plan}", flush=True)
    print(
        f"runs: the tail ({plan.ramp_games[-1] if plan.ramp_games else '-'} games) {plan.tail_runs} times, "
        f"the peak {plan.peak_runs} times; {plan.computer_games} games against the computer in {CHOSEN}",
        flush=True,
    )
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="tictac-bench-") as scratch:
        rooms = plan.max_games + room_count(plan.crowd_visitors) + plan.computer_games + WARMUP_GAMES
        databases = Databases(args.db, Path(scratch), rooms=rooms)
        try:
            for scenario in scenarios:
                print(f"\n== {scenario}", flush=True)
                results[str(scenario)] = ScenarioRun(scenario, plan, databases, logs, say=_say).run()
        finally:
            databases.close()
    checks = report.verdicts(results, args.db)
    document = {
        "started": stamp,
        "seconds": round(time.monotonic() - started, 1),
        "machine": machine(),
        "database": args.db,
        "plan": plan.to_json(),
        "results": results,
        "targets": checks,
    }
    json_path = RESULTS / f"{stamp}.json"
    report.write_json(json_path, document)
    report.plot(json_path.with_suffix(".png"), results)
    print("\n" + report.summary_table(results))
    if crowds := report.crowd_table(results):
        print("\n" + crowds)
    print("\n" + report.runs_table(results))
    print("\n" + report.verdict_lines(checks))
    for warning in report.client_warnings(results):
        print(f"warning: {warning}")
    print(f"\nwrote {json_path} and {json_path.with_suffix('.png')} ({document['seconds']} s); logs in {logs}")
    return 0


def _say(line: str) -> None:
    print(line, flush=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
