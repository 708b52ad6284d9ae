"""``python -m bench.move_cost``: CPU and Redis commands per move, tictac beside the relay, in one run.

Issue 24's first target is tictac's server CPU per move against the relay's
on the same server. On a shared machine wall-clock figures move with
everyone else's load; CPU time per move moves much less. This runs the
scenarios side by side (each with its own Redis and database, all started
at once) and measures them in turn, pass after pass, so a burst of foreign
load weighs on both alike:

- the worker's CPU per accepted move (psutil: user + system);
- Redis's CPU per move, and its commands per move by name (``INFO``
  commandstats, the reader's own ``INFO`` left out);
- with ``--profile``, py-spy samples one pass of each tictac scenario
  (``--profile-out``: a collapsed-stacks file per scenario).

``--interval 0`` plays as fast as the games can (the bench's peak);
``--interval 1`` plays a move a second per game (the tail's pace).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from bench import runner
from bench.__main__ import RESULTS
from bench.crowd import room_count
from bench.database import Databases
from bench.processes import ServerProcess
from bench.redis_stats import RedisStats
from bench.runner import WARMUP_GAMES, ScenarioRun
from bench.scenarios import CHOSEN, Plan, Scenario

DEFAULT_SCENARIOS = (CHOSEN.twin, CHOSEN)


@dataclass(frozen=True)
class Target:
    """A scenario, and the checkout its server runs from (None: this one)."""

    scenario: Scenario
    tree: Path | None = None

    @classmethod
    def parse(cls, text: str) -> Target:
        """``app/server/layer[/workers][@path]``: ``@path`` serves the app from another checkout."""
        scenario, _, tree = text.partition("@")
        return cls(Scenario.parse(scenario), Path(tree).resolve() if tree else None)

    def __str__(self) -> str:
        return f"{self.scenario}@{self.tree}" if self.tree else str(self.scenario)


@dataclass
class Pass:
    moves: int
    moves_per_second: float
    worker_cpu_ms: float
    redis_cpu_ms: float
    redis_commands: dict[str, float] = field(default_factory=dict)
    other_cpu_cores: float = 0.0
    threads_cpu_ms: dict[str, float] = field(default_factory=dict)
    """The worker's CPU by thread: the event loop (``loop``) and every other thread by its name."""

    @property
    def worker_ms_per_move(self) -> float:
        return self.worker_cpu_ms / self.moves if self.moves else float("nan")

    @property
    def redis_ms_per_move(self) -> float:
        return self.redis_cpu_ms / self.moves if self.moves else float("nan")

    @property
    def commands_per_move(self) -> dict[str, float]:
        return {name: calls / self.moves for name, calls in self.redis_commands.items() if self.moves}


class TreeServer(ServerProcess):
    """A server run from another checkout of tictac (its commit's code, this checkout's bench)."""

    def __init__(self, tree: Path, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tree = tree

    def start(self, timeout: float = 30) -> ServerProcess:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, *self.command], cwd=self.tree, env=self.env, stdout=log, stderr=log
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(urllib.error.URLError, ConnectionError, TimeoutError),
                urllib.request.urlopen(self.url + "/healthz", timeout=1) as response,
            ):
                if response.status == 200:
                    return self
            time.sleep(0.1)  # readiness polling
        raise RuntimeError(f"{self.command} in {self.tree} did not become healthy; see {self.log_path}")


@contextlib.contextmanager
def _servers_from(tree: Path) -> Iterator[None]:
    """While starting a run: its servers from ``tree`` (bench.runner makes them by name)."""
    original = runner.ServerProcess  # type: ignore[attr-defined]

    def made(*args: Any, **kwargs: Any) -> TreeServer:
        return TreeServer(tree, *args, **kwargs)

    runner.ServerProcess = made  # type: ignore[attr-defined]
    try:
        yield
    finally:
        runner.ServerProcess = original  # type: ignore[attr-defined]


