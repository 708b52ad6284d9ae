"""Turning scenario results into the targets' verdicts, a table, a JSON file and a plot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .scenarios import STOCK, Scenario

TARGET_GAMES = 500
TARGET_P99_MS = 50.0
TARGET_RSS_PER_SOCKET_KB = 40.0
TARGET_CROWD_SECONDS = 5.0
TARGET_CROWD_PAGE_P99_MS = 500.0
TARGET_CROWD_PAGES_RATIO = 0.5


def _at_games(result: dict[str, Any], games: int) -> dict[str, Any] | None:
    return next((step for step in result["ramp"] if step["games"] == games), None)


def verdicts(results: dict[str, dict[str, Any]], database: str = "sqlite") -> list[dict[str, Any]]:
    """The issue's targets, for every tictac scenario that was run."""
    checks = []
    stock = results.get(str(STOCK))
    for name, result in results.items():
        scenario = Scenario.parse(name)
        if scenario.app != "tictac":
            continue
        checks += _crowd_verdicts(name, scenario, results, database)
        peak = result["peak_moves_per_second"]
        if stock is not None:
            ratio = peak / stock["peak_moves_per_second"]
            checks.append(_check(name, "peak ≥ 2× naive on stock daphne + core", ratio >= 2, f"{ratio:.2f}×"))
        twin = results.get(str(scenario.twin))
        if twin is not None:
            ratio = peak / twin["peak_moves_per_second"]
            checks.append(_check(name, "peak ≥ 0.8× naive on the same server + layer", ratio >= 0.8, f"{ratio:.2f}×"))
        if scenario.workers > 1:
            phases = result["ramp"] + result["peak"]
            errors = sum(sum(phase["errors"].values()) + sum(phase["closes"].values()) for phase in phases)
            lost = sum(phase["never_arrived"] for phase in phases)
            detail = f"errors and closes {errors}, never arrived {lost}"
            checks.append(_check(name, "players split over workers: nothing lost", errors == lost == 0, detail))
        step = _at_games(result, TARGET_GAMES)
        if step is None:
            continue
        p99 = step["latency_ms"].get("p99", float("inf"))
        checks.append(
            _check(name, f"p99 ≤ {TARGET_P99_MS:.0f} ms at {TARGET_GAMES} games", p99 <= TARGET_P99_MS, f"{p99} ms")
        )
        clean = step["stalled"] == 0 and step["never_arrived"] == 0 and "1011" not in step["closes"]
        detail = f"stalled {step['stalled']}, never arrived {step['never_arrived']}, closes {step['closes'] or 0}"
        checks.append(_check(name, "no stalled or lost moves, no 1011", clean, detail))
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


def _check(scenario: str, target: str, met: bool, value: str) -> dict[str, Any]:
    return {"scenario": scenario, "target": target, "met": met, "value": value}


def summary_table(results: dict[str, dict[str, Any]]) -> str:
    header = (
        f"{'scenario':34} {'peak mv/s':>9} {'srv ms/mv':>9} {'500g p50':>8} {'500g p99':>8} "
        f"{'lost':>5} {'stall':>5} {'KB/sock':>7} {'setup p99':>9} {'other cpu':>9}"
    )
    lines = [header, "-" * len(header)]
    for name, result in results.items():
        best = max(result["ramp"] + result["peak"], key=lambda phase: phase["moves_per_second"])
        step = _at_games(result, TARGET_GAMES) or {}
        latency = step.get("latency_ms", {})
        setups = [setup["total_ms"].get("p99", 0) for setup in result["setup"] if "total_ms" in setup]
        setup_p99 = max(setups, default=0)
        lost = sum(phase["never_arrived"] for phase in result["ramp"] + result["peak"])
        stalled = sum(phase["stalled"] for phase in result["ramp"])
        # CPU the machine spent on something else during the measurements: a sign of skewed numbers.
        other = max(phase["other_cpu_cores"] for phase in result["ramp"] + result["peak"])
        lines.append(
            f"{name:34} {result['peak_moves_per_second']:9.1f} {best['server_cpu_ms_per_move'] or 0:9.3f} "
            f"{latency.get('p50', '-')!s:>8} {latency.get('p99', '-')!s:>8} {lost:5d} {stalled:5d} "
            f"{step.get('rss_per_socket_kb', '-')!s:>7} {setup_p99:9.1f} {other:9.2f}"
        )
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
        for phase in result["ramp"] + result["peak"]
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
    latency_axes.axhline(TARGET_P99_MS, color="red", linewidth=0.8, linestyle=":", label="p99 target")
    latency_axes.set(
        xlabel="concurrent games (1 move/s each)", ylabel="move → opponent latency (ms)", yscale="log",
        title="Latency against load",
    )  # fmt: skip
    latency_axes.grid(True, which="both", alpha=0.3)
    latency_axes.legend(fontsize=7)
    names = list(results)
    peaks = [results[name]["peak_moves_per_second"] for name in names]
    colors = ["tab:blue" if results[name]["app"] == "tictac" else "tab:gray" for name in names]
    bars = peak_axes.barh(names, peaks, color=colors)
    peak_axes.bar_label(bars, fmt="%.0f", fontsize=7, padding=2)
    peak_axes.invert_yaxis()
    peak_axes.set(xlabel="accepted moves/s (peak)", title="Peak throughput")
    peak_axes.tick_params(axis="y", labelsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
