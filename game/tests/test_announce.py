"""Every action ends through broadcast.announce: what the admin and the referee change reaches every
socket of the room and the computer, as a socket's own action does."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async

from game.actions import endings, moves, write
from game.models import Room
from game.realtime.computer_turns import computer_players
from game.realtime.referee import referee
from game.web import host_actions
from testing.clients import Socket, make_room, new_session_key

OpenSocket = Callable[..., Awaitable[Socket]]


async def against_the_computer(room: Room, open_socket: OpenSocket) -> tuple[Socket, Socket]:
    """alice (X) playing the perfect computer (O) in ``room``, and a watcher: two sockets of the room."""
    alice = await open_socket(room.code, await new_session_key())
    await alice.join("alice")
    await alice.send({"type": "add_computer", "level": "perfect"})
    await alice.next_state(status="playing")
    watcher = await open_socket(room.code, await new_session_key())
    return alice, watcher


async def test_an_admins_kick_of_the_computer_reaches_every_socket_and_the_computer(
    room: Room, open_socket: OpenSocket
) -> None:
    alice, watcher = await against_the_computer(room, open_socket)
    assert len(computer_players) == 1  # the process plays in this room
    assert await database_sync_to_async(host_actions.kick)(room, "O")
    for socket in (alice, watcher):
        freed = await socket.next_state(status="waiting")
        assert freed["players"]["O"] is None
    # The computer heard it too: the room no longer counts among the games this process plays.
    assert len(computer_players) == 0


async def test_a_referees_flag_reaches_every_socket_and_the_computer(
    open_socket: OpenSocket, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [write.now()]
    monkeypatch.setattr(write, "now", lambda: now[0])
    room = await make_room(name="Bullet", time_control="move:15")
    alice, watcher = await against_the_computer(room, open_socket)
    await alice.send({"type": "move", "cell": 0})
    await alice.next_state(moves=2)  # the computer answered
    second_watcher = await open_socket(room.code, await new_session_key())
    await alice.close()  # alice's time runs on while she is away
    now[0] += timedelta(seconds=15)
    # Nobody sends anything: the referee's flag reaches every socket left...
    for socket in (watcher, second_watcher):
        flagged = await socket.next_state(status="timeout")
        assert (flagged["game"]["winner"], flagged["game"]["reason"]) == ("O", "timeout")
    # ...and the computer, which leaves a finished game whose person has gone.
    for socket in (watcher, second_watcher):
        state = await socket.next_state()
        while state["players"]["O"] is not None:
            state = await socket.next_state()


async def test_a_referees_presence_check_gives_the_computer_a_turn_a_dead_process_never_announced(
    room: Room, open_socket: OpenSocket
) -> None:
    alice, watcher = await against_the_computer(room, open_socket)
    await alice.close()  # her countdown starts: she has left
    await watcher.next_state()
    await _moved_on_a_process_that_died(room, "X", 4)
    # This process's referee sees her gone where the game says she is here, and announces it
    # (its own task may get there first: the same announce, by the same referee).
    await referee.check_presence([room.code])
    countdown = await watcher.next_state(moves=1)
    assert countdown["game"]["board"][4] == "X"
    answered = await watcher.next_state(moves=2)  # the computer takes the turn the dead process lost
    assert answered["game"]["board"].count("O") == 1


@database_sync_to_async
def _moved_on_a_process_that_died(room: Room, mark: str, cell: int) -> None:
    """``mark``'s person came back on another process, which noted them here and committed their move,
    then died before announcing either: their socket there said no goodbye, and nothing told the
    computer its turn. One trip to the database thread, so that no referee round sees half of it."""
    player = write.current_game(room).player(mark)
    assert player is not None
    assert player.session_hash is not None
    assert endings.note_presence(room, frozenset({player.session_hash})) is not None
    moves.play_move(room, player.id, cell)
