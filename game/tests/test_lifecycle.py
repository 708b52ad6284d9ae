"""A game always ends: clocks, absent players, offers, exactly-once moves, chat that stays, the series.

Time is the server's (write.now), moved by hand with the ``clock``
fixture; nothing here sleeps. The referee task of this process ends games
on its own, so a test that waits for a flag only reads its sockets.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from game.actions import chat, identities, moves, seating, write
from game.models import ChatMessage, Move, Room, session_hash
from game.realtime.presence import presence
from testing.clients import Socket, make_room, new_session_key

OpenSocket = Callable[..., Awaitable[Socket]]


class ManualClock:
    """The server's clock, stopped, moved only by ``advance``."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> ManualClock:
    manual = ManualClock(write.now())
    monkeypatch.setattr(write, "now", manual)
    return manual


async def seated(room: Room, open_socket: OpenSocket) -> tuple[Socket, Socket]:
    alice = await open_socket(room.code, await new_session_key())
    bob = await open_socket(room.code, await new_session_key())
    await alice.join("alice")
    await bob.join("bob")
    await alice.next_state(status="playing")
    return alice, bob


async def move(socket: Socket, cell: int, **extra: Any) -> dict[str, Any]:
    await socket.send({"type": "move", "cell": cell, **extra})
    return await socket.next_state(last_move={"cell": cell, "mark": socket.state["you"]["mark"]})  # type: ignore[index]


# --- Clocks ---------------------------------------------------------------------


async def test_a_room_without_a_time_control_has_no_clock(players: tuple[Socket, Socket]) -> None:
    alice, _ = players
    state = await alice.fresh_state()
    assert state["game"]["clock"] is None
    assert state["room"]["time_control"] is None


async def test_every_state_carries_both_remaining_times_and_the_running_deadline(
    open_socket: OpenSocket, clock: ManualClock
) -> None:
    room = await make_room(name="Blitz", time_control="budget:60+2")
    alice, bob = await seated(room, open_socket)
    await move(alice, 0)
    clock.advance(3)
    started = (await move(bob, 8))["game"]["clock"]
    # Both have made a first move: X's clock runs from O's move.
    assert (started["X"], started["O"], started["running"]) == (60_000, 60_000, "X")
    assert started["deadline"] == started["since"] + 60_000
    clock.advance(10)
    state = await move(alice, 4)
    running = state["game"]["clock"]
    # X used 10 s and got 2 s back; O's minute runs from the move.
    assert (running["X"], running["O"], running["running"]) == (52_000, 60_000, "O")
    assert running["since"] == started["since"] + 10_000
    assert running["deadline"] == running["since"] + 60_000
    assert state["room"]["time_control"] == {"kind": "budget", "seconds": 60, "increment": 2}


async def test_no_clock_runs_until_both_players_have_made_a_first_move(
    open_socket: OpenSocket, clock: ManualClock
) -> None:
    room = await make_room(name="Opening", time_control="budget:60+2")
    alice, bob = await seated(room, open_socket)
    opening = alice.state["game"]  # type: ignore[index]
    assert (opening["clock"]["X"], opening["clock"]["O"], opening["clock"]["running"]) == (60_000, 60_000, None)
    assert opening["first_move"] == {"mark": "X", "deadline": write.epoch_ms(clock.now) + 30_000}
    clock.advance(20)
    after_x = (await move(alice, 4))["game"]
    # Twenty seconds of thinking cost X nothing, and earned no increment; O now owes a first move.
    assert (after_x["clock"]["X"], after_x["clock"]["O"], after_x["clock"]["running"]) == (60_000, 60_000, None)
    assert after_x["first_move"] == {"mark": "O", "deadline": write.epoch_ms(clock.now) + 30_000}
    clock.advance(25)
    after_o = (await move(bob, 0))["game"]
    assert after_o["first_move"] is None
    assert (after_o["clock"]["running"], after_o["clock"]["since"]) == ("X", write.epoch_ms(clock.now))


async def test_a_missed_first_move_aborts_the_game_with_no_winner(open_socket: OpenSocket, clock: ManualClock) -> None:
    room = await make_room(name="Gone quiet")  # no clock: the first move has its deadline all the same
    alice, bob = await seated(room, open_socket)
    await move(alice, 4)
    clock.advance(30)
    # Nobody sends anything: the referee aborts the game, and both sockets hear it.
    for socket in (alice, bob):
        state = await socket.next_state(status="aborted")
        assert (state["game"]["winner"], state["game"]["reason"], state["game"]["first_move"]) == (
            None,
            "aborted",
            None,
        )
    assert state["series"] == {"X": 0, "O": 0, "draws": 0}


