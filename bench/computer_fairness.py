"""Is the computer fair to everyone? An honest player's replies beside 24 big-board games from one address (issue 22).

Starts one uvicorn worker on 127.0.0.1 with its own Redis and SQLite, behind
a pretend proxy (``TICTAC_TRUSTED_PROXY_COUNT=1``: each client says its
address in ``X-Forwarded-For``), then measures how long the computer takes
to answer an honest person's move (the move sent, the computer's move back):

1. an honest person on 3×3 against the perfect computer, alone;
2. the same beside a flood: ``--flood`` (24) games against the perfect
   computer on 15×15 (k=5), all from one address, each from a fresh session
   (``POST /play/computer/``), each answering the computer at once, so every
   one of them always has a search wanting the search process; and beside
   them an honest person on 15×15 from a third address, whose replies show
   the scheduler's turn-taking (each perfect 15×15 search takes up to its
   0.8 s budget).

The flood's address is allowed all 24 games (``TICTAC_MAX_SEARCHED_BOT_GAMES_PER_ADDRESS``
and ``TICTAC_MAX_QUEUED_SEARCHES`` are lifted): with the defaults it would be
refused after four, so this is the worst the scheduler alone must handle.
Target: the honest 3×3 replies' p99 ≤ 100 ms beside the flood.

    .venv/bin/python -m bench.computer_fairness [--flood 24] [--replies 300] [--big-replies 6]
    python3 run.py bench --computer-fairness [same options]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import websockets

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tictac.settings")

from bench.computer import next_state  # noqa: E402
from bench.processes import ONE_ADDRESS_LIMITS_OFF  # noqa: E402
from testing.live import Browser, LiveServer, migrated_sqlite  # noqa: E402
from tictac.embedded_redis import EmbeddedRedis  # noqa: E402

RESULTS = ROOT / "bench" / "results"
FLOOD_ADDRESS = "203.0.113.66"
HONEST_ADDRESS = "198.51.100.7"
HONEST_BIG_ADDRESS = "192.0.2.15"
TARGET_P99_MS = 100.0

SERVER_ENV = {
    **ONE_ADDRESS_LIMITS_OFF,
    "TICTAC_MESSAGES_PER_SECOND": "1000000",
    "TICTAC_TRUSTED_PROXY_COUNT": "1",
    "TICTAC_MAX_SEARCHED_BOT_GAMES_PER_ADDRESS": "1000000",
    "TICTAC_MAX_QUEUED_SEARCHES": "1000000",
    "TICTAC_COMPUTER_GAMES_PER_ADDRESS_PER_HOUR": "1000000",
}


def play_the_computer_page(server: LiveServer, browser: Browser, address: str, size: int, win_length: int) -> str:
    """``POST /play/computer/`` (perfect, on size×win_length) from ``address``: the room's code."""
    browser.visit(server, "/")
    token = next(cookie.value for cookie in browser.jar if cookie.name == "csrftoken")
    fields = {"level": "perfect", "size": str(size), "win_length": str(win_length), "csrfmiddlewaretoken": token}
    request = urllib.request.Request(
        server.url + "/play/computer/",
        data=urllib.parse.urlencode(fields).encode(),
        headers={"Referer": server.url + "/", "X-Forwarded-For": address},
    )
    with browser.opener.open(request, timeout=30) as response:
        return str(response.url.rstrip("/").rsplit("/", 1)[1])


async def seated_socket(
    server: LiveServer, address: str, size: int, win_length: int
) -> tuple[websockets.ClientConnection, dict[str, Any]]:
    browser = Browser()
    code = await asyncio.to_thread(play_the_computer_page, server, browser, address, size, win_length)
    headers = {**browser.ws_headers(server), "X-Forwarded-For": address}
    ws = await websockets.connect(f"{server.ws_url}/ws/rooms/{code}/", additional_headers=headers, max_size=None)
    return ws, await next_state(ws)


async def flood_game(ws: websockets.ClientConnection, state: dict[str, Any], stop: asyncio.Event, seed: int) -> int:
    """Answer the computer at once, with random moves, rematching as games end, until ``stop``: moves made."""
    rng = random.Random(seed)
    moves = 0
    while not stop.is_set():
        game = state["game"]
        you = state["you"]["mark"]
        if game["status"] == "playing" and game["turn"] == you:
            cell = rng.choice([index for index, mark in enumerate(game["board"]) if not mark])
            await ws.send(json.dumps({"type": "move", "cell": cell}))
            moves += 1
        elif game["status"] not in ("playing", "waiting") and you not in game["rematch"]:
            await ws.send(json.dumps({"type": "rematch"}))
        try:
            state = await asyncio.wait_for(next_state(ws), 2)
        except TimeoutError:
            continue
    return moves


