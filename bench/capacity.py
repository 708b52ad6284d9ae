"""The capacity model of docs/scaling.md, from the per-unit costs a ``bench.costs`` run measured.

A concurrent player at human pace (:class:`HumanPace`) costs, per second,
its share of moves, its visits (a join and, later, a leave) and one socket
open all the time. Multiplied by the players, that gives the worker cores,
the Redis cores and the database's write rate; the tables name the run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

PLAYERS = (10_000, 100_000, 1_000_000)


@dataclass(frozen=True)
class HumanPace:
    """What a concurrent player does; docs/scaling.md says why these values."""

    seconds_between_moves: float = 4.0
    """In one game, from one move to the next (either player's): each player moves every 8 s."""
    visits_per_hour: float = 6.0
    """A player arrives in a room (page, socket, seat) and later leaves it, every ten minutes."""
    utilisation: float = 0.6
    """The share of a core a worker, Redis or PostgreSQL is planned to use: room for bursts."""

    @property
    def moves_per_second(self) -> float:
        return 1 / (2 * self.seconds_between_moves)

    @property
    def visits_per_second(self) -> float:
        return self.visits_per_hour / 3600


MODEL_KEYS = (
    "worker_cpu_ms", "redis_cpu_ms", "redis_commands", "redis_in_bytes", "redis_out_bytes", "postgres_cpu_ms",
    "db_transactions", "db_statements", "db_write_statements", "db_rows_written", "db_wal_bytes",
)  # fmt: skip


def per_player(units: dict[str, dict[str, float]], pace: HumanPace) -> dict[str, float]:
    """Each figure per concurrent player per second: its moves, its visits and its open socket."""
    figures = {}
    for key in MODEL_KEYS:
        if key not in units["move"]:
            figures[key] = math.nan  # not measured: the database's figures on SQLite, say
            continue
        move = units["move"][key]
        visit = units["visitor_join"].get(key, 0.0) + units["visitor_leave"].get(key, 0.0)
        socket = units["idle_socket_minute"].get(key, 0.0) / 60
        figures[key] = pace.moves_per_second * move + pace.visits_per_second * visit + socket
    return figures


@dataclass(frozen=True)
class Memory:
    """What a run measured of memory held: a worker's with no sockets, per socket, and Redis's per visitor."""

    idle_rss_mb: float
    socket_kb: float
    redis_bytes_per_visitor: float


def sizing(player: dict[str, float], players: int, pace: HumanPace, memory: Memory) -> dict[str, float]:
    """What ``players`` concurrent players need."""
    worker_cores = players * player["worker_cpu_ms"] / 1000
    redis_cores = players * player["redis_cpu_ms"] / 1000
    workers = math.ceil(worker_cores / pace.utilisation)
    return {
        "moves_per_second": players * pace.moves_per_second,
        "worker_cores_busy": worker_cores,
        "workers": workers,
        "sockets_per_worker": players / workers,
        "worker_rss_mb": memory.idle_rss_mb + players / workers * memory.socket_kb / 1024,
        "redis_cores_busy": redis_cores,
        "redis_shards": math.ceil(redis_cores / pace.utilisation),
        "redis_commands_per_second": players * player["redis_commands"],
        "redis_mb_per_second": players * (player["redis_in_bytes"] + player["redis_out_bytes"]) / 2**20,
        "db_transactions_per_second": players * player["db_transactions"],
        "db_write_statements_per_second": players * player["db_write_statements"],
        "db_rows_per_second": players * player["db_rows_written"],
        "db_wal_mb_per_second": players * player["db_wal_bytes"] / 2**20,
        "postgres_cores_busy": players * player["postgres_cpu_ms"] / 1000,
        "socket_memory_gb": players * memory.socket_kb / 2**20,
        "redis_memory_gb": players * memory.redis_bytes_per_visitor / 2**30,
    }


def _number(value: float) -> str:
    if math.isnan(value):
        return "–"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def markdown(document: dict[str, Any], pace: HumanPace | None = None) -> str:
    """The model's two tables (per player, then for 10k, 100k and 1M players), naming the run."""
    pace = pace or HumanPace()
    result = document["result"]
    units = result["per_unit"]
    run = f"costs-{document['started']}"
    socket_kb = result["rss_per_socket_kb"]
    memory = Memory(result["idle_rss_mb"], socket_kb, units["visitor_join"].get("redis_memory_bytes", 0.0))
    player = per_player(units, pace)
    move = units["move"]
    commands_per_core_second = move["redis_commands"] / move["redis_cpu_ms"] * 1000 if move["redis_cpu_ms"] else 0
    lines = [
        f"Human pace: a move every {pace.seconds_between_moves:g} s in each game (each player every "
        f"{2 * pace.seconds_between_moves:g} s: {pace.moves_per_second:g} moves/s a player), "
        f"{pace.visits_per_hour:g} visits (join and leave) an hour, one socket open all the time; "
        f"planned at {pace.utilisation:.0%} of a core. Per-unit costs from `{run}`.",
        "",
        f"| per concurrent player, per second (`{run}`) | value |",
        "|---|---:|",
        f"| worker CPU (ms) | {_number(player['worker_cpu_ms'])} |",
        f"| Redis CPU (ms) | {_number(player['redis_cpu_ms'])} |",
        f"| Redis commands | {_number(player['redis_commands'])} |",
        f"| Redis bytes (in + out) | {_number(player['redis_in_bytes'] + player['redis_out_bytes'])} |",
        f"| PostgreSQL CPU (ms) | {_number(player['postgres_cpu_ms'])} |",
        f"| DB transactions | {_number(player['db_transactions'])} |",
        f"| DB statements | {_number(player['db_statements'])} |",
        f"| DB write statements | {_number(player['db_write_statements'])} |",
        f"| DB rows written | {_number(player['db_rows_written'])} |",
        f"| DB WAL bytes | {_number(player['db_wal_bytes'])} |",
        "",
        f"Redis ran {commands_per_core_second:,.0f} commands per CPU-second in the moves phase of `{run}`.",
        "",
        f"| concurrent players (`{run}`) | " + " | ".join(f"{players:,}" for players in PLAYERS) + " |",
        "|---|" + "---:|" * len(PLAYERS),
    ]
    sized = [sizing(player, players, pace, memory) for players in PLAYERS]
    rows = (
        ("moves/s", "moves_per_second"),
        ("worker cores busy", "worker_cores_busy"),
        (f"worker processes (one a core, at {pace.utilisation:.0%})", "workers"),
        ("sockets per worker", "sockets_per_worker"),
        (f"worker RSS each (MB: {memory.idle_rss_mb} idle + {socket_kb} KB a socket)", "worker_rss_mb"),
        ("Redis cores busy", "redis_cores_busy"),
        (f"Redis shards (one a core, at {pace.utilisation:.0%})", "redis_shards"),
        ("Redis commands/s", "redis_commands_per_second"),
        ("Redis traffic (MB/s)", "redis_mb_per_second"),
        ("DB transactions/s", "db_transactions_per_second"),
        ("DB write statements/s", "db_write_statements_per_second"),
        ("DB rows written/s", "db_rows_per_second"),
        ("DB WAL (MB/s)", "db_wal_mb_per_second"),
        ("PostgreSQL cores busy (this cluster: fsync off)", "postgres_cores_busy"),
        (f"worker memory for sockets (GB, {socket_kb} KB each)", "socket_memory_gb"),
        (f"Redis memory (GB, {memory.redis_bytes_per_visitor:,.0f} bytes a visitor)", "redis_memory_gb"),
    )
    for title, key in rows:
        lines.append(f"| {title} | " + " | ".join(_number(size[key]) for size in sized) + " |")
    return "\n".join(lines)
