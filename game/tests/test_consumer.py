"""The room's WebSocket, end to end through the ASGI application and a real Redis."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import redis.utils
from autobahn.exception import Disconnected
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.conf import settings
from django.db import OperationalError

from game.actions import moves, write
from game.messages import state
from game.models import Game, Room, session_hash
from game.realtime import presence_readings
from game.realtime.local_sockets import local_sockets
from game.realtime.presence import RedisPresence, presence
from game.realtime.shards import room_group
from game.storage.cached_games import game_cache
from game.web import host_actions
from testing.clients import ORIGIN, Socket, make_room, new_session_key
from tictac.asgi import application

OpenSocket = Callable[..., Awaitable[Socket]]


async def play(cells: list[int], x: Socket, o: Socket) -> dict:
    """Play ``cells`` alternately (X first) and return the state after the last."""
    last: dict = {}
    for number, cell in enumerate(cells, start=1):
        mover = x if number % 2 else o
        await mover.send({"type": "move", "cell": cell})
        last = await mover.next_state(moves=number)
    return last


async def test_when_two_players_play_to_a_win_then_everyone_sees_the_same_final_state(
    room: Room, players: tuple[Socket, Socket], open_socket: OpenSocket
) -> None:
    alice, bob = players
    watcher = await open_socket(room.code)
    final = await play([0, 3, 1, 4, 2], alice, bob)
    assert final["game"]["status"] == "won"
    assert final["game"]["winner"] == "X"
    assert final["game"]["line"] == [0, 1, 2]
    assert final["game"]["turn"] is None
    assert final["game"]["last_move"] == {"cell": 2, "mark": "X"}
    seen_by_bob = await bob.next_state(moves=5)
    seen_by_watcher = await watcher.next_state(moves=5)
    for seen in (seen_by_bob, seen_by_watcher):
        assert {key: seen[key] for key in ("game", "players", "room")} == {
            key: final[key] for key in ("game", "players", "room")
        }
    assert seen_by_bob["you"] == {"mark": "O"}
    assert seen_by_watcher["you"] == {"mark": None}
    assert final["game"]["board"] == ["X", "X", "X", "O", "O", "", "", "", ""]


async def test_when_the_board_fills_without_a_line_then_the_game_is_a_draw(players: tuple[Socket, Socket]) -> None:
    alice, bob = players
    final = await play([0, 1, 2, 4, 3, 5, 7, 6, 8], alice, bob)
    assert final["game"]["status"] == "draw"
    assert final["game"]["winner"] is None
    assert final["game"]["line"] is None
    assert final["game"]["moves"] == 9


async def test_when_a_5x5_room_needs_four_in_a_row_then_three_do_not_win_and_four_do(
    open_socket: OpenSocket,
) -> None:
    room = await make_room(name="Five", size=5, win_length=4)
    alice = await open_socket(room.code, await new_session_key())
    bob = await open_socket(room.code, await new_session_key())
    await alice.join("alice")
    await bob.join("bob")
    after_three_in_a_row = await play([0, 5, 6, 10, 12], alice, bob)
    assert after_three_in_a_row["game"]["status"] == "playing"  # 0, 6, 12 is not enough with k=4
    await bob.send({"type": "move", "cell": 15})
    await bob.next_state(moves=6)
    await alice.send({"type": "move", "cell": 18})
    final = await alice.next_state(moves=7)
    assert final["game"]["status"] == "won"
    assert final["game"]["winner"] == "X"
    assert final["game"]["line"] == [0, 6, 12, 18]
    assert len(final["game"]["board"]) == 25


# --- Errors: each code, with nothing changed and the socket still open ---------


async def assert_refused(socket: Socket, message: dict | str, code: str, others: list[Socket]) -> None:
    """``message`` is refused with ``code``; the game is as it was and every socket still works."""
    before = await socket.fresh_state()
    error = await socket.error(message)
    assert error["code"] == code
    assert error["message"]
    after = await socket.fresh_state()
    assert after["game"] == before["game"]
    assert after["players"] == before["players"]
    for other in others:
        assert (await other.fresh_state())["game"] == before["game"]


@pytest.mark.parametrize(
    "message",
    [
        "not json",
        "[1, 2]",
        '"move"',
        {"type": "dance"},
        {"cell": 4},
        {"type": "move"},
        {"type": "move", "cell": True},
        {"type": "move", "cell": "4"},
        {"type": "move", "cell": 4.0},
        {"type": "move", "cell": None},
        {"type": "chat"},
        {"type": "chat", "text": ""},
        {"type": "chat", "text": "bell\u0007"},
        {"type": "join", "name": ""},
        {"type": "join", "name": 7},
        {"type": "join", "name": "tab\there"},
    ],
)
async def test_when_a_message_is_malformed_then_it_is_a_bad_message(
    players: tuple[Socket, Socket], message: dict | str
) -> None:
    alice, bob = players
    await assert_refused(alice, message, "bad_message", [bob])


async def test_when_a_binary_frame_arrives_then_it_is_a_bad_message(players: tuple[Socket, Socket]) -> None:
    alice, _bob = players
    await alice.communicator.send_to(bytes_data=b'{"type":"move","cell":0}')
    assert (await alice.next_message("error"))["code"] == "bad_message"
    assert (await alice.fresh_state())["game"]["moves"] == 0


@pytest.mark.parametrize("message", [{"type": "join", "name": "n" * 33}, {"type": "chat", "text": "t" * 501}])
async def test_when_a_name_or_chat_is_over_its_limit_then_it_is_too_long(
    players: tuple[Socket, Socket], message: dict
) -> None:
    alice, bob = players
    await assert_refused(alice, message, "too_long", [bob])


@pytest.mark.parametrize("message", [{"type": "move", "cell": 0}, {"type": "resign"}, {"type": "rematch"}])
async def test_when_a_spectator_acts_then_it_is_not_a_player(
    room: Room, players: tuple[Socket, Socket], open_socket: OpenSocket, message: dict
) -> None:
    watcher = await open_socket(room.code, await new_session_key())
    await assert_refused(watcher, message, "not_a_player", list(players))


async def test_when_the_game_is_over_then_moves_and_resigns_are_game_over(players: tuple[Socket, Socket]) -> None:
    alice, bob = players
    await play([0, 3, 1, 4, 2], alice, bob)
    await assert_refused(bob, {"type": "move", "cell": 8}, "game_over", [alice])
    await assert_refused(bob, {"type": "resign"}, "game_over", [alice])


async def test_when_a_seat_is_still_free_then_a_move_is_game_not_started(room: Room, open_socket: OpenSocket) -> None:
    alice = await open_socket(room.code, await new_session_key())
    await alice.join("alice")
    await assert_refused(alice, {"type": "move", "cell": 0}, "game_not_started", [])


async def test_when_a_player_moves_out_of_turn_then_it_is_not_your_turn(players: tuple[Socket, Socket]) -> None:
    alice, bob = players
    await assert_refused(bob, {"type": "move", "cell": 0}, "not_your_turn", [alice])
    # Out of turn wins over an invalid cell (the protocol's order).
    await assert_refused(bob, {"type": "move", "cell": 99}, "not_your_turn", [alice])


@pytest.mark.parametrize("cell", [9, -1, 10_000])
async def test_when_a_cell_is_off_the_board_then_it_is_invalid(players: tuple[Socket, Socket], cell: int) -> None:
    alice, bob = players
    await assert_refused(alice, {"type": "move", "cell": cell}, "invalid_cell", [bob])


async def test_when_a_cell_has_a_mark_then_it_is_taken(players: tuple[Socket, Socket]) -> None:
    alice, bob = players
    await play([4], alice, bob)
    await assert_refused(bob, {"type": "move", "cell": 4}, "cell_taken", [alice])


async def test_when_both_seats_are_held_then_a_third_person_joining_gets_room_full(
    room: Room, players: tuple[Socket, Socket], open_socket: OpenSocket
) -> None:
    carol = await open_socket(room.code, await new_session_key())
    await assert_refused(carol, {"type": "join", "name": "carol"}, "room_full", list(players))


async def test_when_a_socket_has_no_session_then_it_can_watch_but_not_join(room: Room, open_socket: OpenSocket) -> None:
    anonymous = await open_socket(room.code)
    assert anonymous.state is not None
    assert anonymous.state["you"] == {"mark": None}
    await assert_refused(anonymous, {"type": "join", "name": "eve"}, "no_session", [])


async def test_when_a_session_cookie_is_forged_then_it_counts_as_no_session(
    room: Room, open_socket: OpenSocket
) -> None:
    forged = await open_socket(room.code, "x" * 32)
    await assert_refused(forged, {"type": "join", "name": "eve"}, "no_session", [])


async def test_a_session_cookie_in_a_second_cookie_header_still_seats_its_tab(
    room: Room, players: tuple[Socket, Socket]
) -> None:
    """HTTP/2 lets a client split its cookies over several Cookie headers."""
    alice, _ = players
    headers = [
        (b"origin", ORIGIN),
        (b"cookie", b"csrftoken=abc"),
        (b"cookie", f"sessionid={alice.session_key}".encode()),
    ]
    # Raw, not a Socket: the helper sends one Cookie header, and this test is about two.
    tab = WebsocketCommunicator(application, f"/ws/rooms/{room.code}/", headers=headers)
    connected, _ = await tab.connect()
    assert connected
    assert json.loads(await tab.receive_from())["you"] == {"mark": "X"}
    await tab.disconnect()


async def test_when_a_socket_floods_then_it_is_rate_limited_and_nothing_changes(
    room: Room, open_socket: OpenSocket, settings: Any
) -> None:
    # A small budget (2 a second, bursts of 4), so that what refills while the flood is handled
    # cannot hide the limit: at the default 20 a second a busy machine took 1.25 s over these 60,
    # time enough for 25 more on top of the burst of 40.
    settings.TICTAC = {**settings.TICTAC, "MESSAGES_PER_SECOND": 2}
    alice = await open_socket(room.code, await new_session_key())
    bob = await open_socket(room.code, await new_session_key())
    await alice.join("alice")
    await bob.join("bob")
    before = await alice.fresh_state()  # alice's third message: one of her burst is left for the flood
    for cell in range(60):
        await alice.send({"type": "move", "cell": 100 + cell})  # refused anyway: invalid cells
    replies = [await alice.next_message("error") for _ in range(60)]
    codes = [reply["code"] for reply in replies]
    assert "rate_limited" in codes
    assert set(codes) == {"rate_limited", "invalid_cell"}
    # alice's own budget is spent for now; bob's is untouched and shows nothing changed.
    assert (await bob.fresh_state())["game"] == before["game"]


# --- Frames, origins, rooms ---------------------------------------------------


async def test_when_a_frame_is_over_4_kib_then_the_socket_is_closed_with_1009(players: tuple[Socket, Socket]) -> None:
    alice, _ = players
    await alice.communicator.send_to(text_data='{"type":"chat","text":"' + "a" * 4100 + '"}')
    closed = await alice.communicator.receive_output(timeout=5)
    while closed["type"] != "websocket.close":
        closed = await alice.communicator.receive_output(timeout=5)
    assert closed["code"] == 1009


async def test_a_frame_of_exactly_4_kib_is_still_read(players: tuple[Socket, Socket]) -> None:
    alice, _ = players
    frame = '{"type":"ping","pad":"' + "a" * (4096 - len('{"type":"ping","pad":""}')) + '"}'
    assert len(frame.encode()) == 4096
    await alice.communicator.send_to(text_data=frame)
    assert (await alice.next_message("pong"))["type"] == "pong"


@pytest.mark.parametrize("origin", [b"http://evil.example", b"null", None])
async def test_when_the_origin_is_not_an_allowed_host_then_the_socket_is_closed_with_4403(
    room: Room, origin: bytes | None
) -> None:
    socket = Socket(f"/ws/rooms/{room.code}/", origin=origin)
    # Accepted only to be closed at once: a browser hides an HTTP 403 from the page (it reads 1006).
    await socket.connect()
    assert await socket.communicator.receive_output(timeout=5) == {
        "type": "websocket.close",
        "code": 4403,
        "reason": None,
    }
    await socket.communicator.wait(timeout=5)


async def test_an_allowed_host_on_any_port_is_accepted(room: Room) -> None:
    socket = Socket(f"/ws/rooms/{room.code}/", origin=b"http://127.0.0.1:8123")
    await socket.connect()  # asserts that it is accepted
    await socket.close()


async def test_when_the_room_does_not_exist_then_the_socket_is_closed_with_4404(transactional_db: None) -> None:
    socket = Socket("/ws/rooms/nosuchroom/")
    await socket.connect()
    closed = await socket.communicator.receive_output(timeout=5)
    assert closed["type"] == "websocket.close"
    assert closed["code"] == 4404


async def test_when_the_database_cannot_be_reached_on_connect_then_the_socket_is_closed_with_1011(
    transactional_db: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def unreachable(code: str) -> None:
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(write, "aget_room", unreachable)
    socket = Socket("/ws/rooms/anyroom/")
    await socket.connect()
    closed = await socket.communicator.receive_output(timeout=5)
    assert closed == {"type": "websocket.close", "code": 1011}
    assert "connect failed" in caplog.text


# --- Identity ------------------------------------------------------------------


async def test_a_second_tab_of_the_same_session_gets_the_same_seat(
    room: Room, players: tuple[Socket, Socket], open_socket: OpenSocket
) -> None:
    alice, _bob = players
    alice_tab = await open_socket(room.code, alice.session_key)
    assert alice_tab.state is not None
    assert alice_tab.state["you"] == {"mark": "X"}
    rejoined = await alice_tab.join("alice")
    assert rejoined["you"] == {"mark": "X"}
    assert rejoined["players"]["X"]["name"] == "alice"
    assert rejoined["players"]["O"]["name"] == "bob"
    # Either tab can move for X.
    await alice_tab.send({"type": "move", "cell": 4})
    assert (await alice.next_state(moves=1))["game"]["board"][4] == "X"


async def test_no_message_content_can_move_for_another_seat(
    room: Room, players: tuple[Socket, Socket], open_socket: OpenSocket
) -> None:
    alice, bob = players
    disguised = {"type": "move", "cell": 0, "mark": "O", "player": "O", "you": {"mark": "O"}, "session": "bob"}
    await alice.send({"type": "move", "cell": 4})
    await bob.next_state(moves=1)
    # It is O's turn: X claiming to be O is still X.
    await assert_refused(alice, disguised, "not_your_turn", [bob])
    watcher = await open_socket(room.code, await new_session_key())
    await assert_refused(watcher, disguised, "not_a_player", [alice, bob])


async def test_when_a_player_reconnects_mid_game_then_the_new_socket_resyncs(
    room: Room, players: tuple[Socket, Socket], open_socket: OpenSocket
) -> None:
    alice, bob = players
    await play([0, 4, 8], alice, bob)
    await bob.close()
    await alice.next_state(moves=3)
    back = await open_socket(room.code, bob.session_key)
    assert back.state is not None
    assert back.state["you"] == {"mark": "O"}
    assert back.state["game"]["board"] == ["X", "", "", "", "O", "", "", "", "X"]
    assert back.state["game"]["turn"] == "O"
    await back.send({"type": "move", "cell": 2})
    assert (await alice.next_state(moves=4))["game"]["last_move"] == {"cell": 2, "mark": "O"}


# --- Resign, rematch, chat ------------------------------------------------------


async def test_when_a_player_resigns_then_the_other_wins(players: tuple[Socket, Socket]) -> None:
    alice, bob = players
    await play([0], alice, bob)
    await alice.send({"type": "resign"})  # allowed on the opponent's turn
    resigned = await bob.next_state(status="resigned")
    assert resigned["game"]["winner"] == "O"
    assert resigned["game"]["turn"] is None
    assert resigned["game"]["line"] is None


async def test_when_both_players_ask_for_a_rematch_then_a_new_game_starts_with_marks_swapped(
    players: tuple[Socket, Socket],
) -> None:
    alice, bob = players
    finished = await play([0, 3, 1, 4, 2], alice, bob)
    await alice.send({"type": "rematch"})
    asked = await bob.next_state(rematch=["X"])
    assert asked["game"]["number"] == finished["game"]["number"]  # one request starts nothing
    await bob.send({"type": "rematch"})
    new_game = await alice.next_state(number=finished["game"]["number"] + 1)
    assert new_game["game"]["status"] == "playing"
    assert new_game["game"]["turn"] == "X"
    assert new_game["game"]["moves"] == 0
    assert new_game["game"]["board"] == [""] * 9
    assert new_game["players"]["X"]["name"] == "bob"
    assert new_game["players"]["O"]["name"] == "alice"
    assert new_game["you"] == {"mark": "O"}
    assert (await bob.next_state(number=new_game["game"]["number"]))["you"] == {"mark": "X"}
    await bob.send({"type": "move", "cell": 4})
    assert (await alice.next_state(moves=1))["game"]["board"][4] == "X"


async def test_when_a_rematch_is_asked_mid_game_then_it_is_refused(players: tuple[Socket, Socket]) -> None:
    alice, bob = players
    await assert_refused(alice, {"type": "rematch"}, "game_not_over", [bob])


async def test_when_someone_chats_then_everyone_gets_the_text_verbatim(
    room: Room, players: tuple[Socket, Socket], open_socket: OpenSocket
) -> None:
    alice, bob = players
    watcher = await open_socket(room.code)
    text = '<img src=x onerror=alert(1)> gg & "quotes"\nline two 🎉'
    await alice.send({"type": "chat", "text": text})
    for socket in (alice, bob, watcher):
        chat = await socket.next_message("chat")
        assert chat["text"] == text
        assert chat["name"] == "alice"
        assert chat["mark"] == "X"
        assert chat["at"].endswith("Z")


async def test_ping_is_answered_with_pong(players: tuple[Socket, Socket]) -> None:
    alice, _ = players
    await alice.send({"type": "ping"})
    assert await alice.next_message("pong") == {"type": "pong"}


# --- Presence -------------------------------------------------------------------


async def test_presence_follows_sockets_and_tabs(
    room: Room, players: tuple[Socket, Socket], open_socket: OpenSocket
) -> None:
    alice, bob = players
    assert (await alice.fresh_state())["players"]["O"]["online"] is True
    watcher_one = await open_socket(room.code, await new_session_key())
    await open_socket(room.code)
    assert (await alice.fresh_state())["spectators"] == 2
    bob_tab = await open_socket(room.code, bob.session_key)
    assert (await alice.fresh_state())["spectators"] == 2  # a seated player's tab is not a spectator
    await bob.close()
    still_online = await alice.fresh_state()
    assert still_online["players"]["O"]["online"] is True  # bob's other tab is open
    await bob_tab.close()
    offline = await alice.until_offline("O")
    assert offline["players"]["O"] == {
        "name": "bob",
        "online": False,
        "computer": None,
        "username": None,
        "rating": None,
    }
    await watcher_one.close()
    assert (await alice.fresh_state())["spectators"] == 1


# --- Hosts' actions -------------------------------------------------------------


async def test_when_the_host_closes_the_room_then_every_socket_is_told_and_closed(
    room: Room, players: tuple[Socket, Socket], open_socket: OpenSocket
) -> None:
    watcher = await open_socket(room.code)
    await database_sync_to_async(host_actions.close_room)(room)
    for socket in (*players, watcher):
        told = await socket.next_state()
        while told["room"]["open"]:
            told = await socket.next_state()
        assert await socket.close_code() == 4410
    late = Socket(f"/ws/rooms/{room.code}/")
    await late.connect()
    assert (await late.communicator.receive_output(timeout=5))["code"] == 4410


async def test_when_the_host_frees_a_seat_then_its_player_is_told_and_closed_and_the_seat_opens(
    room: Room, players: tuple[Socket, Socket], open_socket: OpenSocket
) -> None:
    alice, bob = players
    await play([4], alice, bob)
    freed = await database_sync_to_async(host_actions.kick)(room, "X")
    assert freed
    assert (await alice.next_message("error"))["code"] == "kicked"
    assert await alice.close_code() == 4409
    waiting = await bob.next_state(status="waiting")
    assert waiting["players"]["X"] is None
    assert waiting["game"]["board"][4] == "X"  # the game goes on from its board
    carol = await open_socket(room.code, await new_session_key())
    assert (await carol.join("carol"))["you"] == {"mark": "X"}
    resumed = await bob.next_state(status="playing")
    assert resumed["game"]["turn"] == "O"


# --- Abuse limits and observability ---------------------------------------------


async def test_tabs_of_one_session_share_one_message_budget(room: Room, open_socket: OpenSocket, settings: Any) -> None:
    # A small budget, so that what refills while the messages are handled (even on a busy
    # machine) cannot hide the session's limit: 2 a second, bursts of 4 a tab and 6 a session.
    settings.TICTAC = {**settings.TICTAC, "MESSAGES_PER_SECOND": 2}
    alice = await open_socket(room.code, await new_session_key())
    alice_tab = await open_socket(room.code, alice.session_key)
    per_second = settings.TICTAC["MESSAGES_PER_SECOND"]
    # Each tab alone stays within its own burst (2×), together they pass the session's (3×).
    sent_per_tab = 2 * per_second
    for _ in range(sent_per_tab):
        await alice.send({"type": "move", "cell": 999})
        await alice_tab.send({"type": "move", "cell": 999})
    codes = [(await tab.next_message("error"))["code"] for tab in (alice, alice_tab) for _ in range(sent_per_tab)]
    # Past the session's burst the moves are refused for rate, the others for what they are (alice has no seat).
    assert set(codes) == {"rate_limited", "not_a_player"}


async def test_when_a_session_opens_too_many_sockets_then_the_extra_ones_are_closed_with_4429(
    room: Room, open_socket: OpenSocket, settings: Any
) -> None:
    settings.TICTAC = {**settings.TICTAC, "MAX_SOCKETS_PER_SESSION": 2}
    session_key = await new_session_key()
    await open_socket(room.code, session_key)
    await open_socket(room.code, session_key)
    third = Socket(f"/ws/rooms/{room.code}/", session_key)
    await third.connect()
    closed = await third.communicator.receive_output(timeout=5)
    assert closed["type"] == "websocket.close"
    assert closed["code"] == 4429
    other = await open_socket(room.code, await new_session_key())  # other sessions are not affected
    assert other.state is not None


async def test_refused_messages_are_logged_with_room_code_and_a_session_hash_never_the_cookie(
    room: Room, players: tuple[Socket, Socket], caplog: pytest.LogCaptureFixture
) -> None:
    alice, bob = players
    with caplog.at_level(logging.INFO, logger="game.web.sockets"):
        await assert_refused(bob, {"type": "move", "cell": 0}, "not_your_turn", [alice])
    refusals = [record for record in caplog.records if getattr(record, "code", None) == "not_your_turn"]
    assert len(refusals) == 1
    record = refusals[0]
    assert getattr(record, "room", None) == room.code
    assert bob.session_key is not None
    # The start of the keyed hash bob's Player is stored under: a log line leads to the Player.
    assert getattr(record, "session", None) == session_hash(bob.session_key)[:12]
    assert all(bob.session_key not in line for line in caplog.text.splitlines())


async def test_a_closed_room_stays_out_of_the_lobby_when_its_sockets_leave(
    room: Room, players: tuple[Socket, Socket]
) -> None:
    lobby = Socket("/ws/lobby/")
    await lobby.connect()
    listed = await lobby.communicator.receive_json_from(timeout=5)
    assert room.code in [summary["code"] for summary in listed["rooms"]]
    await database_sync_to_async(host_actions.close_room)(room)
    for socket in players:
        assert await socket.close_code() == 4410
        await socket.close()
    # Every later update of this room must keep it closed; the last one follows both departures.
    updates = []
    while len([u for u in updates if u["room"]["code"] == room.code]) < 3:
        message = await lobby.communicator.receive_json_from(timeout=5)
        if message["type"] == "room":  # not the live line's counts
            updates.append(message)
    assert all(not update["room"]["open"] for update in updates if update["room"]["code"] == room.code)
    await lobby.close()


async def test_when_a_room_is_full_of_sockets_then_one_more_is_closed_with_4429(
    room: Room, open_socket: OpenSocket, settings: Any
) -> None:
    settings.TICTAC = {**settings.TICTAC, "MAX_SOCKETS_PER_ROOM": 2}
    first = await open_socket(room.code)
    await open_socket(room.code)
    extra = Socket(f"/ws/rooms/{room.code}/")
    await extra.connect()
    assert await extra.close_code() == 4429
    assert (await first.fresh_state())["spectators"] == 2  # the refused socket never counted


async def test_a_presence_change_that_loses_the_race_to_a_newer_move_still_reaches_the_room(
    room: Room, players: tuple[Socket, Socket]
) -> None:
    """A socket leaves while a move is being published with presence read before it left:
    its leaving state (older game, newer presence) arrives after the move's. The sockets
    must not keep showing the old presence; they show the room as it is."""
    alice, bob = players
    await alice.send({"type": "move", "cell": 0})
    after_move = await bob.next_state(moves=1)
    await alice.next_state(moves=1)
    game = await database_sync_to_async(lambda: room.games.get())()
    before_move = {key: value for key, value in after_move.items() if key != "you"}
    before_move["game"] = {**after_move["game"], "moves": 0, "board": [None] * 9, "history": [], "last_move": None}
    layer = get_channel_layer()
    assert layer is not None
    await layer.group_send(
        room_group(room.code),
        {
            "type": "room.state",
            "state": json.dumps(before_move),
            "seats": {"X": game.player_x_id, "O": game.player_o_id},
            # The game before the move, with presence read after every other state.
            "stamp": [game.number, game.version - 1, (time.time_ns() // 1000) * 2],
        },
    )
    for socket in (alice, bob):
        shown = await socket.next_state()
        assert shown["game"]["moves"] == 1
        assert shown["game"]["board"][0] == "X"


# --- A move's presence ------------------------------------------------------------
# A move does not change who is connected, so its state reuses the room's last
# presence reading instead of reading Redis again. Someone arriving unannounced
# (as an entry that appears in Redis with no state published) shows that.


async def _unannounced_spectator(room: Room) -> None:
    await presence().add(room.code, "socket-on-no-process", await new_session_key())


async def test_a_moves_state_reuses_the_rooms_last_presence_reading(room: Room, players: tuple[Socket, Socket]) -> None:
    alice, bob = players
    await _unannounced_spectator(room)
    await alice.send({"type": "move", "cell": 0})
    assert (await bob.next_state(moves=1))["spectators"] == 0


async def test_a_presence_reading_older_than_the_reuse_limit_is_read_again(
    room: Room, players: tuple[Socket, Socket], monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob = players
    await _unannounced_spectator(room)
    monkeypatch.setattr(presence_readings, "PRESENCE_REUSE_SECONDS", 0.0)
    await alice.send({"type": "move", "cell": 0})
    assert (await bob.next_state(moves=1))["spectators"] == 1


async def test_a_state_with_newer_presence_from_another_process_ends_the_reuse(
    room: Room, players: tuple[Socket, Socket]
) -> None:
    """Another process announces a change: the next move here must not show the room as it was before it."""
    alice, bob = players
    await _unannounced_spectator(room)
    game = await write.acurrent_game(room)
    # Built and published as another process would, without this process's reading.
    announced = state.build(room, game, await presence().snapshot(room.code))
    layer = get_channel_layer()
    assert layer is not None
    await layer.group_send(room_group(room.code), state.state_event(announced))
    assert (await bob.next_state())["spectators"] == 1
    await alice.send({"type": "move", "cell": 0})
    assert (await bob.next_state(moves=1))["spectators"] == 1


# --- A game moved on by another process -----------------------------------------


async def test_a_process_forgets_a_room_when_its_last_socket_there_leaves(
    room: Room, players: tuple[Socket, Socket]
) -> None:
    """What a process caches about a room (its game, the last state published, its presence)
    is for its sockets there: kept while one is left, dropped with the last."""
    alice, bob = players
    await alice.send({"type": "move", "cell": 0})
    await bob.next_state(moves=1)

    def cached() -> list[bool]:
        mine, published = game_cache.versions(room.pk)
        return [mine is not None, published is not None, presence_readings.last_presence.knows(room.code)]

    # As a state from another process would have left it (of a later game: nothing reads it here).
    game_cache.note_published(room.pk, 99, 0, {}, "{}")
    await bob.close()
    await alice.until_offline("O")
    assert cached() == [True, True, True]
    await alice.close()
    assert cached() == [False, False, False]


async def test_a_moves_state_event_carries_the_columns_its_write_set(
    room: Room, players: tuple[Socket, Socket]
) -> None:
    """The room's other processes bring their copies of the game up to date from what the write set
    (GameCache.get), not by reading the state back."""
    alice, _ = players
    layer = get_channel_layer()
    assert layer is not None
    listener = await layer.new_channel()
    await layer.group_add(room_group(room.code), listener)
    await alice.send({"type": "move", "cell": 4})
    event = await layer.receive(listener)
    while event["type"] != "room.state" or json.loads(event["state"])["game"]["moves"] != 1:
        event = await layer.receive(listener)
    await layer.group_discard(room_group(room.code), listener)
    written = json.loads(event["change"])
    assert (written["history"], written["move_count"], written["turn"], written["board"][4]) == ([4], 1, "O", "X")
    stored = await database_sync_to_async(Game.objects.get)(room=room)
    assert written["updated_at"] == stored.updated_at.isoformat()


async def test_a_state_from_another_process_spares_the_next_move_here_a_read_of_the_game(
    room: Room, players: tuple[Socket, Socket], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a game's players on two workers, each move follows one made elsewhere: the state
    that brought that move is enough to judge the next one, without reading the game again."""
    alice, bob = players
    await alice.send({"type": "move", "cell": 0})
    await bob.next_state(moves=1)
    await alice.next_state(moves=1)

    def move_elsewhere() -> state.RoomState:
        mine = game_cache.get(room)
        assert mine is not None
        game_cache.discard(room.pk)
        theirs = moves.play_move(room, mine.player_o_id, 4)  # bob's move, on another worker
        change = game_cache.change_to(room.pk, theirs.number, theirs.version)  # what its state event carries
        game_cache.store(mine)  # this process did not see that move
        return state.build(room, theirs, presence().snapshots_blocking([room.code])[room.code], change=change)

    published = await database_sync_to_async(move_elsewhere)()
    layer = get_channel_layer()
    assert layer is not None
    await layer.group_send(room_group(room.code), state.state_event(published))
    await alice.next_state(moves=2)

    reads: list[Room] = []
    read_game = write.current_game

    def counted_read(room: Room) -> Game:
        reads.append(room)
        return read_game(room)

    monkeypatch.setattr(write, "current_game", counted_read)
    await alice.send({"type": "move", "cell": 8})
    assert (await bob.next_state(moves=3))["game"]["history"] == [0, 4, 8]
    assert reads == []


