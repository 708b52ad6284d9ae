"""The lobby lists only what a visitor can act on now: open challenges first, then games to watch."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client

from game.actions import computer, hosts, identities, moves, rooms, seating, write
from game.domain import pools
from game.messages.lobby import GAMES, LOBBY_LIMIT, row_words, section
from game.models import Room, Status
from game.realtime.lobby_feed import lobby_feed
from game.realtime.lobby_reads import read_lobby
from game.realtime.presence import presence
from testing.clients import Socket, make_room, new_session_key


@pytest.fixture(autouse=True)
def nobody_online(settings: Any) -> Iterator[None]:
    """Redis starts without anyone present: the counts are of every room, and earlier tests' sockets linger
    there (their rooms went with their database); and this module's leave none behind."""

    def empty() -> None:
        for url in settings.REDIS_URLS:
            with redis.Redis.from_url(url) as client:
                client.flushdb()

    empty()
    yield
    empty()


@pytest.fixture
def fast_feed() -> Iterator[None]:
    """The feed's task reads the lobby every tenth of a second, not every few seconds."""
    every = lobby_feed.every
    lobby_feed.every = 0.1
    yield
    lobby_feed.every = every


class Visitor:
    """A session seated in a room through the service layer, with a socket in it (in presence) or not."""

    def __init__(self, room: Room, name: str | None) -> None:
        session = SessionStore()
        session["visitor"] = True
        session.create()
        self.identity = identities.identify(session)
        self.room = room
        self.socket = f"test.{room.code}.{self.identity.session_hash}"
        if name is not None:
            seating.join(room, self.identity, name)
            self.identity = identities.identify(session)

    def arrive(self, room: Room | None = None) -> Visitor:
        """Open a socket in its room (or in ``room``)."""
        assert self.identity.session_hash is not None
        code = (room or self.room).code
        async_to_sync(presence().add)(code, f"{self.socket}.{code}", self.identity.session_hash)
        return self

    async def aleave(self) -> None:
        """Its socket is gone, and nobody said so (its server process died)."""
        await presence().remove(self.room.code, f"{self.socket}.{self.room.code}", self.identity.session_hash)


def challenge(name: str, player: str, **room_fields: Any) -> Room:
    """A room whose one seated player is here, waiting for an opponent."""
    room = rooms.create_room(name=name, **room_fields)
    Visitor(room, player).arrive()
    return room


def game_in_play(name: str, *, here: tuple[bool, bool] = (True, True)) -> tuple[Room, Visitor, Visitor]:
    room = rooms.create_room(name=name)
    x, o = Visitor(room, f"{name}-x"), Visitor(room, f"{name}-o")
    for visitor, present in zip((x, o), here, strict=True):
        if present:
            visitor.arrive()
    assert write.current_game(room).status == Status.PLAYING
    return room, x, o


def listed_codes() -> list[str]:
    return [summary["code"] for summary in read_lobby().rooms]


# --- What is listed ----------------------------------------------------------


@pytest.mark.django_db
def test_a_room_with_a_present_waiting_player_is_listed_with_their_name_and_whether_it_is_rated() -> None:
    room = challenge("Rated duel", "alice", rated=True, time_control="move:15")
    (summary,) = read_lobby().rooms
    assert summary["code"] == room.code
    assert summary["listed"]
    assert summary["joinable"]
    assert summary["names"] == {"X": "alice", "O": None}
    assert summary["rated"] is True
    assert summary["time_control"] == {"kind": "move", "seconds": 15}
    assert summary["ratings"] == {"X": None, "O": None}  # a guest has no rating
    words = row_words(summary)
    assert (words["players"], words["status"]) == ("alice vs —", "Join now")
    assert words["rules"] == "3×3 · 3 in a row · 15 s per move · rated"


@pytest.mark.django_db
def test_a_waiting_room_whose_player_is_not_here_is_not_listed() -> None:
    room = rooms.create_room(name="Left")
    Visitor(room, "alice")  # seated, but with no socket in the room
    Visitor(room, None).arrive()  # a spectator is no one to play against
    lobby = read_lobby()
    assert room.code not in listed_codes()
    assert lobby.summaries[room.code]["listed"] is False


@pytest.mark.django_db
def test_a_finished_game_is_not_listed_though_both_players_are_still_here() -> None:
    room, x, _ = game_in_play("Over")
    moves.resign(room, x.identity.player_id)
    assert room.code not in listed_codes()


@pytest.mark.django_db
def test_a_game_is_listed_only_while_both_its_players_are_here() -> None:
    both, _, _ = game_in_play("Both")
    one, _, _ = game_in_play("One", here=(True, False))
    none, _, _ = game_in_play("None", here=(False, False))
    assert listed_codes() == [both.code]
    assert one.code not in listed_codes()
    assert none.code not in listed_codes()


