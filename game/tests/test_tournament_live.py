"""An arena over two real server processes that share one Redis and one database, one of them killed mid-event."""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import urllib.parse
import urllib.request
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import websockets
from websockets.exceptions import WebSocketException

from testing.live import Browser, LiveServer, manage, query

pytestmark = pytest.mark.live

# Fast rounds and a short lease, so that the survivor takes over within seconds of the kill.
ARENA = {"TICTAC_ARENA_TICK_SECONDS": "0.3", "TICTAC_ARENA_LEASE_SECONDS": "2"}
PLAYERS = 6
# Pairings before the kill, and after it (made by the survivor), before the end is called.
BEFORE_THE_KILL = 6
AFTER_THE_KILL = 6
WAIT = 60.0
FINISHED = ("won", "draw", "resigned", "timeout", "abandoned", "aborted")


def create_tournament(database: str, name: str) -> int:
    manage(
        database,
        "from datetime import timedelta; from game.actions import tournaments, write; "
        f"tournaments.create_tournament({name!r}, starts_at=write.now(), duration=timedelta(minutes=30), "
        "time_control='move:30')",
    )
    ((tournament_id,),) = query(database, "SELECT id FROM game_tournament WHERE name = %s", (name,))
    return int(tournament_id)


def join(browser: Browser, server: LiveServer, tournament_id: int, name: str) -> None:
    """Press the tournament page's join button, as a person would."""
    page = f"/tournaments/{tournament_id}/"
    browser.visit(server, page)
    token = next(cookie.value for cookie in browser.jar if cookie.name == "csrftoken")
    data = urllib.parse.urlencode({"name": name, "csrfmiddlewaretoken": token}).encode()
    request = urllib.request.Request(server.url + page + "join/", data=data, headers={"Referer": server.url + page})
    with browser.opener.open(request, timeout=10) as response:
        assert response.url == server.url + page


class ArenaPlayer:
    """A person on the tournament page who plays each game they are sent to, quickly, to a win for X.

    X takes the first free of 0, 1, 2…, O the first free of 3, 4, 5…: X wins on the top row at move 5.
    When their server goes away they open the page again on the other one, which sends them back to the
    game they were playing, if it is still on.
    """

    def __init__(self, name: str, browser: Browser, server: LiveServer, tournament_id: int) -> None:
        self.name = name
        self.browser = browser
        self.server = server
        self.tournament_id = tournament_id
        self.rooms: list[str] = []
        """Every room the server sent this player to, in order, once each."""
        self.finished = False

    async def run(self, survivor: list[LiveServer]) -> None:
        while not self.finished:
            try:
                await self._on_the_page()
            except (WebSocketException, OSError):  # its server died: mid-game, or as a socket opened
                self.server = survivor[0]  # reconnect at once: a person's page does, with backoff

    async def _on_the_page(self) -> None:
        path = f"{self.server.ws_url}/ws/tournaments/{self.tournament_id}/"
        async with websockets.connect(path, additional_headers=self.browser.ws_headers(self.server)) as page:
            while not self.finished:
                message = json.loads(await asyncio.wait_for(page.recv(), WAIT))
                if (
                    message["type"] == "tournament"
                    and message["status"] == "finished"
                    and not message["you"]["playing"]
                ):
                    self.finished = True
                elif message["type"] == "paired":
                    if message["room"] not in self.rooms:
                        self.rooms.append(message["room"])
                    await self._play(message["room"])

    async def _play(self, code: str) -> None:
        path = f"{self.server.ws_url}/ws/rooms/{code}/"
        async with websockets.connect(path, additional_headers=self.browser.ws_headers(self.server)) as room:
            while True:
                state = json.loads(await asyncio.wait_for(room.recv(), WAIT))
                if state["type"] != "state":
                    continue
                game, mark = state["game"], state["you"]["mark"]
                if game["status"] in FINISHED:
                    return
                if game["status"] == "playing" and game["turn"] == mark:
                    mine = range(0, 9) if mark == "X" else range(3, 9)
                    cell = next(cell for cell in mine if game["board"][cell] == "")
                    await room.send(json.dumps({"type": "move", "cell": cell, "id": f"{code}-{game['moves']}"}))


