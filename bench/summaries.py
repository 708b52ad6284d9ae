"""What a result keeps of a phase: its counts and the processes' CPU and memory, turned into figures."""

from __future__ import annotations

from typing import Any

from bench.processes import Usage
from bench.scenarios import Plan
from bench.stats import CrowdCounts, PhaseCounts, SetupCounts, distribution


def crowd_summary(
    counts: CrowdCounts, plan: Plan, rooms: int, sockets: bool, servers: Usage, redis: Usage, seconds: float
) -> dict[str, Any]:
    visitors = counts.visitors
    return {
        "visitors": visitors,
        "sockets": sockets,
        "rooms": rooms,
        "class_size": plan.crowd_class,
        "concurrency": plan.crowd_concurrency,
        "pages": counts.pages,
        "connected": counts.connected,
        "seat_takers": counts.seat_takers,
        "seated": counts.seated,
        "failed": sum(counts.failures.values()),
        "failures": dict(counts.failures),
        "errors": dict(counts.errors),
        "closes": dict(counts.closes),
        "connected_seconds": round(counts.last_connected_at, 2),
        "seated_seconds": round(counts.last_seated_at, 2) if counts.seat_takers else None,
        "pages_per_second": round(counts.pages / counts.last_page_at, 1) if counts.last_page_at else None,
        "page_ms": distribution(counts.page_ms),
        "socket_ms": distribution(counts.socket_ms),
        "join_ms": distribution(counts.join_ms),
        "visitor_ms": distribution(counts.visitor_ms),
        "queued_ms": distribution(counts.queued_ms),
        "page_kb": round(counts.page_bytes / counts.pages / 1024, 1) if counts.pages else None,
        "frames": counts.frames,
        "seconds": round(seconds, 2),
        "server_cpu_cores": round(servers.cpu_seconds / seconds, 3),
        "server_cpu_ms_per_visitor": round(servers.cpu_seconds * 1000 / visitors, 2) if visitors else None,
        "redis_cpu_cores": round(redis.cpu_seconds / seconds, 3),
        "client_busiest_core": round(counts.client_busiest_core, 3),
    }


def setup_summary(counts: SetupCounts) -> dict[str, Any]:
    return {
        "sockets": counts.sockets,
        "failed": counts.failed,
        "failures": dict(counts.failures),
        "seconds": round(counts.wall_seconds, 2),
        "sockets_per_second": round(counts.sockets / counts.wall_seconds, 1) if counts.wall_seconds else None,
        "http_ms": distribution(counts.http_ms),
        "websocket_ms": distribution(counts.websocket_ms),
        "join_ms": distribution(counts.join_ms),
        "total_ms": distribution(counts.total_ms),
    }


def phase_summary(
    counts: PhaseCounts, servers: Usage, redis: Usage, seconds: float, commands: dict[str, float] | None = None
) -> dict[str, Any]:
    """One phase's figures; ``commands``: the Redis commands run meanwhile, by name (the servers' and the layer's)."""
    moves = counts.accepted
    commands = commands or {}
    return {
        "moves_per_second": round(counts.moves_per_second, 1),
        "latency_ms": distribution(counts.latencies_ms),
        "sent": counts.sent,
        "accepted": counts.accepted,
        "delivered": counts.delivered,
        "stalled": counts.stalled,
        "lost": counts.lost,
        "unanswered": counts.unanswered,
        "echo_lost": counts.echo_lost,
        "never_arrived": counts.never_arrived,
        "skipped": counts.skipped,
        "resyncs": counts.resyncs,
        "errors": dict(counts.errors),
        "closes": dict(counts.closes),
        "client_cpu_cores": round(counts.client_cpu_seconds / seconds, 3),
        "client_busiest_core": round(counts.client_busiest_core, 3),
        "server_cpu_cores": round(servers.cpu_seconds / seconds, 3),
        "server_cpu_ms_per_move": round(servers.cpu_seconds * 1000 / moves, 3) if moves else None,
        "redis_cpu_cores": round(redis.cpu_seconds / seconds, 3),
        "redis_commands_per_move": round(sum(commands.values()) / moves, 3) if moves else None,
        "redis_commands_by_name_per_move": {name: round(calls / moves, 3) for name, calls in commands.items()}
        if moves
        else {},
        "server_rss_mb": round(servers.rss_bytes / 2**20, 1),
    }


def peaks_by_run(tail: list[dict[str, Any]], peak: list[dict[str, Any]], runs: int) -> list[float]:
    """Run ``i``'s peak: the highest accepted moves/s of its pass over the peak steps and of the ``i``-th tail window.

    The tail counts because its games (500 at a move a second, each with a
    move of its own in flight) can outrun a small peak step, whose games
    wait on each other's answers; a run's figure takes nothing from another
    run's phases, so the runs stay independent measurements.
    """
    return [
        max(
            [step["moves_per_second"] for step in peak if step["run"] == run]
            + [step["moves_per_second"] for step in tail if step["run"] == run],
            default=0.0,
        )
        for run in range(1, runs + 1)
    ]


def per_socket_kb(rss_mb: float, idle_rss_mb: float, sockets: int) -> float:
    return round((rss_mb - idle_rss_mb) * 1024 / sockets, 1)


def machine_busy(before: Any, after: Any) -> float:
    """The share of the machine's CPU time (all cores) that was not idle between two readings."""
    total = sum(after) - sum(before)
    idle = (after.idle + after.iowait) - (before.idle + before.iowait)
    return round(1 - idle / total, 3) if total else 0.0
