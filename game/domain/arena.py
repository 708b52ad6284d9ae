"""Arena tournaments' arithmetic, as lichess's arena does it: the score, the standings, and who plays whom.

Pure: plain values in, values out; no Django, no I/O, no reading of the
time. The service layer (game.actions.tournaments) reads the games and the clock
and hands them here.

**Scoring.** A win scores 2, a draw 1, a loss 0. After two wins in a row a
player is on fire: each game scores double (a win 4, a draw 2) until one is
not won. A game that counts for nothing (aborted, or over before both had
moved) is left out before it gets here: it neither scores nor breaks a streak.

>>> sheet(["win", "win", "win", "draw", "win"]).points
(2, 2, 4, 2, 2)
>>> sheet(["win", "win", "win", "draw", "win"]).score
12

**Pairing.** Free players (joined, on the tournament page, not in a game)
are paired in rank order, each with the nearest free player below them, so
opponents are close in score. Nobody meets their last opponent again while
anyone else is free; when the two of them are all there is, they do.

>>> free = [Candidate(1, rank=1, last_opponent=2), Candidate(2, rank=2, last_opponent=1), Candidate(3, rank=3)]
>>> pairings(free)
[(1, 3)]
>>> pairings(free[:2])
[(1, 2)]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

Result = Literal["win", "draw", "loss"]
Status = Literal["created", "started", "finished"]

POINTS: Final[dict[Result, int]] = {"win": 2, "draw": 1, "loss": 0}
# Wins in a row after which every game scores double, until one is not won.
FIRE_AFTER_WINS: Final = 2


@dataclass(frozen=True)
class Sheet:
    """One player's games in a tournament, in the order they ended: each one's points, and the streak now."""

    points: tuple[int, ...] = ()
    streak: int = 0
    """Games won in a row, up to now (0 after anything but a win)."""
    wins: int = 0
    draws: int = 0
    losses: int = 0

    @property
    def score(self) -> int:
        return sum(self.points)

    @property
    def games(self) -> int:
        return len(self.points)

    @property
    def on_fire(self) -> bool:
        """Whether the next game scores double."""
        return self.streak >= FIRE_AFTER_WINS


def sheet(results: Iterable[Result]) -> Sheet:
    """The sheet of a player whose counted games ended with ``results``, in that order.

    >>> sheet([]).score, sheet([]).on_fire
    (0, False)
    >>> fire = sheet(["win", "win"])
    >>> fire.points, fire.on_fire
    ((2, 2), True)
    >>> sheet(["win", "win", "draw"]).points  # a draw on fire scores 2, and puts the fire out
    (2, 2, 2)
    >>> sheet(["win", "win", "draw", "win"]).points
    (2, 2, 2, 2)
    >>> sheet(["win", "loss", "win", "win", "win", "loss", "draw"]).points
    (2, 0, 2, 2, 4, 0, 1)
    >>> sheet(["draw", "draw", "win"]).streak  # draws are no streak: only wins in a row are
    1
    """
    points: list[int] = []
    streak = wins = draws = losses = 0
    for result in results:
        points.append(POINTS[result] * (2 if streak >= FIRE_AFTER_WINS else 1))
        if result == "win":
            streak += 1
            wins += 1
        else:
            streak = 0
            draws += result == "draw"
            losses += result == "loss"
    return Sheet(tuple(points), streak, wins, draws, losses)


@dataclass(frozen=True)
class Entrant:
    """A player in the standings: ``key`` names them (and, lower first, says who joined first)."""

    key: int
    sheet: Sheet


def standings(entrants: Iterable[Entrant]) -> list[Entrant]:
    """Best first: the higher score, then (as fewer games for as many points) the fewer games, then who joined first.

    >>> one_win, won_then_lost = Entrant(1, sheet(["win"])), Entrant(2, sheet(["win", "loss"]))
    >>> [entrant.key for entrant in standings([won_then_lost, Entrant(3, sheet(["win", "win", "loss"])), one_win])]
    [3, 1, 2]
    """
    return sorted(entrants, key=lambda entrant: (-entrant.sheet.score, entrant.sheet.games, entrant.key))


@dataclass(frozen=True)
class Candidate:
    """A free player, as pairing sees them: their rank in the standings, and whom they played last."""

    key: int
    rank: int
    last_opponent: int | None = None


def may_meet(first: Candidate, second: Candidate) -> bool:
    """Whether neither played the other in their last game."""
    return first.last_opponent != second.key and second.last_opponent != first.key


def pairings(free: Sequence[Candidate]) -> list[tuple[int, int]]:
    """Who plays whom among the ``free`` players, each pair's better-ranked first; an odd one out waits.

    Each player in rank order takes the nearest free player below them they
    may meet. Two left over who may not meet (last game's opponents) trade
    places with a pair, when one lets them: each takes one of its players.

    >>> pairings([Candidate(key, rank=key) for key in (4, 3, 2, 1)])
    [(1, 2), (3, 4)]
    >>> pairings([Candidate(1, 1, 2), Candidate(2, 2, 1), Candidate(3, 3, 4), Candidate(4, 4, 3)])
    [(1, 3), (2, 4)]
    >>> pairings([Candidate(1, 1)])
    []

    Here 1 takes 2 (3 and 4 played each other last), and the two left
    over trade with that pair:

    >>> pairings([Candidate(1, 1), Candidate(2, 2), Candidate(3, 3, 4), Candidate(4, 4, 3)])
    [(1, 3), (2, 4)]

    Three who each played one of the others last cannot all be kept apart:

    >>> pairings([Candidate(1, 1, 2), Candidate(2, 2, 3), Candidate(3, 3, 1)])
    []
    """
    ordered = sorted(free, key=lambda candidate: candidate.rank)
    if len(ordered) == 2:
        # Nobody else is free: even the last game's two play again rather than wait for nobody.
        return [(ordered[0].key, ordered[1].key)]
    pairs: list[tuple[Candidate, Candidate]] = []
    left: list[Candidate] = []
    waiting = list(ordered)
    while waiting:
        first = waiting.pop(0)
        partner = next((candidate for candidate in waiting if may_meet(first, candidate)), None)
        if partner is None:
            left.append(first)
            continue
        waiting.remove(partner)
        pairs.append((first, partner))
    while len(left) >= 2 and _trade(pairs, left):
        pass
    return sorted((first.key, second.key) for first, second in pairs)


def _trade(pairs: list[tuple[Candidate, Candidate]], left: list[Candidate]) -> bool:
    """Break one pair so that two of ``left`` each play one of its players; whether one could be (both lists change)."""
    for index, first in enumerate(left):
        for second in left[index + 1 :]:
            for number, pair in enumerate(pairs):
                for one, other in (pair, pair[::-1]):
                    if may_meet(first, one) and may_meet(second, other):
                        pairs[number : number + 1] = [_in_rank_order(first, one), _in_rank_order(second, other)]
                        left.remove(first)
                        left.remove(second)
                        return True
    return False


def _in_rank_order(first: Candidate, second: Candidate) -> tuple[Candidate, Candidate]:
    return (first, second) if first.rank <= second.rank else (second, first)


def status(now: datetime, starts_at: datetime, ends_at: datetime) -> Status:
    """``created`` before the start, ``started`` until the end, then ``finished``.

    Games still being played at the end go on, and count when they end.

    >>> from datetime import timedelta
    >>> start = datetime(2026, 1, 1, 20, 0)
    >>> [status(start + timedelta(minutes=m), start, start + timedelta(minutes=30)) for m in (-1, 0, 29, 30)]
    ['created', 'started', 'started', 'finished']
    """
    if now < starts_at:
        return "created"
    return "started" if now < ends_at else "finished"