@pytest.mark.django_db
def test_a_game_against_the_computer_is_listed_while_its_person_is_here() -> None:
    room = rooms.create_room(name="Versus the machine")
    person = Visitor(room, "alice").arrive()
    computer.add_computer(room, person.identity, "easy")
    (summary,) = read_lobby().rooms
    assert (summary["code"], summary["status"]) == (room.code, "playing")


@pytest.mark.django_db
def test_a_closed_room_is_not_listed() -> None:
    room = challenge("Closing", "alice")
    hosts.close_room(room)
    assert listed_codes() == []


@pytest.mark.django_db
def test_challenges_come_first_then_games_each_most_recent_first() -> None:
    older_challenge = challenge("Older challenge", "a")
    older_game, _, _ = game_in_play("Older game")
    newer_challenge = challenge("Newer challenge", "b")
    newer_game, _, _ = game_in_play("Newer game")
    assert listed_codes() == [newer_challenge.code, older_challenge.code, newer_game.code, older_game.code]


@pytest.mark.django_db
def test_the_lobby_lists_at_most_its_limit_and_counts_every_game_in_play() -> None:
    listed = [game_in_play(f"g{number}")[0] for number in range(LOBBY_LIMIT + 1)]
    lobby = read_lobby()
    assert len(lobby.rooms) == LOBBY_LIMIT
    assert lobby.rooms[0]["code"] == listed[-1].code
    assert lobby.stats.games_in_play == LOBBY_LIMIT + 1


def test_a_seats_rating_shows_with_a_question_mark_while_provisional() -> None:
    summary = {
        "code": "abcd1234",
        "name": "Rated",
        "size": 7,
        "win_length": 4,
        "status": "playing",
        "names": {"X": "alice", "O": "bob"},
        "ratings": {"X": {"value": 1512.4, "provisional": True, "change": None}, "O": {"value": 1490}},
        "here": 2,
        "rated": True,
        "time_control": {"kind": "budget", "seconds": 180, "increment": 2},
    }
    words = row_words(summary)
    assert words["players"] == "alice (1512?) vs bob (1490)"
    assert words["rules"] == "7×7 · 4 in a row · 3 min + 2 s · rated"
    assert (words["status"], section(summary)) == ("Playing", GAMES)
    # A server without ratings (no "ratings" field) still describes the room.
    del summary["ratings"]
    assert row_words(summary)["players"] == "alice vs bob"


# --- The live line -------------------------------------------------------------


@pytest.mark.django_db
def test_the_stats_count_distinct_sessions_here_and_games_with_both_players_here() -> None:
    room, x, _ = game_in_play("Counted")
    Visitor(room, None).arrive()  # a spectator counts as online
    waiting = challenge("Waiting", "carol")
    x.arrive(waiting)  # one session in two rooms counts once
    game_in_play("Half gone", here=(True, False))  # here, but not a game both are playing
    assert read_lobby().stats.message() == {"type": "stats", "players_online": 5, "games_in_play": 1}


# --- The page --------------------------------------------------------------------


def _json_script(page: str, element_id: str) -> Any:
    match = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', page, re.S)
    assert match, element_id
    return json.loads(match.group(1))


@pytest.mark.django_db
def test_the_lobby_page_lists_its_rooms_as_plain_links_and_the_same_rooms_as_data(client: Client) -> None:
    waiting = challenge("Take me", "alice")
    playing, _, _ = game_in_play("Watch me")
    rooms.create_room(name="Nobody here")
    page = client.get("/").content.decode()
    links = re.findall(r'<a class="room-link" href="/rooms/([^/]+)/">\s*<span class="room-name">([^<]*)</span>', page)
    assert links == [(waiting.code, "Take me"), (playing.code, "Watch me")]
    assert [room["code"] for room in _json_script(page, "initial-rooms")] == [waiting.code, playing.code]
    assert "Nobody here" not in page
    assert "alice vs —" in page


@pytest.mark.django_db
def test_the_lobby_page_shows_the_live_line(client: Client) -> None:
    game_in_play("Counted")
    line = re.search(r'<p class="lobby-stats[^"]*" id="lobby-stats"[^>]*>([^<]*)</p>', client.get("/").content.decode())
    assert line
    assert html.unescape(line[1]) == "2 players online · 1 game in play"


