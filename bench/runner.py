"""One scenario, start to finish: Redis, servers, warm-up, the ramp at one move per second, the peak.

Each scenario gets its own Redis and its own copy of the database, so
nothing one leaves behind (presence keys, sessions, a long move table)
weighs on the next.
"""

from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import psutil

from bench.clientproc import ClientPool
from bench.computer import ComputerSpec
from bench.crowd import VisitorSpec, layout, room_count
from bench.database import Databases
from bench.loadgen import GameSpec
from bench.processes import ServerProcess, Usage, usage
from bench.redis_stats import RedisStats
from bench.scenarios import CHOSEN, Plan, Scenario
from bench.seats import SeatTarget
from bench.stats import distribution
from bench.summaries import crowd_summary, machine_busy, peaks_by_run, per_socket_kb, phase_summary, setup_summary
from tictac.embedded_redis import EmbeddedRedis

WARMUP_GAMES = 8
BELOW_PEAK = 0.7
"""Issue 24's third target: the tail at this share of the run's own measured peak (moves/s), at the ramp's pace."""
WARMUP_VISITORS = 16
"""Watchers (no seats) who load the page and connect in the warm-up rooms, so the page's first renders are not timed."""
Say = Callable[[str], None]


def game_specs(scenario: Scenario, servers: list[ServerProcess], codes: list[str]) -> list[GameSpec]:
    """Game ``i`` in room ``codes[i]``; with several workers its two players sit on different ones."""
    specs = []
    for index, code in enumerate(codes):
        path = f"/rooms/{code}/" if scenario.app == "tictac" else f"/ws/naive/{code}/"
        seats = tuple(SeatTarget("127.0.0.1", servers[(index + seat) % len(servers)].port, path) for seat in (0, 1))
        specs.append(GameSpec(scenario.app, code, (seats[0], seats[1])))
    return specs


def crowd_specs(scenario: Scenario, servers: list[ServerProcess], people: list[tuple[str, bool]]) -> list[VisitorSpec]:
    """A visitor per (room, takes a seat); with several workers, visitor ``i`` goes to worker ``i`` mod their number."""
    return [
        VisitorSpec(scenario.app, "127.0.0.1", servers[index % len(servers)].port, code, seat, f"crowd {index}")
        for index, (code, seat) in enumerate(people)
    ]


def wait_for_quiet(say: Say, limit_cores: float = 0.15, patience: float = 60.0) -> float:
    """Wait (up to ``patience`` s) until the machine is nearly idle before a scenario starts.

    Nothing of the benchmark runs at that moment, so whatever CPU is busy
    belongs to someone else, and a scenario measured beside it would be
    slower for reasons of its own. Returns the last reading, in cores.
    """
    cores = psutil.cpu_count() or 1
    deadline = time.monotonic() + patience
    while True:
        busy = psutil.cpu_percent(interval=2.0) / 100 * cores
        if busy <= limit_cores or time.monotonic() >= deadline:
            break
        say(f"    waiting for a quiet machine: {busy:.2f} cores busy")
    return round(busy, 2)


