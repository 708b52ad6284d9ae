"""The lobby: what a visitor can act on now (open challenges, then games to watch), and the live line's counts.

A room is listed while someone can act on it (``RoomState.summary``'s
``listed``): its game waits for a second player and the first is here, or
two players who are both here are playing it. Only a room someone is
present in can qualify, so one read of the lobby starts from presence (the
rooms with activity lately, in Redis) and asks the database only about the
rooms someone is in now.
"""

from __future__ import annotations

import math
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any, Final

from channels.db import database_sync_to_async
from django.db.models import OuterRef, Subquery

from game.messages.state import build
from game.models import Game
from game.realtime.presence import PresenceSnapshot, presence

LOBBY_GROUP = "lobby"
LOBBY_LIMIT: Final = 50
# Rooms with someone present this recently are read. A room with a socket in it refreshes its activity
# every few seconds, so this is far more than enough; it also keeps a room a dead process left
# behind readable (listed false) long after its presence expired.
RECENT_SECONDS: Final = 10 * 60
# An upper bound on the rooms one lobby read looks at, however many there are: the most recently active.
ACTIVE_ROOMS_READ: Final = 500

# The lobby's sections, in order.
CHALLENGES: Final = 0
GAMES: Final = 1


@dataclass(frozen=True)
class LobbyStats:
    """The live line: "N players online · M games in play"."""

    players_online: int
    """Distinct sessions with a socket in some room now (players and spectators), over every worker."""
    games_in_play: int
    """Games being played with both players here (the computer always is): the lobby's games, past its limit too."""

    def message(self) -> dict[str, Any]:
        return {"type": "stats", "players_online": self.players_online, "games_in_play": self.games_in_play}


@dataclass(frozen=True)
class Lobby:
    """One read of the lobby."""

    summaries: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Every room read, by code: the listed ones first, in the lobby's order, then the others."""
    stats: LobbyStats = LobbyStats(0, 0)

    @property
    def rooms(self) -> list[dict[str, Any]]:
        """What the lobby shows: at most ``LOBBY_LIMIT`` listed rooms, in its order."""
        return [summary for summary in self.summaries.values() if summary["listed"]][:LOBBY_LIMIT]

    @property
    def listed_codes(self) -> frozenset[str]:
        """Every listed room, past the limit too."""
        return frozenset(code for code, summary in self.summaries.items() if summary["listed"])


def section(summary: dict[str, Any]) -> int:
    """Which section a listed room is in: an open challenge, or a game to watch."""
    return CHALLENGES if summary["status"] == "waiting" else GAMES


def _current_games(room_codes: list[str]) -> list[Game]:
    """The current game of each of these rooms (a closed room's too: its summary says it is not listed)."""
    latest_number = Game.objects.filter(room=OuterRef("room")).order_by("-number").values("number")[:1]
    return list(
        Game.objects.filter(room__code__in=room_codes, number=Subquery(latest_number))
        .select_related("room", "player_x", "player_o")
        .order_by()
    )


def _players_online(seen: dict[str, PresenceSnapshot]) -> int:
    sessions: set[str] = set()
    for snapshot in seen.values():
        sessions |= snapshot.sessions
    return len(sessions)


def read_lobby(also: Collection[str] = ()) -> Lobby:
    """The lobby now (docs/protocol.md, "Lobby feed"): two Redis round trips per shard, at most one query.

    ``also``: rooms to summarize even if nobody is in them now (rooms a page lists, to tell it they left).
    """
    store = presence()
    activity = store.active_rooms_blocking(time.time() - RECENT_SECONDS, ACTIVE_ROOMS_READ)
    extra = [code for code in also if code not in activity]
    if not activity and not extra:
        return Lobby()
    seen = store.snapshots_blocking([*activity, *extra])
    # Nobody here, nothing to act on: the database is asked only about rooms with a socket in them now.
    occupied = [code for code, snapshot in seen.items() if snapshot.sessions or snapshot.anonymous]
    asked = sorted({*occupied, *also})
    games = _current_games(asked) if asked else []
    ordered = []
    for game in games:
        summary = build(game.room, game, seen[game.room.code]).summary()
        ordered.append((not summary["listed"], section(summary), -game.updated_at.timestamp(), summary))
    ordered.sort(key=lambda entry: entry[:3])
    summaries = {summary["code"]: summary for *_, summary in ordered}
    games_in_play = sum(1 for summary in summaries.values() if summary["listed"] and section(summary) == GAMES)
    return Lobby(summaries, LobbyStats(_players_online(seen), games_in_play))


def _amount(seconds: int) -> str:
    return f"{seconds // 60} min" if seconds >= 60 and seconds % 60 == 0 else f"{seconds} s"


def time_control_words(control: dict[str, Any] | None) -> str:
    """ "15 s per move", "1 min + 2 s", "5 min": as static/game/words.js says it ('' for none)."""
    if not control:
        return ""
    if control["kind"] == "move":
        return f"{_amount(control['seconds'])} per move"
    increment = control.get("increment")
    return _amount(control["seconds"]) + (f" + {increment} s" if increment else "")


def rating_words(rating: dict[str, Any] | None) -> str:
    """ "1512", or "1512?" while provisional; '' for no rating."""
    if not rating or rating.get("value") is None:
        return ""
    value = math.floor(rating["value"] + 0.5)  # as the page's Math.round: 1512.5 is 1513
    return f"{value}{'?' if rating.get('provisional') else ''}"


def row_words(summary: dict[str, Any]) -> dict[str, str]:
    """A listed room in the words its row shows (static/game/lobby.js draws the same from the feed)."""
    ratings = summary.get("ratings") or {}

    def seat(mark: str) -> str:
        name = summary["names"][mark]
        if name is None:
            return "—"
        rating = rating_words(ratings.get(mark))
        return f"{name} ({rating})" if rating else name

    rules = [f"{summary['size']}×{summary['size']}", f"{summary['win_length']} in a row"]
    if control := time_control_words(summary["time_control"]):
        rules.append(control)
    if summary.get("rated"):
        rules.append("rated")
    return {
        "code": summary["code"],
        "name": summary["name"] or summary["code"],
        "rules": " · ".join(rules),
        "players": f"{seat('X')} vs {seat('O')}",
        "here": f"{summary['here']} here",
        "status": "Join now" if section(summary) == CHALLENGES else "Playing",
        "section": str(section(summary)),
        "game_status": summary["status"],
    }


aread_lobby = database_sync_to_async(read_lobby)
