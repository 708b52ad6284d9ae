"""Turning scenario results into the targets' verdicts, a table, a JSON file and a plot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .scenarios import STOCK, Scenario

TARGET_GAMES = 500
TARGET_P99_MS = 50.0
TARGET_RSS_PER_SOCKET_KB = 40.0


def _at_games(result: dict[str, Any], games: int) -> dict[str, Any] | None:
    return next((step for step in result["ramp"] if step["games"] == games), None)


def verdicts(results: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The issue's targets, for every tictac scenario that was run."""
    checks = []
    stock = results.get(str(STOCK))
    for name, result in results.items():
        scenario = Scenario.parse(name)
        if scenario.app != "tictac":
            continue
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


def client_warnings(results: dict[str, dict[str, Any]], limit: float = 0.8) -> list[str]:
    """Phases where a load generator process was this busy: there the client, not the server, may set the pace."""
    return [
        f"client busy {phase['client_busiest_core']:.0%} of a core in {name} at {phase['games']} games"
        for name, result in results.items()
        for phase in result["ramp"] + result["peak"]
        if phase["client_busiest_core"] >= limit
    ]


def verdict_lines(checks: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"{'MET   ' if check['met'] else 'MISSED'} {check['scenario']:34} {check['target']:48} {check['value']}"
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