async def _until(condition: Any, what: str) -> None:
    """Poll the shared database until ``condition()`` holds (the servers' work is what is waited for)."""
    for _ in range(int(WAIT / 0.2)):
        if condition():
            return
        await asyncio.sleep(0.2)  # polling a condition, not hoping a message arrived
    raise AssertionError(f"timed out waiting for {what}")


def _moment(value: datetime | str) -> datetime:
    """A timestamp as the database gave it: PostgreSQL's a datetime, SQLite's text in UTC."""
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def _lease_holder_pid(database: str, tournament_id: int) -> int:
    ((holder,),) = query(database, "SELECT holder FROM game_tournamentlease WHERE tournament_id = %s", (tournament_id,))
    return int(str(holder).split(":")[-2])


async def test_an_arena_on_two_workers_loses_and_doubles_no_pairing_when_the_pairing_worker_is_killed(
    database: str, tmp_path: Path
) -> None:
    servers = [LiveServer("daphne", database, tmp_path / f"daphne-{n}.log", **ARENA).start() for n in range(2)]
    try:
        tournament_id = create_tournament(database, f"Live arena {secrets.token_hex(3)}")
        players = []
        for number in range(PLAYERS):
            browser, server = Browser(), servers[number % 2]  # three players on each worker
            join(browser, server, tournament_id, f"player{number}")
            players.append(ArenaPlayer(f"player{number}", browser, server, tournament_id))
        survivor: list[LiveServer] = []
        playing = [asyncio.ensure_future(player.run(survivor)) for player in players]

        def pairings() -> int:
            ((count,),) = query(
                database, "SELECT count(*) FROM game_tournamentpairing WHERE tournament_id = %s", (tournament_id,)
            )
            return int(count)

        await _until(lambda: pairings() >= BEFORE_THE_KILL, f"{BEFORE_THE_KILL} pairings")
        leader_pid = _lease_holder_pid(database, tournament_id)
        (leader,) = [server for server in servers if server.process is not None and server.process.pid == leader_pid]
        survivor.append(next(server for server in servers if server is not leader))
        assert leader.process is not None
        leader.process.kill()  # no goodbye: its sockets drop, its lease is left to run out
        leader.process.wait()
        killed_at = pairings()

        await _until(lambda: pairings() >= killed_at + AFTER_THE_KILL, "pairings after the kill")
        assert survivor[0].process is not None
        assert _lease_holder_pid(database, tournament_id) == survivor[0].process.pid
        end = f"from game.actions import tournaments; tournaments.end_now(tournaments.get_tournament({tournament_id}))"
        await asyncio.to_thread(manage, database, end)
        await asyncio.wait_for(asyncio.gather(*playing), WAIT)

        rows = query(
            database,
            "SELECT p.id, x.name, o.name, r.code, g.status, p.paired_at, g.finished_at"
            " FROM game_tournamentpairing p JOIN game_room r ON r.id = p.room_id"
            " JOIN game_game g ON g.room_id = r.id AND g.number = 1"
            " JOIN game_tournamententry x ON x.id = p.entry_x_id JOIN game_tournamententry o ON o.id = p.entry_o_id"
            " WHERE p.tournament_id = %s ORDER BY p.id",
            (tournament_id,),
        )
        assert len(rows) >= BEFORE_THE_KILL + AFTER_THE_KILL
        sent_to = {player.name: player.rooms for player in players}
        games_of: dict[str, list[tuple[Any, Any]]] = defaultdict(list)
        for _, x, o, code, status, paired_at, finished_at in rows:
            # Not lost: both players were sent to the room, and played its game to the end.
            assert code in sent_to[x]
            assert code in sent_to[o]
            assert status == "won", (code, status)
            games_of[x].append((paired_at, finished_at))
            games_of[o].append((paired_at, finished_at))
        # Not doubled: nobody was sent to a room the arena did not pair them into, and nobody's games overlap.
        assert sorted(code for rooms in sent_to.values() for code in rooms) == sorted([row[3] for row in rows] * 2)
        for games in games_of.values():
            for (_, ended), (next_paired, _) in itertools.pairwise(games):
                assert _moment(next_paired) >= _moment(ended)
    finally:
        for server in servers:
            server.stop()
