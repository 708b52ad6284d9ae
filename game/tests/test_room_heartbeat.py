"""The room heartbeat (game/realtime/local_sockets.py, ``RoomConsumer.room_heartbeat``): each process tells its rooms'
groups, through the channel layer and a real Redis, the newest game version it knows; a socket passes it on to
its page, and one that has shown less reads the room again. Each test runs one round itself
(``send_room_heartbeats``); the job's own rounds are an hour apart here."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from channels.db import database_sync_to_async

from game.actions import moves, write
from game.models import Room
from game.realtime.local_sockets import local_sockets
from game.storage.cached_games import game_cache
from testing.clients import Socket

OpenSocket = Callable[..., Awaitable[Socket]]

current_game = database_sync_to_async(write.current_game)


@pytest.fixture(autouse=True)
def heartbeat_rounds_an_hour_apart(settings: Any) -> None:
    """Only the test's own rounds: none of the job's comes in between."""
    settings.TICTAC = {**settings.TICTAC, "HEARTBEAT_SECONDS": 3600}


async def messages_until_heartbeat(socket: Socket) -> list[dict[str, Any]]:
    """What the socket receives up to and with the next heartbeat."""
    received = [await socket.receive()]
    while received[-1]["type"] != "heartbeat":
        received.append(await socket.receive())
    return received


async def test_every_socket_of_a_room_hears_a_heartbeat_with_its_game_number_and_version(
    room: Room, players: tuple[Socket, Socket], open_socket: OpenSocket
) -> None:
    alice, bob = players
    watcher = await open_socket(room.code)
    await alice.send({"type": "move", "cell": 4})
    moved = (await alice.next_state(moves=1))["game"]
    await local_sockets.send_room_heartbeats()
    for socket in (alice, bob, watcher):
        beat = await socket.next_message("heartbeat")
        assert beat == {"type": "heartbeat", "number": moved["number"], "version": moved["version"]}


async def test_a_socket_that_missed_a_state_gets_the_fresh_one_with_the_next_heartbeat(
    room: Room, players: tuple[Socket, Socket]
) -> None:
    """The subscribe race: a change was published before the socket's subscription reached Redis. Here it is
    made through the service layer and never published at all."""
    alice, bob = players
    await alice.fresh_state()
    shown = await bob.fresh_state()
    game = await current_game(room)
    assert (game.number, game.version) == (shown["game"]["number"], shown["game"]["version"])
    await moves.aplay_move(room, game.player_x_id, 4)  # unpublished
    await local_sockets.send_room_heartbeats()
    received = await messages_until_heartbeat(bob)
    states = [message for message in received if message["type"] == "state"]
    assert [state["game"]["moves"] for state in states] == [1]
    assert states[0]["game"]["board"][4] == "X"
    assert received[-1] == {"type": "heartbeat", "number": game.number, "version": game.version + 1}
    assert [message["type"] for message in await messages_until_heartbeat(alice)] == ["state", "heartbeat"]


async def test_a_socket_up_to_date_gets_the_heartbeat_alone(room: Room, players: tuple[Socket, Socket]) -> None:
    _, bob = players
    await bob.fresh_state()
    await local_sockets.send_room_heartbeats()
    assert [message["type"] for message in await messages_until_heartbeat(bob)] == ["heartbeat"]


async def test_the_heartbeat_goes_on_once_the_process_has_dropped_its_copy_of_the_game(
    room: Room, players: tuple[Socket, Socket]
) -> None:
    """Its sockets' shown states still say which version the room is at (a failed batch drops every copy)."""
    _, bob = players
    shown = (await bob.fresh_state())["game"]
    game_cache.reset()
    await local_sockets.send_room_heartbeats()
    assert await bob.next_message("heartbeat") == {
        "type": "heartbeat",
        "number": shown["number"],
        "version": shown["version"],
    }


async def test_the_sockets_behind_a_heartbeat_share_one_read_of_the_room_unless_it_was_for_an_older_version(
    room: Room, players: tuple[Socket, Socket]
) -> None:
    game = await current_game(room)
    version = (game.number, game.version)
    first, second = await asyncio.gather(
        local_sockets.state_at_least(room, version), local_sockets.state_at_least(room, version)
    )
    assert first is second
    older, newer = await asyncio.gather(
        local_sockets.state_at_least(room, version),
        local_sockets.state_at_least(room, (game.number, game.version + 1)),
    )
    assert older is not newer
    assert newer.stamp[:2] == version
