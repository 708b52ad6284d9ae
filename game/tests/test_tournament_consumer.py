"""A tournament page's socket, the arena's task and the lobby's news, in process against the test's real Redis.

The feed's own task is slowed to an hour here: each test runs its ticks itself
(``tournament_feed.tick``), so what a tick does is what the test says.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from channels.db import database_sync_to_async

from game.actions import arena_rounds, identities, moves, tournaments, write
from game.models import Player, Room, TournamentEntry, session_hash
from game.realtime.tournament_feed import announce_started, tournament_feed
from game.tournament_models import Tournament
from testing.clients import Socket, new_session_key

OpenSocket = Callable[..., Awaitable[Socket]]


@pytest.fixture(autouse=True)
def no_background_ticks(settings: Any) -> None:
    settings.TICTAC = {**settings.TICTAC, "ARENA_TICK_SECONDS": 3600.0}


@pytest.fixture
async def open_page(transactional_db: None) -> AsyncIterator[OpenSocket]:
    """Open sockets to tournament pages (connected, nothing read); every one is closed after the test."""
    opened: list[Socket] = []

    async def open_(tournament_id: int, session_key: str | None = None) -> Socket:
        socket = Socket(f"/ws/tournaments/{tournament_id}/", session_key)
        await socket.connect()
        opened.append(socket)
        return socket

    yield open_
    for socket in opened:
        await socket.close()


@database_sync_to_async
def running_tournament(**settings: Any) -> Tournament:
    return tournaments.create_tournament(
        "Socket arena", starts_at=write.now(), duration=timedelta(minutes=30), **settings
    )


@database_sync_to_async
def joined(tournament: Tournament, session_key: str, name: str) -> TournamentEntry:
    return tournaments.join(tournament, identities.Identity(session_key=session_key), name)


async def player(tournament: Tournament, name: str) -> str:
    """A visitor's session that joined ``tournament`` as ``name``."""
    key = await new_session_key()
    await joined(tournament, key, name)
    return key


async def test_an_unknown_tournament_is_closed_with_4404(open_page: OpenSocket) -> None:
    assert await (await open_page(987654)).close_code() == 4404


async def test_a_spectator_gets_the_standings_and_a_player_gets_their_place_in_them(open_page: OpenSocket) -> None:
    tournament = await running_tournament(size=4, win_length=3)
    alice = await player(tournament, "alice")
    spectator = await open_page(tournament.pk, await new_session_key())
    seen = await spectator.next_message("tournament")
    assert (seen["id"], seen["name"], seen["status"], seen["size"], seen["win_length"]) == (
        tournament.pk,
        "Socket arena",
        "started",
        4,
        3,
    )
    assert seen["players"] == [
        {
            "name": "alice",
            "score": 0,
            "games": 0,
            "streak": 0,
            "rank": 1,
            "points": [],
            "fire": False,
            "playing": False,
            "active": True,
        }
    ]
    assert seen["you"] is None
    mine = await (await open_page(tournament.pk, alice)).next_message("tournament")
    assert mine["you"] == {"name": "alice", "rank": 1, "active": True, "playing": False}


async def test_two_players_on_the_page_are_paired_and_both_sent_to_one_room(open_page: OpenSocket) -> None:
    tournament = await running_tournament(time_control="budget:60+2")
    alice, bob = await player(tournament, "alice"), await player(tournament, "bob")
    watcher = await open_page(tournament.pk)
    await watcher.next_message("tournament")
    pages = [await open_page(tournament.pk, key) for key in (alice, bob)]
    for page in pages:
        await page.next_message("tournament")
    await tournament_feed.tick(tournament.pk)
    told = [await page.next_message("paired") for page in pages]
    assert told[0] == told[1]
    code = told[0]["room"]
    assert told[0]["url"] == f"/rooms/{code}/"
    room = await database_sync_to_async(Room.objects.get)(code=code)
    assert (room.name, room.time_control) == ("Socket arena", "budget:60+2")
    # Everyone on the page sees both playing now.
    standings = await watcher.next_message("tournament")
    assert [(entry["name"], entry["playing"]) for entry in standings["players"]] == [
        ("alice", True),
        ("bob", True),
    ]
    assert standings["games_in_play"] == 1


