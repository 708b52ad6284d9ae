"""``python -m bench.write_cost``: what storing a move costs, in one process, without sockets or Redis.

Issue 24 asks how many statements, transactions and thread hops a move
takes, and what the write costs beside the rest of a move. This plays
random games (the bench's own: legal random moves, then both players ask
for a rematch) through the same entry points the room's socket uses
(``moves.aplay_move`` and ``rematch.arequest_rematch``, on an event loop, so
through group commit and Channels' database thread), on a fresh SQLite
database with tictac's settings, one action at a time as at human pace,
and reports per move:

- statements (by first word) and write transactions, counted on the
  database thread's connection (an execute wrapper);
- trips to the database thread (``database_sync_to_async`` calls);
- the process's CPU (``time.process_time``, every thread) per move, with
  the loop's bookkeeping: and, on its own, what one empty trip to the
  database thread costs.

Run it on a quiet machine, or twice (``--repeat``), and compare like with
like: it is the write's share of a move, not a figure for the targets.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import psutil

RANDOM_SEED = 24


def _setup(directory: Path) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{directory / 'write-cost.sqlite3'}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "tictac.settings"
    os.environ.setdefault("TICTAC_CHANNEL_LAYER", "memory")
    os.environ.setdefault("DJANGO_DEBUG", "0")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


class Counted:
    """Statements on the database thread's connection, by first word."""

    def __init__(self) -> None:
        self.statements: Counter[str] = Counter()

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.statements[sql.split(None, 1)[0].upper()] += 1
        return execute(sql, params, many, context)


async def _play(games: int, counted: Counted) -> dict[str, Any]:
    from asgiref.sync import SyncToAsync
    from channels.db import database_sync_to_async
    from django.db import connection

    from game.actions import identities, moves, rematch, rooms, seating
    from game.domain import rules
    from game.models import FINISHED_STATUSES, Room
    from testing.clients import new_session_key

    def install() -> None:
        if counted not in connection.execute_wrappers:
            connection.execute_wrappers.append(counted)

    await database_sync_to_async(install)()
    room: Room = await database_sync_to_async(rooms.create_room)(name="write cost")
    players = []
    for name in ("alice", "bob"):
        identity = identities.Identity(session_key=await new_session_key())
        game, player = await seating.ajoin(room, identity, name)
        players.append(player.id)
    hops = 0
    executor = SyncToAsync.single_thread_executor
    original = executor.submit

    def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal hops
        hops += 1
        return original(*args, **kwargs)

    chooser = random.Random(RANDOM_SEED)
    counted.statements.clear()
    executor.submit = counting  # type: ignore[method-assign]
    moves_made = 0
    me = psutil.Process()
    threads_before = {thread.id: thread.user_time + thread.system_time for thread in me.threads()}
    loop_before = time.thread_time()
    started = time.process_time()
    try:
        for _ in range(games):
            while game.status not in FINISHED_STATUSES:
                board = rules.Board(room.size, room.win_length, game.cells)
                cell = chooser.choice([index for index, mark in enumerate(board.cells) if mark == rules.EMPTY])
                mover = game.player_x_id if game.turn == rules.X else game.player_o_id
                game = await moves.aplay_move(room, mover, cell)
                moves_made += 1
            for player in players:
                game = await rematch.arequest_rematch(room, player)
    finally:
        executor.submit = original  # type: ignore[method-assign]
    cpu = time.process_time() - started
    loop_cpu = time.thread_time() - loop_before
    threads_after = {thread.id: thread.user_time + thread.system_time for thread in me.threads()}
    other_cpu = sum(seconds - threads_before.get(tid, 0.0) for tid, seconds in threads_after.items() if tid != me.pid)
    statements = dict(counted.statements)
    return {
        "games": games,
        "moves": moves_made,
        "cpu_ms_per_move": cpu * 1000 / moves_made,
        "loop_ms_per_move": loop_cpu * 1000 / moves_made,
        "threads_ms_per_move": other_cpu * 1000 / moves_made,
        "hops_per_move": hops / moves_made,
        "statements_per_move": sum(statements.values()) / moves_made,
        "by_kind_per_move": {kind: round(count / moves_made, 3) for kind, count in sorted(statements.items())},
        "transactions_per_move": statements.get("BEGIN", 0) / moves_made,
    }


async def _empty_hops(count: int) -> float:
    from channels.db import database_sync_to_async

    def nothing() -> None:
        return None

    hop = database_sync_to_async(nothing)
    await hop()
    started = time.process_time()
    for _ in range(count):
        await hop()
    return (time.process_time() - started) * 1000 / count


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.write_cost", description=__doc__.split("\n\n")[0])
    parser.add_argument("--games", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tictac-write-cost-") as scratch:
        _setup(Path(scratch))
        counted = Counted()
        runs = [asyncio.run(_play(args.games, counted)) for _ in range(args.repeat)]
        hop_ms = [asyncio.run(_empty_hops(2000)) for _ in range(args.repeat)]
    last = runs[-1]
    cpu = ", ".join(f"{run['cpu_ms_per_move']:.3f}" for run in runs)
    print(
        f"{last['moves']} moves in {args.games} games (and two rematch requests a game), {args.repeat} runs:\n"
        f"  CPU per move (the write, the trip, the loop's bookkeeping): "
        f"{cpu} ms "
        f"(median {statistics.median(run['cpu_ms_per_move'] for run in runs):.3f})\n"
        f"  of which the event loop's thread {last['loop_ms_per_move']:.3f} ms, the others' "
        f"{last['threads_ms_per_move']:.3f} ms (the last run)\n"
        f"  trips to the database thread per move: {last['hops_per_move']:.3f}\n"
        f"  statements per move: {last['statements_per_move']:.3f} {last['by_kind_per_move']}\n"
        f"  write transactions per move: {last['transactions_per_move']:.3f}\n"
        f"  an empty trip to the database thread: {', '.join(f'{ms:.3f}' for ms in hop_ms)} ms of CPU"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