async def test_a_per_move_limit_shorter_than_the_first_move_deadline_is_the_deadline(
    open_socket: OpenSocket, clock: ManualClock
) -> None:
    room = await make_room(name="Quick", time_control="move:15")
    alice, _ = await seated(room, open_socket)
    assert alice.state["game"]["first_move"]["deadline"] == write.epoch_ms(clock.now) + 15_000  # type: ignore[index]


async def test_a_flag_falls_with_no_message_sent(open_socket: OpenSocket, clock: ManualClock) -> None:
    room = await make_room(name="Bullet", time_control="move:15")
    alice, bob = await seated(room, open_socket)
    await move(alice, 0)
    await move(bob, 4)
    await move(alice, 1)
    clock.advance(15)
    # Nobody sends anything: the referee ends the game, and both sockets hear it.
    for socket in (alice, bob):
        state = await socket.next_state(status="timeout")
        assert (state["game"]["winner"], state["game"]["reason"], state["game"]["turn"]) == ("X", "timeout", None)
        assert state["game"]["clock"]["O"] == 0
        assert state["game"]["clock"]["running"] is None
    assert state["series"] == {"X": 1, "O": 0, "draws": 0}


async def test_a_move_after_the_deadline_is_refused_and_changes_nothing(
    open_socket: OpenSocket, clock: ManualClock
) -> None:
    room = await make_room(name="Late", time_control="move:15")
    alice, _ = await seated(room, open_socket)
    clock.advance(15.5)
    error = await alice.error({"type": "move", "cell": 4})
    assert error["code"] == "game_over"
    assert (await database_sync_to_async(Move.objects.filter(game__room=room).count)()) == 0


async def test_a_player_here_who_does_not_move_may_be_claimed_against_in_a_room_without_a_clock(
    open_socket: OpenSocket, clock: ManualClock
) -> None:
    room = await make_room(name="Slow thinker", idle_seconds=120)
    alice, bob = await seated(room, open_socket)
    await move(alice, 0)
    state = await move(bob, 4)
    since = write.epoch_ms(clock.now)
    assert state["game"]["idle"] == {"mark": "X", "since": since, "claim_at": since + 120_000}
    clock.advance(119)
    assert (await bob.error({"type": "claim", "result": "win"}))["code"] == "too_early"
    clock.advance(1)
    await bob.send({"type": "claim", "result": "win"})
    ended = await alice.next_state(status="abandoned")
    assert (ended["game"]["winner"], ended["game"]["reason"], ended["game"]["idle"]) == ("O", "claimed_win", None)


async def test_the_idle_countdown_starts_again_with_every_move(open_socket: OpenSocket, clock: ManualClock) -> None:
    room = await make_room(name="Steady", idle_seconds=120)
    alice, bob = await seated(room, open_socket)
    await move(alice, 0)
    await move(bob, 4)
    clock.advance(100)
    state = await move(alice, 8)
    assert state["game"]["idle"]["mark"] == "O"
    assert state["game"]["idle"]["since"] == write.epoch_ms(clock.now)
    clock.advance(100)
    assert (await alice.error({"type": "claim", "result": "win"}))["code"] == "too_early"


# --- An absent opponent ----------------------------------------------------------


async def test_a_player_who_leaves_starts_a_countdown_after_which_the_other_may_claim_the_win(
    room: Room, open_socket: OpenSocket, clock: ManualClock
) -> None:
    alice, bob = await seated(room, open_socket)
    await move(alice, 0)
    await move(bob, 4)
    await bob.close()
    state = await alice.until_offline("O")
    away = state["game"]["absent"]["O"]
    assert away["claim_at"] - away["since"] == room.absence_seconds * 1000
    assert (await alice.error({"type": "claim", "result": "win"}))["code"] == "too_early"
    clock.advance(room.absence_seconds)
    await alice.send({"type": "claim", "result": "win"})
    state = await alice.next_state(status="abandoned")
    assert (state["game"]["winner"], state["game"]["reason"], state["game"]["absent"]) == ("X", "claimed_win", {})