async def honest_replies(server: LiveServer, address: str, size: int, win_length: int, replies: int) -> list[float]:
    """A person on size×win_length against the perfect computer: how long each of its answers took, in ms."""
    ws, state = await seated_socket(server, address, size, win_length)
    rng = random.Random(7)
    timings: list[float] = []
    while len(timings) < replies:
        game = state["game"]
        you = state["you"]["mark"]
        if game["status"] == "playing" and game["turn"] == you:
            cell = rng.choice([index for index, mark in enumerate(game["board"]) if not mark])
            started = time.perf_counter()
            await ws.send(json.dumps({"type": "move", "cell": cell}))
            state = await next_state(ws)
            while state["game"]["id"] == game["id"] and state["game"]["moves"] < game["moves"] + 1:
                state = await next_state(ws)
            if state["game"]["status"] == "playing":  # the computer's answer is due
                while state["game"]["status"] == "playing" and state["game"]["turn"] != you:
                    state = await next_state(ws)
                timings.append((time.perf_counter() - started) * 1000)
            continue
        if game["status"] not in ("playing", "waiting") and you not in game["rematch"]:
            await ws.send(json.dumps({"type": "rematch"}))
        state = await next_state(ws)
    await ws.close()
    return timings


def summary(timings: list[float]) -> dict[str, float]:
    ordered = sorted(timings)
    return {
        "replies": len(ordered),
        "p50_ms": round(statistics.median(ordered), 1),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 1),
        "max_ms": round(ordered[-1], 1),
    }


async def measure(server: LiveServer, flood: int, replies: int, big_replies: int) -> dict[str, Any]:
    results: dict[str, Any] = {"alone_3x3": summary(await honest_replies(server, HONEST_ADDRESS, 3, 3, replies))}
    print(f"  honest 3x3 alone: {results['alone_3x3']}", flush=True)
    stop = asyncio.Event()
    seated = [await seated_socket(server, FLOOD_ADDRESS, 15, 5) for _ in range(flood)]
    games = [asyncio.create_task(flood_game(ws, state, stop, number)) for number, (ws, state) in enumerate(seated)]
    honest_small, honest_big = await asyncio.gather(
        honest_replies(server, HONEST_ADDRESS, 3, 3, replies),
        honest_replies(server, HONEST_BIG_ADDRESS, 15, 5, big_replies),
    )
    stop.set()
    flood_moves = sum(await asyncio.gather(*games))
    for ws, _ in seated:
        await ws.close()
    results["beside_flood_3x3"] = summary(honest_small)
    results["beside_flood_15x15"] = summary(honest_big)
    results["flood_moves"] = flood_moves
    print(f"  honest 3x3 beside {flood} 15x15 games from one address: {results['beside_flood_3x3']}", flush=True)
    print(f"  honest 15x15 beside them: {results['beside_flood_15x15']}", flush=True)
    print(f"  (the flood moved {flood_moves} times meanwhile)", flush=True)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flood", type=int, default=24, help="15×15 perfect games from one address (default 24)")
    parser.add_argument("--replies", type=int, default=300, help="honest 3×3 replies measured per phase")
    parser.add_argument("--big-replies", type=int, default=6, help="honest 15×15 replies measured beside the flood")
    args = parser.parse_args(argv)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    load_before = os.getloadavg()
    print(f"computer fairness {stamp}: load average {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}")
    redis = EmbeddedRedis().start()
    os.environ["REDIS_URL"] = redis.url
    with tempfile.TemporaryDirectory() as directory:
        database = migrated_sqlite(Path(directory))
        server = LiveServer("uvicorn", database, Path(directory) / "uvicorn.log", **SERVER_ENV).start()
        try:
            results = asyncio.run(measure(server, args.flood, args.replies, args.big_replies))
        finally:
            server.stop()
            redis.stop()
    p99 = results["beside_flood_3x3"]["p99_ms"]
    verdict = "met" if p99 <= TARGET_P99_MS else "missed"
    print(f"target: honest 3x3 p99 beside the flood {p99} ms <= {TARGET_P99_MS:.0f} ms: {verdict}")
    document = {
        "started": stamp,
        "load_average": [*load_before, *os.getloadavg()],
        "cpus": os.cpu_count(),
        "flood": args.flood,
        "results": results,
        "target_p99_ms": TARGET_P99_MS,
        "verdict": verdict,
    }
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{stamp}-computer-fairness.json"
    path.write_text(json.dumps(document, indent=2) + "\n")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
