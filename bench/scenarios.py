"""What a benchmark run measures: scenarios (app × server × layer × workers) and the plan.

A scenario names everything that differs between two measurements and
nothing else, so every row of docs/performance.md is one scenario string,
e.g. ``tictac/uvicorn/pubsub/2`` (tictac on two uvicorn workers sharing the
pubsub layer).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

APPS = {
    "tictac": "tictac.asgi:application",
    "naive": "bench.naive_asgi:application",
}

_UVICORN = ["-m", "uvicorn", "--host", "127.0.0.1", "--port", "{port}", "--log-level", "warning", "--no-access-log"]

# How each server is started; ``{port}`` is filled in. Access logs are off
# everywhere so a server is not measured writing a line per connection.
SERVERS: dict[str, list[str]] = {
    # -v 0: daphne's access log (one line per connection on stdout at the default -v 1) is off.
    "daphne": ["-m", "daphne", "-b", "127.0.0.1", "-p", "{port}", "-v", "0"],
    # uvicorn[standard] as shipped: uvloop, httptools, the websockets
    # library, and permessage-deflate accepted when the client offers it.
    "uvicorn": [*_UVICORN, "--loop", "uvloop", "--http", "httptools", "--ws", "websockets"],
    # The same without compression: game frames are a few hundred bytes, and
    # a deflate context costs memory per socket and CPU per frame.
    "uvicorn-nodeflate": [
        *_UVICORN,
        *("--loop", "uvloop", "--http", "httptools", "--ws", "websockets"),
        *("--ws-per-message-deflate", "false"),
    ],
    # websockets' Sans-I/O implementation, also without compression.
    "uvicorn-sansio": [
        *_UVICORN,
        *("--loop", "uvloop", "--http", "httptools", "--ws", "websockets-sansio"),
        *("--ws-per-message-deflate", "false"),
    ],
}
# granian (issue 24): a Rust HTTP/WebSocket server running the ASGI app on one worker with uvloop; not
# installed with tictac (measure it with `pip install granian` into the environment, or on PYTHONPATH).
# Its access log is off unless asked for; it serves in a worker process under a supervising one.
SERVERS["granian"] = [
    *("-m", "granian", "--interface", "asgi", "--host", "127.0.0.1", "--port", "{port}"),
    *("--loop", "uvloop", "--workers", "1", "--log-level", "warning"),
]
# How the Docker image serves: uvicorn-sansio with tictac's protocol class, which
# drops each socket's handshake once answered (tictac/servers/uvicorn_websockets.py), and
# glibc's malloc held to two heaps (see SERVER_ENV).
SERVERS["uvicorn-sansio-arenas2"] = [
    *_UVICORN,
    *("--loop", "uvloop", "--http", "httptools", "--ws", "tictac.servers.uvicorn_websockets:WebSocketsSansIOProtocol"),
    *("--ws-per-message-deflate", "false"),
]

# What a server kind adds to the process's environment. glibc gives each
# thread that allocates under contention a heap of its own, up to eight per
# core; tictac's threads (the event loop, the database thread, libuv's
# resolver pool) ended with 16 heaps holding 20 MB of freed memory at 1,000
# sockets. Two heaps took 7 KB per socket off the RSS at no measurable cost in
# throughput (one heap costs a fifth of it): docs/performance.md.
SERVER_ENV: dict[str, dict[str, str]] = {
    "uvicorn-sansio-arenas2": {"MALLOC_ARENA_MAX": "2"},
    "granian": {"MALLOC_ARENA_MAX": "2"},
}

# An app whose processes need settings of their own, wrapped around the layer's (below): the naive
# app serves the baseline page (bench/baseline.py), which bench.baseline_settings adds to the
# layer's settings module, named to it in BENCH_BASE_SETTINGS.
APP_SETTINGS: dict[str, str] = {
    "naive": "bench.baseline_settings",
}

# Channel layers: (TICTAC_CHANNEL_LAYER, DJANGO_SETTINGS_MODULE). "core-stock"
# is RedisChannelLayer with channels-redis's defaults, the baseline;
# "core" is tictac's own core configuration (capacity 5000, expiry 30).
LAYERS: dict[str, tuple[str, str]] = {
    "core-stock": ("core", "bench.settings"),
    "core": ("core", "tictac.settings"),
    "pubsub": ("pubsub", "tictac.settings"),
}


@dataclass(frozen=True)
class Scenario:
    app: str
    server: str
    layer: str
    workers: int = 1

    @classmethod
    def parse(cls, text: str) -> Scenario:
        """``app/server/layer[/workers]``, e.g. ``naive/daphne/core-stock`` or ``tictac/uvicorn/pubsub/2``."""
        parts = text.split("/")
        if len(parts) not in (3, 4):
            raise ValueError(f"a scenario is app/server/layer[/workers], not {text!r}")
        scenario = cls(parts[0], parts[1], parts[2], int(parts[3]) if len(parts) == 4 else 1)
        for value, known in ((scenario.app, APPS), (scenario.server, SERVERS), (scenario.layer, LAYERS)):
            if value not in known:
                raise ValueError(f"{value!r} in {text!r} is not one of {', '.join(known)}")
        if scenario.workers < 1:
            raise ValueError(f"workers must be at least 1 in {text!r}")
        return scenario

    def __str__(self) -> str:
        return f"{self.app}/{self.server}/{self.layer}/{self.workers}"

    @property
    def twin(self) -> Scenario:
        """The same server, layer and workers with the other app: what a ratio compares."""
        return Scenario("naive" if self.app == "tictac" else "tictac", self.server, self.layer, self.workers)


# tictac's chosen server and layer (docs/performance.md says why).
CHOSEN_SERVER = "uvicorn-sansio-arenas2"
CHOSEN_LAYER = "pubsub"
CHOSEN = Scenario("tictac", CHOSEN_SERVER, CHOSEN_LAYER)
"""tictac as served (one worker); the bench plays the computer beside its tail (issue 15's fifth target)."""
STOCK = Scenario("naive", "daphne", "core-stock")


def default_scenarios(quick: bool) -> list[Scenario]:
    """The scenarios behind the issue's targets; ``--scenario`` runs others."""
    scenarios = [STOCK, CHOSEN.twin, CHOSEN]
    if not quick:
        scenarios += [Scenario("tictac", "daphne", "core-stock"), Scenario("tictac", CHOSEN_SERVER, CHOSEN_LAYER, 2)]
    return scenarios


@dataclass(frozen=True)
class Plan:
    """How long and how hard each scenario is driven."""

    ramp_games: tuple[int, ...]
    """Concurrent games at one move per second each, in order (games are added, never removed)."""
    ramp_seconds: float
    peak_games: tuple[int, ...]
    """Concurrent games playing as fast as they can (each move sent as soon as it is the player's turn)."""
    peak_seconds: float
    warmup_seconds: float = 2.0
    move_interval: float = 1.0
    lost_after: float = 5.0
    """A move not seen by the opponent within this long counts as lost (and the game is resynchronised)."""
    stalled_after: float = 1.0
    client_processes: int = 1
    deflate: bool = True
    """Offer permessage-deflate, as browsers do."""
    crowd_visitors: int = 1000
    """Visitors of the crowd, which arrives before the ramp (0: no crowd); bench/crowd.py."""
    crowd_class: int = 30
    """People in each room the crowd's watchers fill: two seat-takers and ``crowd_class - 2`` watchers."""
    crowd_concurrency: int = 50
    """At most this many visitors arriving at once (from their page's first byte to their socket's first frame)."""
    tail_runs: int = 5
    """Measured windows of the top ramp step (the tail), one after another on the same live games."""
    peak_runs: int = 3
    """Passes over the peak steps; the peak's verdicts take the median of their ratios."""
    computer_games: int = 100
    """People playing the computer beside the tail's games, in the chosen scenario (0: no such phase)."""
    computer_level: str = "easy"
    """The computer's level in those games: ``easy`` answers at once, so its games churn fastest (bench.bots_and_humans
    found 100 of them on 3×3 slowed a human game more than 100 ``perfect`` ones on 7×7)."""

    @property
    def max_games(self) -> int:
        return max((*self.ramp_games, *self.peak_games))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


QUICK = Plan(
    ramp_games=(100, 500), ramp_seconds=5, peak_games=(64,), peak_seconds=5, crowd_visitors=200,
    tail_runs=2, peak_runs=2, computer_games=20,
)  # fmt: skip
FULL = Plan(ramp_games=(50, 100, 250, 500), ramp_seconds=10, peak_games=(16, 64, 256), peak_seconds=6)