async def test_a_player_may_claim_a_draw_instead(room: Room, open_socket: OpenSocket, clock: ManualClock) -> None:
    alice, bob = await seated(room, open_socket)
    await move(alice, 0)
    await move(bob, 4)
    await alice.close()
    await bob.until_offline("X")
    clock.advance(room.absence_seconds)
    await bob.send({"type": "claim", "result": "draw"})
    state = await bob.next_state(status="draw")
    assert (state["game"]["winner"], state["game"]["reason"]) == (None, "claimed_draw")


async def test_coming_back_in_time_cancels_the_countdown(
    room: Room, open_socket: OpenSocket, clock: ManualClock
) -> None:
    alice, bob = await seated(room, open_socket)
    await move(alice, 0)
    await move(bob, 4)
    await bob.close()
    await alice.until_offline("O")
    clock.advance(room.absence_seconds - 1)
    back = await open_socket(room.code, bob.session_key)
    assert back.state["game"]["absent"] == {}  # type: ignore[index]
    clock.advance(5)
    assert (await alice.error({"type": "claim", "result": "win"}))["code"] == "not_absent"


async def test_a_game_left_before_both_had_moved_is_aborted_on_its_own(
    room: Room, open_socket: OpenSocket, clock: ManualClock
) -> None:
    alice, bob = await seated(room, open_socket)
    await move(alice, 0)
    await bob.close()
    await alice.until_offline("O")
    clock.advance(room.absence_seconds)
    state = await alice.next_state(status="aborted")
    assert (state["game"]["winner"], state["game"]["reason"]) == (None, "aborted")
    assert state["series"] == {"X": 0, "O": 0, "draws": 0}


async def test_a_claim_is_answered_when_the_leavers_worker_died_without_a_goodbye(
    room: Room, open_socket: OpenSocket, clock: ManualClock
) -> None:
    alice = await open_socket(room.code, await new_session_key())
    await alice.join("alice")
    # Bob plays from a worker that then dies: his presence entry simply stops being there.
    bob_session = await new_session_key()
    await database_sync_to_async(seating.join)(room, identities.Identity(session_key=bob_session), "bob")
    await presence().add(room.code, "dead-worker.bob", session_hash(bob_session))
    await database_sync_to_async(moves.play_move)(room, await database_sync_to_async(alice_id)(room), 0)
    await presence().remove(room.code, "dead-worker.bob", session_hash(bob_session))
    # No socket of bob's said goodbye, so no countdown runs yet: the claim starts it and says so.
    error = await alice.error({"type": "claim", "result": "win"})
    assert error["code"] == "too_early"
    assert "O" in (await alice.fresh_state())["game"]["absent"]
    clock.advance(room.absence_seconds)
    await alice.send({"type": "claim", "result": "win"})
    # One move only: the game is aborted rather than won.
    assert (await alice.next_state(status="aborted"))["game"]["reason"] == "aborted"


def alice_id(room: Room) -> int:
    player_id = write.current_game(room).player_x_id
    assert player_id is not None
    return player_id


async def test_claims_are_refused_with_clear_codes(players: tuple[Socket, Socket], open_socket: OpenSocket) -> None:
    alice, _ = players
    watcher = await open_socket(alice.state["room"]["code"])  # type: ignore[index]
    assert (await alice.error({"type": "claim", "result": "win"}))["code"] == "not_absent"
    assert (await alice.error({"type": "claim", "result": "everything"}))["code"] == "bad_result"
    assert (await alice.error({"type": "claim"}))["code"] == "bad_message"
    assert (await watcher.error({"type": "claim", "result": "win"}))["code"] == "not_a_player"


# --- Exactly-once moves ----------------------------------------------------------


async def test_a_move_resent_with_the_same_id_is_played_once_and_answered_with_the_state(
    room: Room, players: tuple[Socket, Socket], open_socket: OpenSocket
) -> None:
    alice, _ = players
    await move(alice, 4, id="m-1")
    # Alice's page reconnects and resends the move it never saw answered.
    again = await open_socket(room.code, alice.session_key)
    await again.send({"type": "move", "cell": 4, "id": "m-1"})
    answer = await again.receive()
    assert answer["type"] == "state"
    assert (answer["game"]["moves"], answer["game"]["board"][4]) == (1, "X")
    assert await database_sync_to_async(Move.objects.filter(game__room=room).count)() == 1
    # A different id for an illegal move is still an error.
    assert (await again.error({"type": "move", "cell": 4, "id": "m-2"}))["code"] == "not_your_turn"


# --- Draw offers and takebacks ---------------------------------------------------


