"""The tables ``python -m bench.costs`` prints: the per-unit figures of a saved run, and a line per phase."""

from __future__ import annotations

import math
from typing import Any

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