@pytest.mark.django_db
def test_quick_play_offers_one_button_per_pool_and_sends_the_name_with_each_and_with_play_the_computer(
    client: Client,
) -> None:
    page = client.get("/").content.decode()
    form = re.search(r'<form method="post" action="/play/"[^>]*id="quick-play-form">(.*?)</form>', page, re.S)
    assert form
    buttons = re.findall(r'<button type="submit"[^>]*name="pool" value="([^"]+)"[^>]*>([^<]+)</button>', form[1])
    assert buttons == [(pool.key, pool.label) for pool in pools.PRESETS]
    assert 'name="name"' in form[1]
    assert 'name="csrfmiddlewaretoken"' in form[1]
    # "Play the computer" submits the same form (the typed name with it) to its own URL, with its level.
    assert re.search(r'<button type="submit"[^>]*id="play-computer" formaction="/play/computer/"', form[1])
    assert 'name="level"' in form[1]


@pytest.mark.django_db
def test_quick_play_and_the_list_come_before_the_create_form_in_the_page(client: Client) -> None:
    page = client.get("/").content.decode()
    assert page.index('id="quick-play-form"') < page.index('id="room-list"') < page.index('id="create-room"')


# --- The feed ------------------------------------------------------------------------


async def next_update(lobby: Socket, code: str) -> dict[str, Any]:
    """The next ``room`` update the lobby socket gets about room ``code``."""
    while True:
        message = await lobby.receive()
        if message["type"] == "room" and message["room"]["code"] == code:
            summary: dict[str, Any] = message["room"]
            return summary


async def open_lobby() -> tuple[Socket, dict[str, Any], dict[str, Any]]:
    """A lobby socket, with the list and the counts it is sent on connect."""
    lobby = Socket("/ws/lobby/")
    await lobby.connect()
    listed = await lobby.receive()
    stats = await lobby.receive()
    assert (listed["type"], stats["type"]) == ("rooms", "stats")
    return lobby, listed, stats


async def test_a_lobby_socket_gets_the_list_and_the_counts_on_connect(transactional_db: None) -> None:
    room = await database_sync_to_async(challenge)("Hello", "alice")
    lobby, listed, stats = await open_lobby()
    assert [summary["code"] for summary in listed["rooms"]] == [room.code]
    assert stats == {"type": "stats", "players_online": 1, "games_in_play": 0}
    await lobby.close()


async def test_a_challenge_enters_an_open_lobby_and_leaves_it_when_its_player_closes_the_tab(room: Room) -> None:
    lobby, listed, _ = await open_lobby()
    assert listed["rooms"] == []
    alice = await Socket.open(room.code, await new_session_key())
    await alice.join("alice")
    entered = await next_update(lobby, room.code)
    while not entered["listed"]:  # alice's socket came before her seat
        entered = await next_update(lobby, room.code)
    assert entered["names"]["X"] == "alice"
    assert entered["joinable"]
    await alice.close()
    left = await next_update(lobby, room.code)
    assert (left["listed"], left["open"], left["status"]) == (False, True, "waiting")
    await lobby.close()


async def test_a_challenge_taken_moves_to_the_games_and_leaves_when_the_game_ends(room: Room) -> None:
    alice = await Socket.open(room.code, await new_session_key())
    await alice.join("alice")
    lobby, listed, _ = await open_lobby()
    assert [(summary["code"], summary["status"]) for summary in listed["rooms"]] == [(room.code, "waiting")]
    bob = await Socket.open(room.code, await new_session_key())
    await bob.join("bob")
    playing = await next_update(lobby, room.code)
    while playing["status"] != "playing":
        playing = await next_update(lobby, room.code)
    assert playing["listed"]
    assert playing["names"] == {"X": "alice", "O": "bob"}
    await alice.send({"type": "resign"})
    over = await next_update(lobby, room.code)
    assert (over["status"], over["listed"]) == ("resigned", False)
    for socket in (alice, bob, lobby):
        await socket.close()


async def test_the_feed_drops_a_challenge_whose_players_process_died_without_a_goodbye(
    transactional_db: None, fast_feed: None
) -> None:
    room = await make_room(name="Ghost")
    alice = await database_sync_to_async(Visitor)(room, "alice")
    await database_sync_to_async(alice.arrive)()
    lobby, listed, _ = await open_lobby()
    assert [summary["code"] for summary in listed["rooms"]] == [room.code]
    await alice.aleave()  # nothing is published: only the feed's next read can tell
    gone = await next_update(lobby, room.code)
    assert (gone["listed"], gone["names"]["X"]) == (False, "alice")
    await lobby.close()


async def test_the_feed_sends_the_counts_when_they_change(transactional_db: None, fast_feed: None) -> None:
    lobby, _, stats = await open_lobby()
    assert stats["players_online"] == 0
    await database_sync_to_async(challenge)("Arrives", "alice")  # nothing published: the feed's read tells
    changed = await lobby.next_message("stats")
    assert (changed["players_online"], changed["games_in_play"]) == (1, 0)
    await lobby.close()
