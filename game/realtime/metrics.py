"""Prometheus metrics of this process, served at /metrics.

Counters and the latency histogram are per process (scrape every worker);
rooms and games in play are read from the database at scrape time, so every
worker reports the same totals for them.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.core import REGISTRY, GaugeMetricFamily
from prometheus_client.registry import Collector

from game.models import Game, Room, Status

OPEN_SOCKETS = Gauge("tictac_open_sockets", "Room WebSocket connections open in this process")
MOVES_ACCEPTED = Counter("tictac_moves_accepted", "Moves judged legal and persisted")
MESSAGES_REFUSED = Counter("tictac_messages_refused", "Client messages refused, by error code", ["code"])
MESSAGE_SECONDS = Histogram(
    "tictac_message_seconds",
    "Time to handle one client message, from receipt to its answer or broadcast",
    ["type"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
SOCKETS_HUNG_UP = Counter("tictac_sockets_hung_up", "Sockets the server closed, by reason", ["reason"])
BROADCASTS_FAILED = Counter("tictac_broadcasts_failed", "Group sends that failed (Redis unreachable)")


class _DatabaseCollector(Collector):
    def describe(self) -> Iterator[GaugeMetricFamily]:
        # Lets the registry learn the names without a query at import time.
        yield GaugeMetricFamily("tictac_rooms_open", "Rooms open to players")
        yield GaugeMetricFamily("tictac_games_in_play", "Games being played now")

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily("tictac_rooms_open", "Rooms open to players", value=Room.objects.open().count())
        yield GaugeMetricFamily(
            "tictac_games_in_play", "Games being played now", value=Game.objects.filter(status=Status.PLAYING).count()
        )


REGISTRY.register(_DatabaseCollector())
