"""A move's state is built from the presence this process carries, not from a read of Redis; presence comes to
the process with the states that announce a change, and from the referee's rounds; a reading past the reuse
limit is read again. And every socket of a room is sent the same bytes but for its own ``you``."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

import pytest
from channels.layers import get_channel_layer
from django.conf import settings

from game.actions import write
from game.messages import state
from game.models import Room, session_hash
from game.realtime import presence_readings, referee
from game.realtime.local_sockets import local_sockets
from game.realtime.presence import PresenceSnapshot, RedisPresence, presence, stores
from game.realtime.presence_readings import last_presence
from game.realtime.referee import Referee
from game.realtime.shards import room_group
from testing.clients import Socket, new_session_key

OpenSocket = Callable[..., Awaitable[Socket]]


class CountedPresence(RedisPresence):
    """The Redis store, counting the reads of one room's presence (what a state built for a change makes).

    The referee's rounds read through ``snapshots`` and are not counted."""

    def __init__(self) -> None:
        super().__init__(settings.REDIS_URLS, settings.TICTAC["PRESENCE_TTL_SECONDS"])
        self.room_reads = 0

    async def snapshot(self, room_code: str) -> PresenceSnapshot:
        self.room_reads += 1
        return await super().snapshot(room_code)


@pytest.fixture
def counted() -> CountedPresence:
    store = CountedPresence()
    stores.use(store)
    return store


@pytest.fixture(autouse=True)
def no_referee_rounds_of_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests run the referee's round themselves, when they mean to."""
    monkeypatch.setattr(referee, "PRESENCE_CHECK_EVERY_SECONDS", 3600.0)


async def _unannounced_spectator(room: Room) -> None:
    """A socket in the room's presence that no state announced (as one whose worker then died)."""
    await presence().add(room.code, "socket-on-no-process", await new_session_key())


async def test_a_moves_state_reads_no_presence_from_redis(
    counted: CountedPresence, players: tuple[Socket, Socket]
) -> None:
    alice, bob = players
    counted.room_reads = 0
    await alice.send({"type": "move", "cell": 0})
    await bob.next_state(moves=1)
    await bob.send({"type": "move", "cell": 4})
    await alice.next_state(moves=2)
    assert counted.room_reads == 0


async def test_a_state_announcing_a_change_brings_its_presence_to_the_next_move_here(
    room: Room, counted: CountedPresence, players: tuple[Socket, Socket]
) -> None:
    """Another process announces a spectator: this process keeps the reading the state carried, and its next
    move shows the spectator without reading Redis."""
    alice, bob = players
    await _unannounced_spectator(room)
    game = await write.acurrent_game(room)
    announced = state.build(room, game, await RedisPresence(settings.REDIS_URLS, 30).snapshot(room.code))
    layer = get_channel_layer()
    assert layer is not None
    await layer.group_send(room_group(room.code), state.state_event(announced))
    assert (await bob.next_state())["spectators"] == 1
    counted.room_reads = 0
    await alice.send({"type": "move", "cell": 0})
    assert (await bob.next_state(moves=1))["spectators"] == 1
    assert counted.room_reads == 0


async def test_a_state_from_a_reused_reading_carries_no_presence(room: Room, players: tuple[Socket, Socket]) -> None:
    game = await write.acurrent_game(room)
    seen = await presence().snapshot(room.code)
    assert "presence" in state.state_event(state.build(room, game, seen))
    assert "presence" not in state.state_event(state.build(room, game, seen, read_for_it=False))


async def test_the_referees_round_brings_presence_that_expired_unannounced_to_the_next_move(
    room: Room, counted: CountedPresence, players: tuple[Socket, Socket]
) -> None:
    alice, bob = players
    await _unannounced_spectator(room)
    await Referee().check_presence([room.code])
    counted.room_reads = 0
    await alice.send({"type": "move", "cell": 0})
    assert (await bob.next_state(moves=1))["spectators"] == 1
    assert counted.room_reads == 0


async def test_the_referees_round_keeps_an_unchanged_reading_under_its_own_read_time(
    room: Room, players: tuple[Socket, Socket]
) -> None:
    """Confirmed, a reading keeps its stamp: states built from it stay in order with those built before."""
    kept = last_presence.last(room.code)
    assert kept is not None
    await Referee().check_presence([room.code])
    assert last_presence.last(room.code) == kept


async def test_a_reading_past_the_reuse_limit_is_read_again_on_a_move(
    room: Room, counted: CountedPresence, players: tuple[Socket, Socket], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The gap: nothing refreshed the reading (no announcement, no referee round) for too long."""
    alice, bob = players
    await _unannounced_spectator(room)
    monkeypatch.setattr(presence_readings, "PRESENCE_REUSE_SECONDS", 0.0)
    counted.room_reads = 0
    await alice.send({"type": "move", "cell": 0})
    assert (await bob.next_state(moves=1))["spectators"] == 1
    assert counted.room_reads == 1


def _without_you(text: str) -> tuple[str, dict[str, object]]:
    """A state's text without its ``you``, which the server appends last; and that ``you``."""
    head, _, you = text.rpartition(',"you":')
    return head + "}", json.loads(you[:-1])


async def test_every_socket_is_sent_the_same_bytes_but_for_its_own_you(
    room: Room, players: tuple[Socket, Socket], open_socket: OpenSocket
) -> None:
    alice, bob = players
    watcher = await open_socket(room.code)
    await alice.next_state()
    await bob.next_state()  # the watcher's arrival
    await alice.send({"type": "move", "cell": 0})
    texts = {}
    for name, socket in (("alice", alice), ("bob", bob), ("watcher", watcher)):
        while True:
            text = await socket.receive_text()
            if json.loads(text).get("game", {}).get("moves") == 1:
                texts[name] = _without_you(text)
                break
    assert texts["alice"][0] == texts["bob"][0] == texts["watcher"][0]
    assert [you for _, you in texts.values()] == [{"mark": "X"}, {"mark": "O"}, {"mark": None}]


async def test_the_referee_starts_the_countdown_of_a_player_whose_worker_died(
    room: Room, players: tuple[Socket, Socket]
) -> None:
    """Bob's sockets expired from presence with no goodbye (his worker died): the referee's round sees it."""
    alice, bob = players
    for socket in local_sockets.in_room(room.code):
        if socket.identity.session_hash == session_hash(bob.session_key or ""):
            await presence().remove(room.code, socket.channel_name, socket.identity.session_hash, socket.address)
    await Referee().check_presence([room.code])
    shown = await alice.until_offline("O")
    assert "O" in shown["game"]["absent"]