class MeasuredRun(ScenarioRun):
    """One scenario, started and warmed up, its games connected; measured a pass at a time."""

    def __init__(self, target: Target, plan: Plan, databases: Databases, logs: Path) -> None:
        super().__init__(target.scenario, plan, databases, logs, say=_say)
        self.target = target
        self.redis_stats: RedisStats | None = None

    def begin(self, games: int) -> None:
        tree = self.target.tree
        if tree is None:
            self._start()
        else:
            with _servers_from(tree):
                self._start()
        self._warm_up()
        self._connect_up_to(games)
        assert self.redis is not None
        self.redis_stats = RedisStats(self.redis.port)
        # Their first moves now: a game whose first move is not made in time is aborted (docs/protocol.md), and
        # the next targets take a while to start.
        self.measure(games, interval=0, seconds=1)

    def measure(self, games: int, interval: float, seconds: float, profile: Path | None = None) -> Pass:
        assert self.pool is not None
        assert self.redis_stats is not None
        assert self.redis is not None
        warmup = 1.0
        start_at = time.monotonic() + 0.3
        self.pool.start_play(
            games, interval=interval, start_at=start_at, warmup=warmup, seconds=seconds,
            lost_after=self.plan.lost_after, stalled_after=self.plan.stalled_after,
        )  # fmt: skip
        time.sleep(max(0.0, start_at + warmup - time.monotonic()))
        # A server that runs its app in a child process (granian) is measured with it: the whole tree.
        server = self.servers[0].ps
        worker = next(iter(server.children()), server)
        redis = psutil.Process(self.redis.process.pid)  # type: ignore[union-attr]
        spy = _start_profile(worker.pid, seconds, profile) if profile else None
        machine_before = psutil.cpu_times()
        worker_before, redis_before = _cpu(server) + _cpu(worker, server), _cpu(redis)
        threads_before = _threads(worker)
        stats_before = self.redis_stats.read()
        time.sleep(max(0.0, start_at + warmup + seconds - time.monotonic()))
        worker_after, redis_after = _cpu(server) + _cpu(worker, server), _cpu(redis)
        threads_after = _threads(worker)
        stats_after = self.redis_stats.read()
        machine_after = psutil.cpu_times()
        counts = self.pool.finish_play()
        if not counts.accepted:
            _say(
                f"    no move accepted: sent {counts.sent}, resyncs {counts.resyncs}, errors {dict(counts.errors)}, "
                f"closes {dict(counts.closes)}, unanswered {counts.unanswered}"
            )
        if spy is not None:
            spy.wait(timeout=30)
        commands = {
            key.removeprefix("redis_command:"): stats_after[key] - stats_before.get(key, 0.0)
            for key in stats_after
            if key.startswith("redis_command:")
        }
        total = sum(machine_after) - sum(machine_before)
        idle = (machine_after.idle + machine_after.iowait) - (machine_before.idle + machine_before.iowait)
        busy = (1 - idle / total) * (psutil.cpu_count() or 1) if total else 0.0
        ours = (worker_after - worker_before + redis_after - redis_before + counts.client_cpu_seconds) / seconds
        return Pass(
            moves=counts.accepted,
            moves_per_second=counts.moves_per_second,
            worker_cpu_ms=(worker_after - worker_before) * 1000,
            redis_cpu_ms=(redis_after - redis_before) * 1000,
            redis_commands={name: calls for name, calls in commands.items() if calls},
            other_cpu_cores=round(max(0.0, busy - ours), 2),
            threads_cpu_ms=_by_thread_kind(threads_before, threads_after, worker.pid),
        )

    def end(self) -> None:
        if self.redis_stats is not None:
            self.redis_stats.close()
        with contextlib.suppress(Exception):
            if self.pool is not None:
                self.pool.close_all()
        self._stop()


def _cpu(process: psutil.Process, unless: psutil.Process | None = None) -> float:
    """A process's CPU in seconds; nothing if it is ``unless`` (already counted)."""
    if unless is not None and process.pid == unless.pid:
        return 0.0
    times = process.cpu_times()
    return float(times.user + times.system)


def _threads(process: psutil.Process) -> dict[int, float]:
    return {thread.id: thread.user_time + thread.system_time for thread in process.threads()}


def _by_thread_kind(before: dict[int, float], after: dict[int, float], pid: int) -> dict[str, float]:
    """CPU (ms) of the event loop's thread (the process's first) and of all the others together."""
    spent = {tid: (seconds - before.get(tid, 0.0)) * 1000 for tid, seconds in after.items()}
    loop = spent.pop(pid, 0.0)
    return {"loop": loop, "threads": sum(spent.values())}