class ScenarioRun:
    def __init__(self, scenario: Scenario, plan: Plan, databases: Databases, logs: Path, say: Say) -> None:
        self.scenario = scenario
        self.plan = plan
        self.databases = databases
        self.logs = logs
        self.say = say
        self.servers: list[ServerProcess] = []
        self.redis: EmbeddedRedis | None = None
        self.pool: ClientPool | None = None
        self.connected = 0
        self.specs: list[GameSpec] = []
        self.redis_stats: RedisStats | None = None

    def run(self) -> dict[str, Any]:
        background = wait_for_quiet(self.say)
        try:
            self._start()
            return {**self._measure(), "background_cpu_cores_before": background}
        finally:
            self._stop()

    def _start(self) -> None:
        self.redis = EmbeddedRedis().start()
        self.redis_stats = RedisStats(self.redis.port)
        database_url = self.databases.fresh()
        name = str(self.scenario).replace("/", "_")
        for worker in range(self.scenario.workers):
            log = self.logs / f"{name}-{worker}.log"
            self.servers.append(ServerProcess(self.scenario, database_url, self.redis.url, log).start())
        self.pool = ClientPool(self.plan.client_processes, self.plan.deflate)
        codes = self.databases.room_codes
        self.warmup_specs = game_specs(self.scenario, self.servers, codes[-WARMUP_GAMES:])
        self.specs = game_specs(self.scenario, self.servers, codes[: self.plan.max_games])
        # The crowd's rooms come after the games' (and before the warm-up's): empty seats for its seat-takers.
        crowd_end = self.plan.max_games + room_count(self.plan.crowd_visitors)
        self.crowd_codes = codes[self.plan.max_games : crowd_end]
        # Then the rooms where people play the computer.
        self.computer_codes = codes[crowd_end : crowd_end + self.plan.computer_games]

    def _stop(self) -> None:
        # Every process is stopped even when another one's stop fails (a dead client's broken pipe).
        with contextlib.ExitStack() as stack:
            if self.redis is not None:
                stack.callback(self.redis.stop)
            if self.redis_stats is not None:
                stack.callback(self.redis_stats.close)
            for server in self.servers:
                stack.callback(server.stop)
            if self.pool is not None:
                stack.callback(self.pool.stop)

    def _usage(self) -> tuple[Usage, Usage]:
        assert self.redis is not None
        assert self.redis.process is not None
        return usage([server.ps for server in self.servers]), usage([psutil.Process(self.redis.process.pid)])

    def _measure(self) -> dict[str, Any]:
        assert self.pool is not None
        plan = self.plan
        idle_rss = self._warm_up()
        result: dict[str, Any] = {"scenario": str(self.scenario), **asdict(self.scenario)}
        result["idle_rss_mb"] = round(idle_rss / 2**20, 1)
        result["crowd"] = self._crowd() if plan.crowd_visitors else None
        result["setup"] = []
        result["ramp"] = []
        for games in plan.ramp_games:
            setup = self._connect_up_to(games)
            result["setup"].append({"games": games, **setup})
            step = self._ramp_step(games, result["idle_rss_mb"], setup)
            result["ramp"].append(step)
            last = games == plan.ramp_games[-1]
            self._report_step(f"tail 1/{plan.tail_runs}" if last else "ramp", games, step)
        # The tail: the top ramp step's games play on, measured again window after window. Its first
        # window is the ramp's last step (the same dict in both lists); the others follow it with a
        # move's length of warm-up, as the games never stopped but for the drain between windows.
        result["tail"] = []
        if plan.ramp_games:
            top = plan.ramp_games[-1]
            result["tail"] = [{"run": 1, **result["ramp"][-1]}]
            for run in range(2, plan.tail_runs + 1):
                step = {"run": run, **self._ramp_step(top, result["idle_rss_mb"], {}, warmup=plan.move_interval)}
                result["tail"].append(step)
                self._report_step(f"tail {run}/{plan.tail_runs}", top, step)
            result["ramp"][-1] = result["tail"][0]
        result["beside_computer"] = self._beside_computer() if self._plays_the_computer() else None
        result["peak"] = []
        for run in range(1, plan.peak_runs + 1):
            for games in plan.peak_games:
                if run == 1:
                    result["setup"].append({"games": games, **self._connect_up_to(games)})
                step = self._play(games, interval=0, seconds=plan.peak_seconds)
                result["peak"].append({"games": games, "run": run, **step})
                self._report_step(f"peak {run}/{plan.peak_runs}", games, step)
        result["peak_runs"] = peaks_by_run(result["tail"], result["peak"], plan.peak_runs)
        result["peak_moves_per_second"] = statistics.median(result["peak_runs"])
        self.say(f"    peak by run: {', '.join(f'{peak:.1f}' for peak in result['peak_runs'])} moves/s")
        measured_below = self.scenario.app == "tictac" and plan.ramp_games and result["peak_moves_per_second"]
        result["below_peak"] = self._below_peak(result["peak_moves_per_second"]) if measured_below else []
        self.pool.close_all()
        return result

    def _below_peak(self, peak: float) -> list[dict[str, Any]]:
        """Issue 24's flat tail: games at a move per ``move_interval`` making ``BELOW_PEAK`` of this run's own
        median peak, measured ``tail_runs`` times; the games already connected (after the crowd), at most."""
        plan = self.plan
        games = min(self.connected, max(1, round(BELOW_PEAK * peak * plan.move_interval)))
        windows = []
        for run in range(1, plan.tail_runs + 1):
            step = {"run": run, **self._play(games, interval=plan.move_interval, seconds=plan.ramp_seconds)}
            windows.append({"games": games, "share_of_peak": round(games / plan.move_interval / peak, 3), **step})
            self._report_step(f"{BELOW_PEAK:.0%} of the peak {run}/{plan.tail_runs}", games, step)
        return windows

    def _ramp_step(
        self, games: int, idle_rss_mb: float, setup: dict[str, Any], warmup: float | None = None
    ) -> dict[str, Any]:
        """``games`` games at one move per interval; memory per socket after the step (and after connecting)."""
        step = self._play(games, interval=self.plan.move_interval, seconds=self.plan.ramp_seconds, warmup=warmup)
        sockets = 2 * self.connected
        step["rss_per_socket_kb"] = per_socket_kb(step["server_rss_mb"], idle_rss_mb, sockets)
        if "rss_mb" in setup:
            step["rss_per_socket_kb_idle"] = per_socket_kb(setup["rss_mb"], idle_rss_mb, sockets)
        return {"games": games, "sockets": sockets, **step}

    def _plays_the_computer(self) -> bool:
        return self.scenario == CHOSEN and self.plan.computer_games > 0 and bool(self.plan.ramp_games)

    def _beside_computer(self) -> dict[str, Any]:
        """The tail's games measured once more, with people playing the computer in rooms of their own beside them."""
        assert self.pool is not None
        plan = self.plan
        games = plan.ramp_games[-1]
        server = self.servers[0]
        specs = [
            ComputerSpec("127.0.0.1", server.port, code, plan.computer_level, seed)
            for seed, code in enumerate(self.computer_codes)
        ]
        started = self.pool.start_computer_games(specs)
        self.say(
            f"    {started.started} of {started.games} people playing the computer ({plan.computer_level}) "
            f"in {distribution(started.setup_ms).get('max', '-')} ms at most; failed {dict(started.failures) or 0}"
        )
        step = self._play(games, interval=plan.move_interval, seconds=plan.ramp_seconds)
        played = self.pool.stop_computer_games()
        self._settle()
        step["computer"] = {
            "games": played.games,
            "level": plan.computer_level,
            "started": played.started,
            "failed": sum(played.failures.values()),
            "failures": dict(played.failures),
            "setup_ms": distribution(played.setup_ms),
            "moves": played.moves,
            "errors": dict(played.errors),
            "closes": dict(played.closes),
        }
        self._report_step(f"beside {played.started} computer games:", games, step)
        return {"games": games, "sockets": 2 * self.connected, **step}

    def _warm_up(self) -> int:
        """Play a few games and hang up, so imports, caches and pools are full; the servers' RSS then."""
        assert self.pool is not None
        self.pool.connect(self.warmup_specs)
        self._play(WARMUP_GAMES, interval=0, seconds=2, warmup=0.5)
        self.pool.close_all()
        if self.plan.crowd_visitors:
            warmup_codes = [spec.code for spec in self.warmup_specs]
            people = [(warmup_codes[index % len(warmup_codes)], False) for index in range(WARMUP_VISITORS)]
            self.pool.start_crowd(crowd_specs(self.scenario, self.servers, people), WARMUP_VISITORS, time.monotonic())
            self.pool.finish_crowd()
            self.pool.crowd_leave()
        time.sleep(1)
        return self._usage()[0].rss_bytes

    def _crowd(self) -> dict[str, Any]:
        """The crowd arrives, all at once (``crowd_concurrency`` at a time); then it leaves, and the servers settle."""
        assert self.pool is not None
        plan = self.plan
        specs = crowd_specs(
            self.scenario, self.servers, layout(plan.crowd_visitors, self.crowd_codes, plan.crowd_class)
        )
        start_at = time.monotonic() + 0.5
        self.pool.start_crowd(specs, plan.crowd_concurrency, start_at)
        time.sleep(max(0.0, start_at - time.monotonic()))
        servers_before, redis_before = self._usage()
        machine_before = psutil.cpu_times()
        counts = self.pool.finish_crowd()
        seconds = time.monotonic() - start_at
        servers_after, redis_after = self._usage()
        machine_after = psutil.cpu_times()
        servers = Usage(servers_after.cpu_seconds - servers_before.cpu_seconds, servers_after.rss_bytes)
        redis = Usage(redis_after.cpu_seconds - redis_before.cpu_seconds, redis_after.rss_bytes)
        summary = crowd_summary(counts, plan, len(self.crowd_codes), specs[0].connects, servers, redis, seconds)
        summary["machine_cpu_busy"] = busy = machine_busy(machine_before, machine_after)
        ours = summary["server_cpu_cores"] + summary["redis_cpu_cores"] + counts.client_cpu_seconds / seconds
        summary["other_cpu_cores"] = round(max(0.0, busy * (psutil.cpu_count() or 1) - ours), 2)
        summary["rss_mb"] = round(servers.rss_bytes / 2**20, 1)
        left = time.monotonic()
        closes = self.pool.crowd_leave()
        summary["closes"] = dict(closes)
        self._settle()
        summary["leave_seconds"] = round(time.monotonic() - left, 1)
        summary["rss_after_mb"] = round(self._usage()[0].rss_bytes / 2**20, 1)
        page = summary["page_ms"]
        seated = f", {summary['seated']} seated in {summary['seated_seconds']} s" if counts.seat_takers else ""
        arrived = "connected" if summary["sockets"] else "pages loaded"
        self.say(
            f"    crowd of {summary['visitors']}: {summary['connected']} {arrived} in {summary['connected_seconds']} s"
            f"{seated}; "
            f"page p50 {page.get('p50')} p99 {page.get('p99')} ms, {summary['pages_per_second']} pages/s; "
            f"{summary['failed']} failed {summary['failures'] or ''}; server {summary['server_cpu_ms_per_visitor']} ms "
            f"a visitor; left in {summary['leave_seconds']} s"
        )
        return summary

    def _settle(self, limit_cores: float = 0.1, patience: float = 20.0) -> None:
        """Wait (up to ``patience`` s) until the servers are nearly idle: the crowd's goodbyes have been handled."""
        deadline = time.monotonic() + patience
        before = self._usage()[0].cpu_seconds
        while time.monotonic() < deadline:
            time.sleep(0.5)
            now = self._usage()[0].cpu_seconds
            if now - before < limit_cores * 0.5:
                return
            before = now

    def _connect_up_to(self, games: int) -> dict[str, Any]:
        """Seat the players of games up to ``games``; the servers' RSS once they are all connected."""
        assert self.pool is not None
        if games <= self.connected:
            return {}
        counts = self.pool.connect(self.specs[self.connected : games])
        self.connected = games
        time.sleep(1)  # presence broadcasts of the last connects settle
        summary = setup_summary(counts)
        summary["rss_mb"] = round(self._usage()[0].rss_bytes / 2**20, 1)
        self.say(
            f"    connected {summary['sockets']} sockets in {summary['seconds']} s "
            f"(p50 {summary['total_ms'].get('p50')} ms, p99 {summary['total_ms'].get('p99')} ms, "
            f"{counts.failed} failed)"
        )
        return summary

    def _play(self, games: int, interval: float, seconds: float, warmup: float | None = None) -> dict[str, Any]:
        """One phase; the servers', Redis's and the machine's CPU are read at the edges of the measured window."""
        assert self.pool is not None
        warmup = self.plan.warmup_seconds if warmup is None else warmup
        start_at = time.monotonic() + 0.3
        self.pool.start_play(
            games, interval=interval, start_at=start_at, warmup=warmup, seconds=seconds,
            lost_after=self.plan.lost_after, stalled_after=self.plan.stalled_after,
        )  # fmt: skip
        time.sleep(max(0.0, start_at + warmup - time.monotonic()))
        servers_before, redis_before = self._usage()
        commands_before = self._commands()
        machine_before = psutil.cpu_times()
        time.sleep(max(0.0, start_at + warmup + seconds - time.monotonic()))
        servers_after, redis_after = self._usage()
        commands_after = self._commands()
        machine_after = psutil.cpu_times()
        counts = self.pool.finish_play()
        servers = Usage(servers_after.cpu_seconds - servers_before.cpu_seconds, servers_after.rss_bytes)
        redis = Usage(redis_after.cpu_seconds - redis_before.cpu_seconds, redis_after.rss_bytes)
        commands = {
            name: calls - commands_before.get(name, 0.0)
            for name, calls in commands_after.items()
            if calls > commands_before.get(name, 0.0)
        }
        summary = phase_summary(counts, servers, redis, seconds, commands)
        summary["machine_cpu_busy"] = busy = machine_busy(machine_before, machine_after)
        # What the machine did besides this benchmark: other load skews a comparison.
        ours = summary["server_cpu_cores"] + summary["redis_cpu_cores"] + summary["client_cpu_cores"]
        summary["other_cpu_cores"] = round(max(0.0, busy * (psutil.cpu_count() or 1) - ours), 2)
        return summary

    def _commands(self) -> dict[str, float]:
        """Redis's commands so far, by name (this reader's ``INFO`` left out)."""
        if self.redis_stats is None:
            return {}
        counters = self.redis_stats.read()
        return {
            key.removeprefix("redis_command:"): calls
            for key, calls in counters.items()
            if key.startswith("redis_command:")
        }

    def _report_step(self, kind: str, games: int, step: dict[str, Any]) -> None:
        latency = step["latency_ms"]
        self.say(
            f"    {kind} {games:4d} games: {step['moves_per_second']:7.1f} moves/s  "
            f"p50 {latency.get('p50', '-')} p99 {latency.get('p99', '-')} ms  "
            f"never arrived {step['never_arrived']}  stalled {step['stalled']}  errors {sum(step['errors'].values())}  "
            f"closes {step['closes'] or 0}  redis cmd/move {step.get('redis_commands_per_move')}  "
            f"cpu: server {step['server_cpu_cores']} redis {step['redis_cpu_cores']} "
            f"client {step['client_busiest_core']} other {step['other_cpu_cores']}"
        )
