"""What a phase of load measured, and how results from several client processes add up."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

COUNTERS = ("sent", "accepted", "delivered", "lost", "unanswered", "echo_lost", "skipped", "stalled", "resyncs")


@dataclass
class PhaseCounts:
    """One client process's account of one phase (or several processes', merged)."""

    window_seconds: float = 0.0
    sent: int = 0
    accepted: int = 0
    """Moves whose mover saw its own move come back inside the measured window: the throughput."""
    delivered: int = 0
    lost: int = 0
    """Seen by the mover (the server took it) but not by the opponent within ``lost_after``."""
    unanswered: int = 0
    """Seen by neither player within ``lost_after``."""
    echo_lost: int = 0
    """Delivered to the opponent, but the mover never saw its own move."""
    skipped: int = 0
    """The opponent saw a later state without seeing this move's (a gap in ``moves``)."""
    stalled: int = 0
    """Delivered, but later than ``stalled_after``."""
    resyncs: int = 0
    """Games that stopped moving and were resynchronised."""
    errors: Counter[str] = field(default_factory=Counter)
    closes: Counter[str] = field(default_factory=Counter)
    """Sockets the server closed, by close code."""
    latencies_ms: list[float] = field(default_factory=list)
    client_cpu_seconds: float = 0.0
    client_busiest_core: float = 0.0
    """The busiest client process's CPU time over wall time (1.0 = one core saturated)."""

    def merge(self, other: PhaseCounts) -> PhaseCounts:
        for name in COUNTERS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors.update(other.errors)
        self.closes.update(other.closes)
        self.latencies_ms.extend(other.latencies_ms)
        self.client_cpu_seconds += other.client_cpu_seconds
        self.client_busiest_core = max(self.client_busiest_core, other.client_busiest_core)
        self.window_seconds = max(self.window_seconds, other.window_seconds)
        return self

    @property
    def never_arrived(self) -> int:
        return self.lost + self.unanswered + self.echo_lost

    @property
    def moves_per_second(self) -> float:
        return self.accepted / self.window_seconds if self.window_seconds else 0.0


@dataclass
class SetupCounts:
    """How long players took to get a session, open their socket and take a seat."""

    sockets: int = 0
    failed: int = 0
    wall_seconds: float = 0.0
    http_ms: list[float] = field(default_factory=list)
    websocket_ms: list[float] = field(default_factory=list)
    """Handshake until the first frame the server sends (tictac's ``state``), or the handshake alone (naive)."""
    join_ms: list[float] = field(default_factory=list)
    total_ms: list[float] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)

    def merge(self, other: SetupCounts) -> SetupCounts:
        self.sockets += other.sockets
        self.failed += other.failed
        self.wall_seconds = max(self.wall_seconds, other.wall_seconds)
        self.http_ms.extend(other.http_ms)
        self.websocket_ms.extend(other.websocket_ms)
        self.join_ms.extend(other.join_ms)
        self.total_ms.extend(other.total_ms)
        self.failures.update(other.failures)
        return self


@dataclass
class CrowdCounts:
    """A crowd's arrival: visitors load a page, open a socket, and half of them take a seat.

    Moments are seconds after the crowd's start (``start_at``, one clock for
    every client process), so processes' counts merge by taking the latest.
    """

    visitors: int = 0
    pages: int = 0
    """Pages loaded in full (status 200, with a session cookie)."""
    connected: int = 0
    """Sockets that got their first frame (tictac's ``state``) or, on the naive relay, finished the handshake."""
    seat_takers: int = 0
    seated: int = 0
    """Seat-takers whose ``join`` was answered with a ``state`` giving them a mark."""
    page_ms: list[float] = field(default_factory=list)
    """From opening the page's TCP connection to the last byte of its body."""
    socket_ms: list[float] = field(default_factory=list)
    """From the page's last byte to the socket's first frame (the handshake on the naive relay)."""
    join_ms: list[float] = field(default_factory=list)
    visitor_ms: list[float] = field(default_factory=list)
    """From the page's first byte to the socket's first frame: what one visitor waits."""
    queued_ms: list[float] = field(default_factory=list)
    """From the crowd's start until the visitor's turn (the load generator's bound on visitors arriving at once)."""
    last_page_at: float = 0.0
    last_connected_at: float = 0.0
    last_seated_at: float = 0.0
    page_bytes: int = 0
    frames: int = 0
    """Frames the crowd's sockets received while it arrived (presence updates to everyone in a room)."""
    failures: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    """``error`` frames by code (a seat-taker refused, say)."""
    closes: Counter[str] = field(default_factory=Counter)
    """Sockets the server closed while the crowd was there, by close code."""
    client_cpu_seconds: float = 0.0
    client_busiest_core: float = 0.0

    def merge(self, other: CrowdCounts) -> CrowdCounts:
        for name in ("visitors", "pages", "connected", "seat_takers", "seated", "page_bytes", "frames"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name in ("page_ms", "socket_ms", "join_ms", "visitor_ms", "queued_ms"):
            getattr(self, name).extend(getattr(other, name))
        for name in ("last_page_at", "last_connected_at", "last_seated_at"):
            setattr(self, name, max(getattr(self, name), getattr(other, name)))
        self.failures.update(other.failures)
        self.errors.update(other.errors)
        self.closes.update(other.closes)
        self.client_cpu_seconds += other.client_cpu_seconds
        self.client_busiest_core = max(self.client_busiest_core, other.client_busiest_core)
        return self


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile (no interpolation: every reported value was observed)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))]


def distribution(values: list[float]) -> dict[str, Any]:
    """Count, p50/p90/p99 and max of some milliseconds, rounded for people."""
    if not values:
        return {"count": 0}
    ordered = sorted(values)
    return {
        "count": len(ordered),
        "p50": round(percentile(ordered, 0.50), 2),
        "p90": round(percentile(ordered, 0.90), 2),
        "p99": round(percentile(ordered, 0.99), 2),
        "max": round(ordered[-1], 2),
    }