async def test_a_pairing_nobody_told_of_reaches_its_players_from_any_process(open_page: OpenSocket) -> None:
    tournament = await running_tournament()
    alice, bob = await player(tournament, "alice"), await player(tournament, "bob")
    page = await open_page(tournament.pk, alice)
    await page.next_message("tournament")
    await database_sync_to_async(tournaments.mark_present)(tournament.pk, [await _player_id(bob)])
    # The leader paired them and died before it published anything.
    (new,) = (await arena_rounds.arun_round(tournament.pk, "a process that died")).paired
    await tournament_feed.keep_present(tournament.pk)  # this process's next look at its sockets' players
    assert (await page.next_message("paired"))["room"] == new.room.code
    # And bob, opening the page only now, is sent to his game at once.
    bobs_page = await open_page(tournament.pk, bob)
    await bobs_page.next_message("tournament")
    assert (await bobs_page.next_message("paired"))["room"] == new.room.code


async def test_a_finished_game_changes_the_standings_on_every_page(open_page: OpenSocket) -> None:
    tournament = await running_tournament()
    alice, bob = await player(tournament, "alice"), await player(tournament, "bob")
    pages = [await open_page(tournament.pk, key) for key in (alice, bob)]
    for page in pages:
        await page.next_message("tournament")
    await tournament_feed.tick(tournament.pk)
    code = (await pages[0].next_message("paired"))["room"]
    assert (await pages[1].next_message("paired"))["room"] == code
    room = await database_sync_to_async(Room.objects.get)(code=code)
    game = await write.acurrent_game(room)
    x, o = game.player_x_id, game.player_o_id
    await moves.aplay_move(room, x, 4)
    await moves.aplay_move(room, o, 0)
    await moves.aresign(room, o)
    await tournament_feed.tick(tournament.pk)
    winner = await database_sync_to_async(lambda: TournamentEntry.objects.get(player_id=x).name)()
    # The tick counts the game and, nobody else being free, pairs the two again: bob's page hears both.
    after, sent_to = None, None
    while after is None or sent_to is None:
        message = await pages[1].receive()
        if message["type"] == "tournament" and message["players"][0]["games"]:
            after = message
        elif message["type"] == "paired":
            sent_to = message["room"]
    leader = after["players"][0]
    assert (leader["name"], leader["score"], leader["games"], leader["rank"]) == (winner, 2, 1, 1)
    assert sent_to != code


async def test_closing_a_players_last_socket_makes_them_absent(open_page: OpenSocket) -> None:
    tournament = await running_tournament()
    alice = await player(tournament, "alice")
    page = await open_page(tournament.pk, alice)
    await page.next_message("tournament")
    assert await _seen_ahead(tournament) == {"alice": True}
    await page.close()
    assert await _seen_ahead(tournament) == {"alice": False}


async def test_every_open_lobby_is_told_once_when_a_tournament_starts(transactional_db: None) -> None:
    tournament = await database_sync_to_async(tournaments.create_tournament)(
        "Lobby arena", starts_at=write.now() + timedelta(minutes=1), duration=timedelta(minutes=30)
    )
    lobbies = [Socket("/ws/lobby/") for _ in range(2)]
    for lobby in lobbies:
        await lobby.connect()
        await lobby.next_message("stats")
    assert await announce_started() == 0  # not yet started
    await database_sync_to_async(lambda: Tournament.objects.filter(pk=tournament.pk).update(starts_at=write.now()))()
    assert await announce_started() == 1
    for lobby in lobbies:
        told = (await lobby.next_message("tournament"))["tournament"]
        assert (told["id"], told["name"], told["status"], told["url"]) == (
            tournament.pk,
            "Lobby arena",
            "started",
            f"/tournaments/{tournament.pk}/",
        )
    assert await announce_started() == 0  # once
    for lobby in lobbies:
        await lobby.close()


@database_sync_to_async
def _player_id(session_key: str) -> int:
    return Player.objects.get(session_hash=session_hash(session_key)).pk


@database_sync_to_async
def _seen_ahead(tournament: Tournament) -> dict[str, bool]:
    at = write.now()
    return {
        entry.name: entry.seen_until is not None and entry.seen_until > at
        for entry in TournamentEntry.objects.filter(tournament=tournament)
    }
