"""Do 100 games against the computer slow the human games beside them? (issue 14)

Starts one uvicorn worker on 127.0.0.1 with its own Redis and SQLite, then
measures the round trip of a human game's moves (a move sent, its state
back) three ways: alone; beside 100 rooms where a person plays the perfect
computer on 7×7 (k=4, so every computer move is a real search); and beside
100 rooms playing the easy computer on 3×3. The people facing the computer
move at a person's pace (about once a second); the measured game moves as
fast as its answers come back. The computer's searches run in
the worker's own search process (game.realtime.computer_turns), never on the event loop.

    .venv/bin/python -m bench.bots_and_humans [--bots 100] [--moves 200]
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
from pathlib import Path
from typing import Any

import websockets

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tictac.settings")

from bench.computer import next_state, play_the_computer  # noqa: E402
from bench.processes import ONE_ADDRESS_LIMITS_OFF  # noqa: E402
from testing.live import Browser, LiveServer, migrated_sqlite  # noqa: E402
from tictac.embedded_redis import EmbeddedRedis  # noqa: E402

# The measured game moves as fast as its answers come back, past a person's 20 a second.
LIMITS_OFF = {**ONE_ADDRESS_LIMITS_OFF, "TICTAC_MESSAGES_PER_SECOND": "1000000"}


def post_form(server: LiveServer, browser: Browser, path: str, fields: dict[str, str]) -> str:
    browser.visit(server, "/")
    token = next(cookie.value for cookie in browser.jar if cookie.name == "csrftoken")
    data = urllib.parse.urlencode({**fields, "csrfmiddlewaretoken": token}).encode()
    request = urllib.request.Request(server.url + path, data=data, headers={"Referer": server.url + "/"})
    with browser.opener.open(request, timeout=30) as response:
        return str(response.url.rstrip("/").rsplit("/", 1)[1])


async def open_socket(server: LiveServer, browser: Browser, code: str) -> websockets.ClientConnection:
    ws = await websockets.connect(f"{server.ws_url}/ws/rooms/{code}/", additional_headers=browser.ws_headers(server))
    await ws.recv()
    return ws


async def human_round_trips(server: LiveServer, moves: int) -> list[float]:
    """Two people on a 3×3 board, rematching as they go: each move's time to its state, in ms."""
    alice, bob = Browser(), Browser()
    code = post_form(server, alice, "/rooms/", {"name": "humans"})
    bob.visit(server, f"/rooms/{code}/")
    sockets = {"alice": await open_socket(server, alice, code), "bob": await open_socket(server, bob, code)}
    await sockets["bob"].send(json.dumps({"type": "join", "name": "bob"}))
    state = await next_state(sockets["bob"])
    while state["game"]["status"] != "playing":
        state = await next_state(sockets["bob"])
    marks = {"alice": "X", "bob": "O"}
    timings: list[float] = []
    rng = random.Random(3)
    while len(timings) < moves:
        game: dict[str, Any] = state["game"]
        if game["status"] == "playing":
            mover = next(name for name, mark in marks.items() if mark == game["turn"])
            cell = rng.choice([index for index, mark in enumerate(game["board"]) if not mark])
            started = time.perf_counter()
            await sockets[mover].send(json.dumps({"type": "move", "cell": cell}))
            state = await next_state(sockets[mover])
            while state["game"]["moves"] != game["moves"] + 1 or state["game"]["id"] != game["id"]:
                state = await next_state(sockets[mover])
            timings.append((time.perf_counter() - started) * 1000)
        else:
            for name in sockets:
                await sockets[name].send(json.dumps({"type": "rematch"}))
            state = await next_state(sockets["alice"])
            while state["game"]["number"] == game["number"]:
                state = await next_state(sockets["alice"])
            marks = {name: "O" if mark == "X" else "X" for name, mark in marks.items()}
    for ws in sockets.values():
        await ws.close()
    return timings


async def run(bots: int, moves: int, level: str, size: int, win_length: int, server: LiveServer) -> list[float]:
    stop = asyncio.Event()
    players = []
    for number in range(bots):
        browser = Browser()
        code = post_form(
            server, browser, "/rooms/", {"name": f"bot {number}", "size": str(size), "win_length": str(win_length)}
        )
        ws = await open_socket(server, browser, code)
        await ws.send(json.dumps({"type": "add_computer", "level": level}))
        players.append(asyncio.create_task(play_the_computer(ws, stop, random.Random(number))))
    timings = await human_round_trips(server, moves)
    stop.set()
    played = sum(await asyncio.gather(*players))
    print(f"  (the {bots} people moved {played} times against the computer meanwhile)")
    return timings


def report(label: str, timings: list[float]) -> None:
    ordered = sorted(timings)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    print(f"{label:48s} p50 {statistics.median(ordered):6.1f} ms   p99 {p99:6.1f} ms   ({len(ordered)} moves)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bots", type=int, default=100)
    parser.add_argument("--moves", type=int, default=200)
    args = parser.parse_args()
    redis = EmbeddedRedis().start()
    os.environ["REDIS_URL"] = redis.url
    with tempfile.TemporaryDirectory() as directory:
        database = migrated_sqlite(Path(directory))
        server = LiveServer("uvicorn", database, Path(directory) / "uvicorn.log", **LIMITS_OFF).start()
        try:
            report("human game alone", asyncio.run(run(0, args.moves, "easy", 3, 3, server)))
            report(
                f"beside {args.bots} games against perfect (7x7, k=4)",
                asyncio.run(run(args.bots, args.moves, "perfect", 7, 4, server)),
            )
            report(
                f"beside {args.bots} games against easy (3x3)",
                asyncio.run(run(args.bots, args.moves, "easy", 3, 3, server)),
            )
        finally:
            server.stop()
            redis.stop()


if __name__ == "__main__":
    main()
