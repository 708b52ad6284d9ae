"""Turning scenario results into the targets' verdicts, a table, a JSON file and a plot."""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path
from typing import Any

from bench.scenarios import STOCK, Scenario

TARGET_GAMES = 500
TARGET_P99_MS = 50.0
TARGET_RSS_PER_SOCKET_KB = 40.0
TARGET_CROWD_SECONDS = 5.0
TARGET_CROWD_PAGE_P99_MS = 500.0
TARGET_CROWD_PAGES_RATIO = 0.5
# Issue 24's targets, against the relay on the same server (the scenario's twin) in the same run.
TARGET_CPU_PER_MOVE_RATIO = 1.25
TARGET_VISITOR_CPU_RATIO = 2.0


def _at_games(result: dict[str, Any], games: int) -> dict[str, Any] | None:
    return next((step for step in result["ramp"] if step["games"] == games), None)


def _tail_at(result: dict[str, Any], games: int) -> list[dict[str, Any]]:
    """Every measured window of the tail at ``games`` games (the ramp's step alone if the tail is elsewhere)."""
    tail = [step for step in result.get("tail", []) if step["games"] == games]
    step = _at_games(result, games)
    return tail or ([step] if step is not None else [])


def phases(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Every measured phase of a scenario once: the ramp, the tail's further windows, beside the computer, the peak."""
    beside = [result["beside_computer"]] if result.get("beside_computer") else []
    every: list[dict[str, Any]] = result["ramp"] + result.get("tail", [])[1:] + beside + result["peak"]
    return every + result.get("below_peak", [])


def median_ratio(ours: list[float], theirs: list[float]) -> tuple[float, list[float]]:
    """Run ``i`` against run ``i``: the median of the ratios, and every ratio (as many as the shorter list has)."""
    ratios = [mine / other for mine, other in zip(ours, theirs, strict=False) if other]
    return (statistics.median(ratios) if ratios else math.nan), ratios


def _ratios_detail(median: float, ratios: list[float]) -> str:
    return f"median {median:.2f}× of {len(ratios)}: " + ", ".join(f"{ratio:.2f}×" for ratio in ratios)


def verdicts(results: dict[str, dict[str, Any]], database: str = "sqlite") -> list[dict[str, Any]]:
    """The issue's targets, for every tictac scenario that was run."""
    checks = []
    stock = results.get(str(STOCK))
    for name, result in results.items():
        scenario = Scenario.parse(name)
        if scenario.app != "tictac":
            continue
        checks += _crowd_verdicts(name, scenario, results, database)
        if stock is not None:
            median, ratios = median_ratio(result["peak_runs"], stock["peak_runs"])
            checks.append(
                _check(name, "peak ≥ 2× naive on stock daphne + core", median >= 2, _ratios_detail(median, ratios))
            )
        twin = results.get(str(scenario.twin))
        if twin is not None:
            median, ratios = median_ratio(result["peak_runs"], twin["peak_runs"])
            checks.append(
                _check(
                    name, "peak ≥ 0.8× naive on the same server + layer", median >= 0.8, _ratios_detail(median, ratios)
                )
            )
        if twin is not None:
            checks += _cpu_verdicts(name, result, twin)
        if scenario.workers > 1:
            every = phases(result)
            errors = sum(sum(phase["errors"].values()) + sum(phase["closes"].values()) for phase in every)
            lost = sum(phase["never_arrived"] for phase in every)
            detail = f"errors and closes {errors}, never arrived {lost}"
            checks.append(_check(name, "players split over workers: nothing lost", errors == lost == 0, detail))
        tail = _tail_at(result, TARGET_GAMES)
        if not tail:
            continue
        p99s = [window["latency_ms"].get("p99", math.inf) for window in tail]
        checks.append(
            _check(
                name, f"p99 ≤ {TARGET_P99_MS:.0f} ms at {TARGET_GAMES} games, every one of {len(tail)} runs",
                max(p99s) <= TARGET_P99_MS, f"worst {max(p99s)} ms: " + ", ".join(f"{p99}" for p99 in p99s),
            )
        )  # fmt: skip
        clean = all(
            window["stalled"] == 0 and window["never_arrived"] == 0 and "1011" not in window["closes"]
            for window in tail
        )
        detail = (
            f"by run: stalled {[window['stalled'] for window in tail]}, "
            f"never arrived {[window['never_arrived'] for window in tail]}, "
            f"1011 {[window['closes'].get('1011', 0) for window in tail]}"
        )
        checks.append(_check(name, f"no stalled or lost moves, no 1011, in all {len(tail)} runs", clean, detail))
        if beside := result.get("beside_computer"):
            computer = beside["computer"]
            p99 = beside["latency_ms"].get("p99", math.inf)
            target = f"p99 ≤ {TARGET_P99_MS:.0f} ms at {TARGET_GAMES} games beside {computer['games']} computer games"
            detail = (
                f"{p99} ms ({computer['started']}/{computer['games']} computer games playing, {computer['failed']} "
                f"failed; stalled {beside['stalled']}, never arrived {beside['never_arrived']})"
            )
            everyone = computer["started"] == computer["games"]
            checks.append(_check(name, target, p99 <= TARGET_P99_MS and everyone, detail))
        step = tail[0]
        rss = step["rss_per_socket_kb"]
        checks.append(
            _check(
                name, f"≤ {TARGET_RSS_PER_SOCKET_KB:.0f} KB per socket", rss <= TARGET_RSS_PER_SOCKET_KB, f"{rss} KB"
            )
        )
    return checks


def _crowd_verdicts(
    name: str, scenario: Scenario, results: dict[str, dict[str, Any]], database: str
) -> list[dict[str, Any]]:
    """Issue 15's first target, on one worker: time until all are in, page load p99, pages/s against the baseline."""
    crowd = results[name].get("crowd")
    if not crowd or scenario.workers != 1:
        return []
    visitors = crowd["visitors"]
    everyone = crowd["connected"] == visitors and crowd["failed"] == 0
    seconds = crowd["connected_seconds"]
    detail = f"{seconds} s ({crowd['connected']}/{visitors} connected"
    if crowd["seat_takers"]:
        detail += f", {crowd['seated']}/{crowd['seat_takers']} seated in {crowd['seated_seconds']} s"
    detail += f", {crowd['failed']} failed)"
    checks = [
        _check(
            name, f"crowd of {visitors} all connected ≤ {TARGET_CROWD_SECONDS:.0f} s ({database})",
            everyone and seconds <= TARGET_CROWD_SECONDS, detail,
        ),
    ]  # fmt: skip
    page = crowd["page_ms"]
    p99 = page.get("p99", float("inf"))
    checks.append(
        _check(
            name, f"crowd page load p99 ≤ {TARGET_CROWD_PAGE_P99_MS:.0f} ms ({database})",
            p99 <= TARGET_CROWD_PAGE_P99_MS, f"{p99} ms (p50 {page.get('p50')} ms)",
        )
    )  # fmt: skip
    baseline = (results.get(str(scenario.twin)) or {}).get("crowd")
    if baseline and baseline.get("pages_per_second") and crowd.get("pages_per_second"):
        ratio = crowd["pages_per_second"] / baseline["pages_per_second"]
        checks.append(
            _check(
                name, f"crowd pages/s ≥ {TARGET_CROWD_PAGES_RATIO}× minimal Django view, same server",
                ratio >= TARGET_CROWD_PAGES_RATIO,
                f"{ratio:.2f}× ({crowd['pages_per_second']} against {baseline['pages_per_second']} pages/s)",
            )
        )  # fmt: skip
    return checks


def _peak_cpu_per_move(result: dict[str, Any]) -> float:
    """The median over the peak's steps of the servers' CPU per move (ms): the busiest, least idle-weighted phases."""
    figures = [step["server_cpu_ms_per_move"] for step in result["peak"] if step.get("server_cpu_ms_per_move")]
    return statistics.median(figures) if figures else math.nan


def _cpu_verdicts(name: str, result: dict[str, Any], twin: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue 24: CPU per move and per visitor, memory per socket, against the relay on the same server; and the
    tail at 70 % of this run's own peak."""
    checks = []
    ours, theirs = _peak_cpu_per_move(result), _peak_cpu_per_move(twin)
    ratio = ours / theirs if theirs else math.nan
    checks.append(
        _check(
            name, f"CPU per move ≤ {TARGET_CPU_PER_MOVE_RATIO}× the relay's on the same server (peak)",
            ratio <= TARGET_CPU_PER_MOVE_RATIO, f"{ratio:.2f}× ({ours:.3f} against {theirs:.3f} ms)",
        )
    )  # fmt: skip
    crowd, base = result.get("crowd"), twin.get("crowd")
    if crowd and base and crowd.get("server_cpu_ms_per_visitor") and base.get("server_cpu_ms_per_visitor"):
        visitor = crowd["server_cpu_ms_per_visitor"] / base["server_cpu_ms_per_visitor"]
        checks.append(
            _check(
                name, f"CPU per visitor ≤ {TARGET_VISITOR_CPU_RATIO}× the minimal page's, same server",
                visitor <= TARGET_VISITOR_CPU_RATIO,
                f"{visitor:.2f}× ({crowd['server_cpu_ms_per_visitor']} against {base['server_cpu_ms_per_visitor']} ms)",
            )
        )  # fmt: skip
    ours_tail, their_tail = _tail_at(result, TARGET_GAMES), _tail_at(twin, TARGET_GAMES)
    if ours_tail and their_tail:
        mine, relay = ours_tail[0]["rss_per_socket_kb"], their_tail[0]["rss_per_socket_kb"]
        checks.append(
            _check(
                name, "memory per socket ≤ the relay's on the same server", mine <= relay, f"{mine} against {relay} KB"
            )
        )
    if below := result.get("below_peak"):
        p99s = [window["latency_ms"].get("p99", math.inf) for window in below]
        lost = sum(window["never_arrived"] for window in below)
        checks.append(
            _check(
                name, f"p99 ≤ {TARGET_P99_MS:.0f} ms at 70 % of the peak ({below[0]['games']} games), every run, "
                "nothing lost", max(p99s) <= TARGET_P99_MS and lost == 0,
                f"p99 by run {', '.join(str(p99) for p99 in p99s)} ms; never arrived {lost}",
            )
        )  # fmt: skip
    return checks


def _check(scenario: str, target: str, met: bool, value: str) -> dict[str, Any]:
    return {"scenario": scenario, "target": target, "met": met, "value": value}


def summary_table(results: dict[str, dict[str, Any]]) -> str:
    """A line per scenario: its median peak, and the worst of the tail's windows at 500 games."""
    header = (
        f"{'scenario':34} {'peak mv/s':>9} {'srv ms/mv':>9} {'cmd/mv':>6} {'500g p50':>8} {'500g p99':>8} "
        f"{'lost':>5} {'stall':>5} {'KB/sock':>7} {'setup p99':>9} {'other cpu':>9}"
    )
    lines = [header, "-" * len(header)]
    for name, result in results.items():
        every = phases(result)
        best = max(every, key=lambda phase: phase["moves_per_second"])
        tail = _tail_at(result, TARGET_GAMES)
        worst = max(tail, key=lambda window: window["latency_ms"].get("p99", 0), default={})
        latency = worst.get("latency_ms", {})
        setups = [setup["total_ms"].get("p99", 0) for setup in result["setup"] if "total_ms" in setup]
        setup_p99 = max(setups, default=0)
        lost = sum(phase["never_arrived"] for phase in every)
        stalled = sum(phase["stalled"] for phase in every if phase not in result["peak"])
        # CPU the machine spent on something else during the measurements: a sign of skewed numbers.
        other = max(phase["other_cpu_cores"] for phase in every)
        rss = tail[0].get("rss_per_socket_kb", "-") if tail else "-"
        lines.append(
            f"{name:34} {result['peak_moves_per_second']:9.1f} {best['server_cpu_ms_per_move'] or 0:9.3f} "
            f"{best.get('redis_commands_per_move') or 0:6.2f} "
            f"{latency.get('p50', '-')!s:>8} {latency.get('p99', '-')!s:>8} {lost:5d} {stalled:5d} "
            f"{rss!s:>7} {setup_p99:9.1f} {other:9.2f}"
        )
    lines.append(
        "peak: the median of the runs' peaks; srv ms/mv and cmd/mv (Redis commands per move): the busiest phase's; "
        "500g: the tail's window with the worst p99; "
        "lost and stall: every phase (stall: not the peak's)"
    )
    return "\n".join(lines)


def runs_table(results: dict[str, dict[str, Any]]) -> str:
    """Every repeated figure: the tail's p99 window by window, beside the computer, and the peak run by run."""
    lines = []
    for name, result in results.items():
        tail = result.get("tail", [])
        if tail:
            p99s = ", ".join(str(window["latency_ms"].get("p99", "-")) for window in tail)
            stalled = ", ".join(str(window["stalled"]) for window in tail)
            lines.append(f"{name:38} tail {tail[0]['games']} games, {len(tail)} runs: p99 {p99s} ms; stalled {stalled}")
        if beside := result.get("beside_computer"):
            computer = beside["computer"]
            lines.append(
                f"{name:38} beside {computer['started']}/{computer['games']} computer games ({computer['level']}): "
                f"p50 {beside['latency_ms'].get('p50', '-')} p99 {beside['latency_ms'].get('p99', '-')} ms, "
                f"stalled {beside['stalled']}; their people moved {computer['moves']} times, "
                f"errors {computer['errors'] or 0}, closes {computer['closes'] or 0}"
            )
        if below := result.get("below_peak"):
            p99s = ", ".join(str(window["latency_ms"].get("p99", "-")) for window in below)
            lines.append(
                f"{name:38} at 70 % of the peak ({below[0]['games']} games, {below[0]['share_of_peak']:.0%}), "
                f"{len(below)} runs: p99 {p99s} ms; never arrived {sum(w['never_arrived'] for w in below)}"
            )
        peaks = ", ".join(f"{peak:.1f}" for peak in result["peak_runs"])
        line_cpu = [step["server_cpu_ms_per_move"] for step in result["peak"] if step.get("server_cpu_ms_per_move")]
        if line_cpu:
            lines.append(f"{name:38} server CPU per move at the peak: {', '.join(f'{ms:.3f}' for ms in line_cpu)} ms")
        line = f"{name:38} peak, {len(result['peak_runs'])} runs: {peaks} moves/s"
        stock = results.get(str(STOCK))
        if stock is not None and result["app"] == "tictac":
            median, ratios = median_ratio(result["peak_runs"], stock["peak_runs"])
            line += f"; against the stock relay {_ratios_detail(median, ratios)}"
        lines.append(line)
    return "\n".join(lines)


def crowd_table(results: dict[str, dict[str, Any]]) -> str:
    """The crowd of each scenario (tictac's room page, or the naive app's baseline page), side by side."""
    header = (
        f"{'crowd':34} {'visitors':>8} {'in (s)':>6} {'seated':>6} {'page p50':>8} {'page p99':>8} {'pages/s':>7} "
        f"{'vs base':>7} {'visit p99':>9} {'srv ms/vis':>10} {'failed':>6} {'other cpu':>9}"
    )
    lines = [header, "-" * len(header)]
    for name, result in results.items():
        crowd = result.get("crowd")
        if not crowd:
            continue
        scenario = Scenario.parse(name)
        baseline = (results.get(str(scenario.twin)) or {}).get("crowd") if scenario.app == "tictac" else None
        ratio = "-"
        if baseline and baseline.get("pages_per_second") and crowd.get("pages_per_second"):
            ratio = f"{crowd['pages_per_second'] / baseline['pages_per_second']:.2f}×"
        seated = crowd["seated_seconds"] if crowd["seat_takers"] else "-"
        lines.append(
            f"{name:34} {crowd['visitors']:8d} {crowd['connected_seconds']:6.2f} {seated!s:>6} "
            f"{crowd['page_ms'].get('p50', '-')!s:>8} {crowd['page_ms'].get('p99', '-')!s:>8} "
            f"{crowd['pages_per_second'] or 0:7.1f} {ratio:>7} {crowd['visitor_ms'].get('p99', '-')!s:>9} "
            f"{crowd['server_cpu_ms_per_visitor'] or 0:10.2f} {crowd['failed']:6d} {crowd['other_cpu_cores']:9.2f}"
        )
    return "\n".join(lines) if len(lines) > 2 else ""


def client_warnings(results: dict[str, dict[str, Any]], limit: float = 0.8) -> list[str]:
    """Phases where a load generator process was this busy: there the client, not the server, may set the pace."""
    warnings = [
        f"client busy {phase['client_busiest_core']:.0%} of a core in {name} at {phase['games']} games"
        for name, result in results.items()
        for phase in phases(result)
        if phase["client_busiest_core"] >= limit
    ]
    warnings += [
        f"client busy {result['crowd']['client_busiest_core']:.0%} of a core in {name}'s crowd"
        for name, result in results.items()
        if result.get("crowd") and result["crowd"]["client_busiest_core"] >= limit
    ]
    return warnings


def verdict_lines(checks: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"{'MET   ' if check['met'] else 'MISSED'} {check['scenario']:34} {check['target']:54} {check['value']}"
        for check in checks
    )


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def plot(path: Path, results: dict[str, dict[str, Any]]) -> None:
    """Latency against concurrent games (one move per second each) and each scenario's peak."""
    import matplotlib

    matplotlib.use("Agg")  # headless: no display on a server
    import matplotlib.pyplot as plt

    figure, (latency_axes, peak_axes) = plt.subplots(1, 2, figsize=(14, 5.5), width_ratios=(3, 2))
    for name, result in results.items():
        games = [step["games"] for step in result["ramp"]]
        style = "-" if result["app"] == "tictac" else "--"
        p99 = [step["latency_ms"].get("p99") for step in result["ramp"]]
        (line,) = latency_axes.plot(games, p99, style, marker="o", label=f"{name} p99")
        p50 = [step["latency_ms"].get("p50") for step in result["ramp"]]
        latency_axes.plot(games, p50, style, marker=".", color=line.get_color(), alpha=0.5, label=f"{name} p50")
        # The tail's further windows, as points beside the ramp's line.
        tail = result.get("tail", [])[1:]
        tail_p99 = [window["latency_ms"].get("p99") for window in tail]
        latency_axes.plot([window["games"] for window in tail], tail_p99, "x", color=line.get_color())
    latency_axes.axhline(TARGET_P99_MS, color="red", linewidth=0.8, linestyle=":", label="p99 target")
    latency_axes.set(
        xlabel="concurrent games (1 move/s each)", ylabel="move → opponent latency (ms)", yscale="log",
        title="Latency against load (×: the tail's further runs)",
    )  # fmt: skip
    latency_axes.grid(True, which="both", alpha=0.3)
    latency_axes.legend(fontsize=7)
    names = list(results)
    peaks = [results[name]["peak_moves_per_second"] for name in names]
    colors = ["tab:blue" if results[name]["app"] == "tictac" else "tab:gray" for name in names]
    bars = peak_axes.barh(names, peaks, color=colors)
    peak_axes.bar_label(bars, fmt="%.0f", fontsize=7, padding=2)
    peak_axes.invert_yaxis()
    peak_axes.set(xlabel="accepted moves/s (peak: the median of the runs)", title="Peak throughput")
    peak_axes.tick_params(axis="y", labelsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