async def test_a_draw_offer_accepted_ends_the_game_as_agreed_and_spectators_see_the_offer(
    room: Room, players: tuple[Socket, Socket], open_socket: OpenSocket
) -> None:
    alice, bob = players
    watcher = await open_socket(room.code)
    await move(alice, 4)
    await move(bob, 0)
    await alice.send({"type": "offer_draw"})
    assert (await watcher.next_state(offer={"kind": "draw", "by": "X"}))["you"]["mark"] is None
    await bob.next_state(offer={"kind": "draw", "by": "X"})
    await bob.send({"type": "accept"})
    state = await watcher.next_state(status="draw")
    assert (state["game"]["reason"], state["game"]["offer"], state["series"]["draws"]) == ("agreed", None, 1)


async def test_a_declined_offer_is_withdrawn_and_a_move_lapses_an_offer(players: tuple[Socket, Socket]) -> None:
    alice, bob = players
    await alice.send({"type": "offer_draw"})
    await bob.next_state(offer={"kind": "draw", "by": "X"})
    await bob.send({"type": "decline"})
    assert (await alice.next_state(offer=None))["game"]["status"] == "playing"
    await bob.send({"type": "offer_draw"})
    await alice.next_state(offer={"kind": "draw", "by": "O"})
    state = await move(alice, 4)
    assert state["game"]["offer"] is None
    assert (await alice.error({"type": "accept"}))["code"] == "no_offer"


async def test_a_takeback_accepted_removes_the_last_move_and_gives_the_turn_back(
    room: Room, players: tuple[Socket, Socket]
) -> None:
    alice, bob = players
    await move(alice, 0)
    await move(bob, 4)
    await bob.send({"type": "takeback"})
    await alice.next_state(offer={"kind": "takeback", "by": "O"})
    await alice.send({"type": "accept"})
    state = await bob.next_state(moves=1)
    assert (state["game"]["board"][4], state["game"]["turn"], state["game"]["history"]) == ("", "O", [0])
    assert state["game"]["last_move"] == {"cell": 0, "mark": "X"}
    assert await database_sync_to_async(Move.objects.filter(game__room=room).count)() == 1
    # The cell is free again, and the game goes on from there.
    assert (await move(bob, 8))["game"]["moves"] == 2


async def test_a_takeback_declined_changes_nothing_but_the_offer(players: tuple[Socket, Socket]) -> None:
    alice, bob = players
    await move(alice, 0)
    await alice.send({"type": "takeback"})
    await bob.next_state(offer={"kind": "takeback", "by": "X"})
    await bob.send({"type": "decline"})
    state = await alice.next_state(offer=None)
    assert (state["game"]["moves"], state["game"]["turn"]) == (1, "O")


async def test_offers_are_refused_with_clear_codes(players: tuple[Socket, Socket], open_socket: OpenSocket) -> None:
    alice, bob = players
    assert (await alice.error({"type": "takeback"}))["code"] == "nothing_to_take_back"
    await move(alice, 0)
    assert (await bob.error({"type": "takeback"}))["code"] == "nothing_to_take_back"
    assert (await bob.error({"type": "decline"}))["code"] == "no_offer"
    await alice.send({"type": "offer_draw"})
    await bob.next_state(offer={"kind": "draw", "by": "X"})
    assert (await alice.error({"type": "offer_draw"}))["code"] == "offer_pending"
    assert (await alice.error({"type": "accept"}))["code"] == "no_offer"  # one's own offer is not theirs to accept
    watcher = await open_socket(alice.state["room"]["code"])  # type: ignore[index]
    assert (await watcher.error({"type": "accept"}))["code"] == "not_a_player"


# --- The series, and chat that stays ------------------------------------------------


async def test_the_series_counts_wins_and_draws_across_rematches(players: tuple[Socket, Socket]) -> None:
    alice, bob = players
    for cell, socket in zip([0, 3, 1, 4, 2], [alice, bob] * 3, strict=False):
        state = await move(socket, cell)
    assert (state["game"]["status"], state["series"]) == ("won", {"X": 1, "O": 0, "draws": 0})
    for socket in (alice, bob):
        await socket.send({"type": "rematch"})
    state = await alice.next_state(number=2)
    # Marks swapped: alice is O now, and her win goes with her.
    assert state["players"]["O"]["name"] == "alice"
    assert state["series"] == {"X": 0, "O": 1, "draws": 0}
    await bob.next_state(number=2)
    await move(bob, 4)
    await move(alice, 0)
    await bob.send({"type": "resign"})
    assert (await alice.next_state(status="resigned"))["series"] == {"X": 0, "O": 2, "draws": 0}