# --- A client that goes while it is being answered ------------------------------


async def test_a_move_whose_player_goes_before_its_answer_still_reaches_the_room(
    room: Room, players: tuple[Socket, Socket], caplog: pytest.LogCaptureFixture
) -> None:
    """uvicorn raises an OSError for a send to a client that has gone (the ASGI spec asks for
    one). The move is stored by then: the opponent must still be shown it, and nothing is
    logged as a failure, since the disconnect that follows is the normal way out."""
    alice, bob = players
    alices_consumer = next(
        socket for socket in local_sockets.in_room(room.code) if socket.identity.player_name == "alice"
    )
    send_to_server = alices_consumer.base_send

    async def gone(message: dict[str, Any]) -> None:
        if message["type"] == "websocket.send":
            raise ConnectionResetError("the client went away")
        await send_to_server(message)

    alices_consumer.base_send = gone
    with caplog.at_level(logging.DEBUG, logger="game.web.sockets"):
        await alice.send({"type": "move", "cell": 4})
        assert (await bob.next_state(moves=1))["game"]["board"][4] == "X"
    assert [record.message for record in caplog.records if record.levelno >= logging.WARNING] == []


# --- Redis connections ------------------------------------------------------------


async def test_new_redis_connections_do_not_read_package_metadata(monkeypatch: pytest.MonkeyPatch) -> None:
    """redis-py looks its own version up in site-packages for every connection it opens
    unless it is given one; on the event loop that stalled every socket for 10-40 ms."""
    lookups: list[str] = []

    def version_lookup() -> str:
        lookups.append("redis")
        return "0"

    monkeypatch.setattr(redis.utils, "get_lib_version", version_lookup)
    layer = RedisPubSubChannelLayer(hosts=settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"])
    await layer.group_send("nobody-listens", {"type": "room.chat", "message": "{}"})
    await layer.flush()
    store = RedisPresence(settings.REDIS_URLS, ttl_seconds=30)  # new pools, so new connections
    assert all(await store.shard_runs())
    await asyncio.to_thread(store.ping_blocking, 0)
    assert lookups == []


async def test_a_socket_closed_by_the_server_after_its_client_went_still_leaves_its_room(
    room: Room, players: tuple[Socket, Socket]
) -> None:
    """A close to a client that has gone raises too; the consumer must still read the
    disconnect behind it, or the player would stay online in the room for good."""
    alice, bob = players
    alices_consumer = next(
        socket for socket in local_sockets.in_room(room.code) if socket.identity.player_name == "alice"
    )

    async def gone(message: dict[str, Any]) -> None:
        raise ConnectionResetError("the client went away")

    alices_consumer.base_send = gone
    await alice.send_text("x" * (settings.TICTAC["MAX_FRAME_BYTES"] + 1))  # answered with a close
    await alice.communicator.send_input({"type": "websocket.disconnect", "code": 1006})
    offline = await bob.until_offline("X")
    assert offline["players"]["X"] == {
        "name": "alice",
        "online": False,
        "computer": None,
        "username": None,
        "rating": None,
    }


@pytest.mark.parametrize(
    "failure",
    [
        RuntimeError("Unexpected ASGI message 'websocket.send', after sending 'websocket.close'"),  # uvicorn
        Disconnected("Attempt to send on a closed protocol"),  # daphne (autobahn)
    ],
)
async def test_a_send_that_fails_because_the_client_went_leaves_no_ghost(
    room: Room, players: tuple[Socket, Socket], open_socket: OpenSocket, failure: Exception
) -> None:
    """A broadcast reaching a socket whose client closed makes its send raise, whatever the server;
    the consumer must still read the disconnect behind it and leave the room, or it stays present."""
    alice, _ = players
    watcher = await open_socket(room.code, await new_session_key())
    assert (await alice.fresh_state())["spectators"] == 1
    watchers_consumer = next(
        socket for socket in local_sockets.in_room(room.code) if socket.identity.player_name is None
    )

    async def gone(message: dict[str, Any]) -> None:
        raise failure

    watchers_consumer.base_send = gone
    await alice.send({"type": "chat", "text": "a broadcast the watcher cannot take"})
    await alice.next_message("chat")
    await watcher.communicator.send_input({"type": "websocket.disconnect", "code": 1006})
    seen = await alice.fresh_state()
    while seen["spectators"] != 0:
        seen = await alice.next_state()
    assert watchers_consumer not in local_sockets.in_room(room.code)
