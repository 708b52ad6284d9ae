"""Every socket sees every move, in order (docs/protocol.md: `moves` never skips), even while
two tabs of one player on two processes and their opponent all send moves as fast as they can."""

from __future__ import annotations

import asyncio
import random

import pytest
from channels.db import database_sync_to_async

from game.actions import rooms
from game.models import Room
from testing.clients import LiveSocket, ProtocolClient, Socket, new_room, new_session_key, seated
from testing.live import Browser, LiveServer

SIZE = 5  # 25 cells: a long game, many turns to race on


async def _play_and_watch(socket: ProtocolClient, mark: str | None, seed: int) -> list[int]:
    """Read states until the game is over, the `moves` of every state this socket was sent.

    A player's socket sends a move to a random free cell (of the last board it saw) with
    every message it reads, its turn or not: one move always in flight, as fast as it can.
    """
    rng = random.Random(seed)
    assert socket.state is not None
    seen = [socket.state["game"]["moves"]]
    game = socket.state["game"]
    while True:
        if mark is not None:
            free = [cell for cell, taken in enumerate(game["board"]) if not taken]
            await socket.send({"type": "move", "cell": rng.choice(free)})
        message = await socket.receive()
        if message["type"] != "state":  # a lost race's refusal
            continue
        game = message["game"]
        seen.append(game["moves"])
        if game["status"] != "playing":
            return seen


def _assert_saw_every_move_in_order(seen: list[int], final: int) -> None:
    assert seen == sorted(seen), seen  # never an older state after a newer one
    assert set(range(seen[0], final + 1)) <= set(seen), seen  # and no move skipped


async def _race(x_tabs: list[ProtocolClient], o: ProtocolClient, watcher: ProtocolClient) -> None:
    players: list[tuple[ProtocolClient, str | None]] = [*((tab, "X") for tab in x_tabs), (o, "O"), (watcher, None)]
    seen = await asyncio.wait_for(
        asyncio.gather(*(_play_and_watch(socket, mark, seed) for seed, (socket, mark) in enumerate(players))), 60
    )
    final = max(max(moves) for moves in seen)
    assert final >= 9  # a real game was raced through
    for moves in seen:
        _assert_saw_every_move_in_order(moves, final)


async def test_every_socket_sees_every_move_in_order_on_one_process(transactional_db: None) -> None:
    room: Room = await database_sync_to_async(rooms.create_room)(name="race", size=SIZE, win_length=SIZE)
    alice_key, bob_key = await new_session_key(), await new_session_key()
    alice = await Socket.open(room.code, alice_key)
    await alice.join("alice")
    bob = await Socket.open(room.code, bob_key)
    await bob.join("bob")
    alice_tab = await Socket.open(room.code, alice_key)
    watcher = await Socket.open(room.code)
    sockets = [alice, alice_tab, bob, watcher]
    try:
        for socket in sockets:  # each starts from the room as it is now
            await socket.fresh_state()
        await _race([alice, alice_tab], bob, watcher)
    finally:
        for socket in sockets:
            await socket.close()


@pytest.mark.live
@pytest.mark.parametrize("two_servers", ["uvicorn"], indirect=True)
async def test_every_socket_sees_every_move_in_order_across_two_processes(two_servers: list[LiveServer]) -> None:
    first, second = two_servers
    alice_browser, bob_browser = Browser(), Browser()
    code = new_room(first, alice_browser, size=SIZE, win_length=SIZE)
    alice = await seated(alice_browser, first, code, "alice")
    bob = await seated(bob_browser, second, code, "bob")
    alice_tab = await LiveSocket.open(second.ws_url, code, alice_browser.ws_headers(second), alice_browser.session_key)
    watcher_browser = Browser()
    watcher_browser.visit(first, f"/rooms/{code}/")
    watcher = await LiveSocket.open(first.ws_url, code, watcher_browser.ws_headers(first))
    sockets = [alice, alice_tab, bob, watcher]
    try:
        for socket in sockets:
            await socket.fresh_state()
        await _race([alice, alice_tab], bob, watcher)
    finally:
        for socket in sockets:
            await socket.close()