def _start_profile(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes] | None:
    spy = shutil.which("py-spy")
    if spy is None:
        _say("    py-spy not found on PATH: no profile")
        return None
    command = [spy, "record", "--pid", str(pid), "--duration", str(int(seconds)), "--format", "raw"]
    command += ["--output", str(out), "--threads", "--rate", "250"]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def summarise(passes: list[Pass]) -> dict[str, Any]:
    commands: dict[str, list[float]] = {}
    for one in passes:
        for name, per_move in one.commands_per_move.items():
            commands.setdefault(name, []).append(per_move)
    return {
        "passes": [
            {
                "moves": one.moves,
                "moves_per_second": round(one.moves_per_second, 1),
                "worker_ms_per_move": round(one.worker_ms_per_move, 3),
                "redis_ms_per_move": round(one.redis_ms_per_move, 3),
                "redis_commands_per_move": round(sum(one.commands_per_move.values()), 3),
                "other_cpu_cores": one.other_cpu_cores,
                **{
                    f"{kind}_ms_per_move": round(ms / one.moves, 3)
                    for kind, ms in one.threads_cpu_ms.items()
                    if one.moves
                },
            }
            for one in passes
        ],
        "worker_ms_per_move": round(statistics.median(one.worker_ms_per_move for one in passes), 3),
        "redis_ms_per_move": round(statistics.median(one.redis_ms_per_move for one in passes), 3),
        "redis_commands_per_move": round(statistics.median(sum(one.commands_per_move.values()) for one in passes), 3),
        "redis_commands_by_name": {name: round(statistics.median(values), 3) for name, values in commands.items()},
        "moves_per_second": round(statistics.median(one.moves_per_second for one in passes), 1),
        **{
            f"{kind}_ms_per_move": round(
                statistics.median(one.threads_cpu_ms.get(kind, 0.0) / max(1, one.moves) for one in passes), 3
            )
            for kind in ("loop", "threads")
        },
    }


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.move_cost", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scenario", action="append", type=Target.parse,
        help="app/server/layer[/workers][@checkout], repeatable; default the relay and tictac on tictac's settings",
    )  # fmt: skip
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--games", type=int, default=64)
    parser.add_argument("--interval", type=float, default=0.0, help="seconds between a game's moves (0: at once)")
    parser.add_argument("--seconds", type=float, default=8.0, help="measured seconds per pass")
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="py-spy one more pass of each tictac scenario")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    args = parse_args(argv)
    targets: list[Target] = args.scenario or [Target(scenario) for scenario in DEFAULT_SCENARIOS]
    plan = Plan(
        ramp_games=(), ramp_seconds=0, peak_games=(args.games,), peak_seconds=args.seconds, crowd_visitors=0,
        computer_games=0,
    )  # fmt: skip
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    RESULTS.mkdir(exist_ok=True)
    logs = RESULTS / f"move-cost-{stamp}-logs"
    logs.mkdir()
    _say(f"move cost {stamp}: {', '.join(map(str, targets))}; {args.games} games, interval {args.interval} s")
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="tictac-move-cost-") as scratch:
        databases = Databases(args.db, Path(scratch), rooms=args.games + room_count(0) + WARMUP_GAMES)
        runs = []
        for index, target in enumerate(targets, start=1):
            (logs / str(index)).mkdir()  # two targets may share a scenario, and so a log's name
            runs.append(MeasuredRun(target, plan, databases, logs / str(index)))
        passes: dict[str, list[Pass]] = {str(target): [] for target in targets}
        try:
            for run in runs:
                _say(f"== starting {run.target}")
                run.begin(args.games)
            for number in range(1, args.passes + 1):
                for run in runs:
                    one = run.measure(args.games, args.interval, args.seconds)
                    passes[str(run.target)].append(one)
                    _say(
                        f"  pass {number} {run.target}: {one.moves} moves ({one.moves_per_second:.0f}/s), "
                        f"worker {one.worker_ms_per_move:.3f} ms/move, redis {one.redis_ms_per_move:.3f} ms/move, "
                        f"{sum(one.commands_per_move.values()):.2f} commands/move, other {one.other_cpu_cores} cores; "
                        + ", ".join(f"{kind} {ms / max(1, one.moves):.3f}" for kind, ms in one.threads_cpu_ms.items())
                    )
            if args.profile:
                for run in runs:
                    if run.scenario.app != "tictac":
                        continue
                    out = logs / f"profile-{str(run.target).replace('/', '_')}.txt"
                    run.measure(args.games, args.interval, args.seconds, profile=out)
                    _say(f"  profile of {run.target}: {out}")
        finally:
            for run in runs:
                run.end()
            databases.close()
    for name, measured in passes.items():
        if measured:
            results[name] = summarise(measured)
    relay = next((results[str(t)] for t in targets if t.scenario.app == "naive" and str(t) in results), None)
    _say("")
    for name, result in results.items():
        ratio = f", {result['worker_ms_per_move'] / relay['worker_ms_per_move']:.2f}× the relay" if relay else ""
        _say(
            f"{name}: worker {result['worker_ms_per_move']} ms/move{ratio} (loop {result['loop_ms_per_move']}, "
            f"threads {result['threads_ms_per_move']}), redis {result['redis_ms_per_move']} "
            f"ms/move, {result['redis_commands_per_move']} commands/move {result['redis_commands_by_name']}, "
            f"{result['moves_per_second']} moves/s"
        )
    path = RESULTS / f"move-cost-{stamp}.json"
    document = {"started": stamp, "args": {k: str(v) for k, v in vars(args).items()}, "results": results}
    path.write_text(json.dumps(document, indent=1))
    _say(f"wrote {path}")
    return 0


def _say(line: str) -> None:
    print(line, flush=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