async def test_a_game_resigned_before_both_players_have_moved_counts_for_nothing(
    players: tuple[Socket, Socket],
) -> None:
    alice, bob = players
    await move(alice, 4)
    await bob.send({"type": "resign"})
    state = await alice.next_state(status="resigned")
    # Still a resignation (the contract's word for it), but not a win in the series.
    assert (state["game"]["winner"], state["series"]) == ("X", {"X": 0, "O": 0, "draws": 0})


async def test_chat_survives_a_reload(room: Room, players: tuple[Socket, Socket]) -> None:
    alice, _ = players
    await alice.send({"type": "chat", "text": "<b>gg</b>"})
    await alice.next_message("chat")
    page = await database_sync_to_async(Client().get)(f"/rooms/{room.code}/")
    assert [(line["name"], line["text"]) for line in page.context["chat"]] == [("alice", "<b>gg</b>")]
    assert "<b>gg</b>" not in page.content.decode()  # in the page as escaped JSON, never as HTML


async def test_only_the_last_50_chat_lines_are_kept(room: Room) -> None:
    for number in range(60):
        await database_sync_to_async(chat.save_chat)(room, "alice", "X", f"line {number}")
    recent = await database_sync_to_async(chat.recent_chat)(room)
    assert [line["text"] for line in recent] == [f"line {number}" for number in range(10, 60)]
    assert await database_sync_to_async(ChatMessage.objects.filter(room=room).count)() <= 60


async def test_a_spectator_without_a_session_may_watch_but_not_chat(room: Room, open_socket: OpenSocket) -> None:
    anonymous = await open_socket(room.code)
    assert (await anonymous.error({"type": "chat", "text": "hi"}))["code"] == "no_session"


# --- Names ------------------------------------------------------------------------


async def test_a_player_cannot_take_the_opponents_name(room: Room, open_socket: OpenSocket) -> None:
    alice = await open_socket(room.code, await new_session_key())
    await alice.join("Alice")
    impostor = await open_socket(room.code, await new_session_key())
    assert (await impostor.error({"type": "join", "name": " alice "}))["code"] == "name_taken"
    assert (await impostor.fresh_state())["players"]["O"] is None
    bob = await open_socket(room.code, await new_session_key())
    await bob.join("bob")
    # Nor can a seated player rename themselves into their opponent.
    assert (await bob.error({"type": "join", "name": "ALICE"}))["code"] == "name_taken"
    assert (await bob.fresh_state())["players"]["O"]["name"] == "bob"


async def test_two_players_who_gave_no_name_are_told_apart(room: Room, open_socket: OpenSocket) -> None:
    first = await open_socket(room.code, await new_session_key())
    second = await open_socket(room.code, await new_session_key())
    await first.join()
    state = await second.join()
    assert (state["players"]["X"]["name"], state["players"]["O"]["name"]) == ("Player", "Player 2")


async def test_a_visitor_who_takes_a_seat_keeps_their_session_past_the_idle_day(
    room: Room, open_socket: OpenSocket
) -> None:
    client = Client()
    await database_sync_to_async(client.get)(f"/rooms/{room.code}/")
    key = client.cookies["sessionid"].value
    stored = database_sync_to_async(lambda: Session.objects.get(session_key=key).expire_date)
    assert await stored() < timezone.now() + timedelta(days=2)  # an idle visitor's day
    await (await open_socket(room.code, key)).join("gina")
    assert await stored() > timezone.now() + timedelta(days=300)


# --- The computer -------------------------------------------------------------------


async def test_the_computer_answers_every_move_and_the_perfect_one_never_loses(
    room: Room, open_socket: OpenSocket
) -> None:
    alice = await open_socket(room.code, await new_session_key())
    await alice.join("alice")
    await alice.send({"type": "add_computer", "level": "perfect"})
    state = await alice.next_state(status="playing")
    assert state["players"]["O"] == {
        "name": "Computer (perfect)",
        "online": True,
        "computer": "perfect",
        "username": None,
        "rating": None,
    }
    # Alice tries the first free cell each time; the computer answers through the same service.
    while state["game"]["status"] == "playing":
        cell = state["game"]["board"].index("")
        await alice.send({"type": "move", "cell": cell})
        state = await alice.next_state()
        while state["game"]["status"] == "playing" and state["game"]["turn"] != "X":
            state = await alice.next_state()
    assert state["game"]["winner"] != "X"
    assert state["game"]["moves"] >= 5


