"""The lobby: what a visitor can act on now (open challenges, then games to watch), and the live line's counts.

A room is listed while someone can act on it (``RoomState.summary``'s
``listed``): its game waits for a second player and the first is here, or
two players who are both here are playing it. This module holds the lobby's
values and their words; :mod:`game.realtime.lobby_reads` reads the lobby now.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Final

LOBBY_GROUP = "lobby"
LOBBY_LIMIT: Final = 50

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