async def test_the_computer_is_refused_with_clear_codes(room: Room, open_socket: OpenSocket, settings: Any) -> None:
    settings.TICTAC = {**settings.TICTAC, "MAX_BOT_GAMES_PER_SESSION": 1}
    watcher = await open_socket(room.code, await new_session_key())
    assert (await watcher.error({"type": "add_computer", "level": "easy"}))["code"] == "not_a_player"
    alice = await open_socket(room.code, await new_session_key())
    await alice.join("alice")
    assert (await alice.error({"type": "add_computer", "level": "grandmaster"}))["code"] == "bad_level"
    await alice.send({"type": "add_computer", "level": "easy"})
    await alice.next_state(status="playing")
    other = await make_room(name="Second")
    again = await open_socket(other.code, alice.session_key)
    await again.join("alice")
    assert (await again.error({"type": "add_computer", "level": "easy"}))["code"] == "too_many_bots"


async def test_a_process_playing_the_computer_in_its_most_rooms_refuses_one_more(
    room: Room, open_socket: OpenSocket, settings: Any
) -> None:
    """The cap counts this process's rooms with the computer in them, from none: a test starts as a
    new process would (conftest resets ``computer_players``), whatever rooms earlier tests left."""
    settings.TICTAC = {**settings.TICTAC, "MAX_BOT_GAMES_PER_PROCESS": 1}
    alice = await open_socket(room.code, await new_session_key())
    await alice.join("alice")
    await alice.send({"type": "add_computer", "level": "easy"})
    await alice.next_state(status="playing")
    other = await make_room(name="Second")
    bob = await open_socket(other.code, await new_session_key())
    await bob.join("bob")
    assert (await bob.error({"type": "add_computer", "level": "easy"}))["code"] == "too_many_bots"


async def test_the_computer_leaves_when_its_person_does(
    room: Room, open_socket: OpenSocket, clock: ManualClock
) -> None:
    watcher = await open_socket(room.code, await new_session_key())
    alice = await open_socket(room.code, await new_session_key())
    await alice.join("alice")
    await alice.send({"type": "add_computer", "level": "easy"})
    await alice.next_state(status="playing")
    await move(alice, 4)
    await alice.next_state(moves=2)  # the computer's answer
    await alice.close()
    await watcher.until_offline("X")
    clock.advance(room.absence_seconds)
    ended = await watcher.next_state(status="abandoned")
    assert ended["game"]["winner"] == "O"
    freed = await watcher.next_state()
    while freed["players"]["O"] is not None:
        freed = await watcher.next_state()
    assert freed["players"]["X"]["name"] == "alice"


@pytest.mark.django_db(transaction=True)
def test_play_the_computer_from_the_lobby_seats_you_against_it() -> None:
    client = Client()
    response = client.post("/play/computer/", {"level": "medium"})
    room = Room.objects.get(code=response["Location"].split("/")[2])
    game = write.current_game(room)
    assert game.status == "playing"
    assert game.player_x.session_hash == session_hash(client.session.session_key)  # type: ignore[union-attr]
    assert (game.player_o.name, game.player_o.bot_level) == ("Computer (medium)", "medium")  # type: ignore[union-attr]


async def test_the_computer_declines_a_draw_and_agrees_to_a_rematch(room: Room, open_socket: OpenSocket) -> None:
    alice = await open_socket(room.code, await new_session_key())
    await alice.join("alice")
    await alice.send({"type": "add_computer", "level": "perfect"})
    await alice.next_state(status="playing")
    await move(alice, 0)
    await alice.next_state(moves=2)  # the computer's answer
    await alice.send({"type": "offer_draw"})
    await alice.next_state(offer={"kind": "draw", "by": "X"})
    declined = await alice.next_state(offer=None)
    assert (declined["game"]["status"], declined["game"]["moves"]) == ("playing", 2)
    await alice.send({"type": "resign"})
    await alice.next_state(status="resigned")
    await alice.send({"type": "rematch"})
    started = await alice.next_state(number=2)
    # Marks swap: the computer plays X now, and moves first on its own.
    assert (started["players"]["X"]["computer"], started["players"]["O"]["name"]) == ("perfect", "alice")
    assert (await alice.next_state(number=2, moves=1))["game"]["turn"] == "O"
