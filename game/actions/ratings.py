"""Ratings: the end of a rated game moves both players' Glicko-2 ratings in its board variant.

Each game is its own rating period (``glicko2.rate`` with one result), and
each side is rated against the other's rating from before the game. The
service layer calls :func:`record_result` in the transaction of the
compare-and-swap that ends a game: exactly one such swap lands per game, so
a game is counted once however many processes race to end it.

Two accounts that play each other over and over (a farm: one feeding the
other wins) move each other's ratings less with each game: the first
``PAIR_FULL_GAMES`` rated games of a pair in ``PAIR_WINDOW`` count fully, the
next ones half as much as the one before, and a game past ``PAIR_CAP`` not
at all (:func:`pair_weight`). A game's weight scales how far it moves the
ratings, Glicko-2 still doing the sums.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, Q, QuerySet

from game.domain import glicko2, rules
from game.models import FINISHED_STATUSES, Game, Player, RatedGame, Rating, Room, Status

# How fast volatility may move (Glickman suggests 0.3 to 1.2); small for a game of few surprises.
TAU = 0.5
# The endings that count: every finished game (a win of either kind, or a draw) but an aborted one.
RATED_STATUSES = frozenset(FINISHED_STATUSES) - {Status.ABORTED}
# A rating whose deviation is above this is provisional, shown with a "?" (lichess's line): it
# has been measured in too few games to be trusted. A new rating's deviation is 350; about
# six games against established players bring it below.
PROVISIONAL_DEVIATION = 110.0
# A game counts only once each player has made a move: one ended earlier (a resignation at
# move 0, a claim, an agreed draw) tells nothing of how either plays.
MOVES_TO_COUNT = 2
# Same-pair damping: in any PAIR_WINDOW, a pair's first PAIR_FULL_GAMES rated games count fully,
# the next ones 1/2, 1/4, 1/8, 1/16, 1/32, and none past the PAIR_CAP-th (the 9th on). So two
# accounts move each other's ratings by at most about four games' worth a day (3 + 31/32),
# whatever number of games they play; honest rivals lose nothing in their first three.
PAIR_WINDOW = timedelta(hours=24)
PAIR_FULL_GAMES = 3
PAIR_CAP = 8
# The leaderboard lists an established rating only: not provisional, and measured in at least
# ESTABLISHED_GAMES rated games against at least ESTABLISHED_OPPONENTS different accounts, so
# that no pair of accounts can put one of them there alone.
ESTABLISHED_GAMES = 5
ESTABLISHED_OPPONENTS = 3


def pair_weight(earlier: int) -> float:
    """How much a pair's rated game counts when the pair had ``earlier`` rated games in the window.

    >>> [pair_weight(n) for n in range(9)]
    [1.0, 1.0, 1.0, 0.5, 0.25, 0.125, 0.0625, 0.03125, 0.0]
    """
    if earlier < PAIR_FULL_GAMES:
        return 1.0
    if earlier >= PAIR_CAP:
        return 0.0
    return 0.5 ** (earlier - PAIR_FULL_GAMES + 1)


def is_provisional(deviation: float) -> bool:
    """Whether a rating with this deviation is shown as provisional ("1662?")."""
    return deviation > PROVISIONAL_DEVIATION


def rating_words(rating: float, deviation: float) -> str:
    """A rating as every page prints it: "1662", or "1662?" while provisional."""
    return f"{round(rating)}{'?' if is_provisional(deviation) else ''}"


def is_established(row: Rating) -> bool:
    """Whether ``row`` belongs on the leaderboard: not provisional, enough games, enough different opponents."""
    return (
        not is_provisional(row.deviation) and row.games >= ESTABLISHED_GAMES and row.opponents >= ESTABLISHED_OPPONENTS
    )


def counts(game: Game) -> bool:
    """Whether a finished ``game`` counts for anything (ratings, the room's series): both players have moved."""
    return game.move_count >= MOVES_TO_COUNT


def at_board(room: Room, seats: Mapping[str, Player | None]) -> dict[str, Any]:
    """What the board shows beside each seated account: its username and its rating in the room's variant.

    ``{"X": {"username": "alice", "value": 1512, "provisional": true, "change": null}}``; a guest,
    the computer or a free seat has no entry. Kept on the Game (``Game.ratings``) when a player
    sits down, so that every state is built from the game alone.
    """
    users = {
        mark: player.user_id
        for mark, player in seats.items()
        if player is not None and player.user_id is not None and not player.bot_level
    }
    if not users:
        return {}
    names = dict(get_user_model().objects.filter(pk__in=users.values()).values_list("pk", "username"))
    rows = {
        row.user_id: row
        for row in Rating.objects.filter(user_id__in=users.values(), size=room.size, win_length=room.win_length)
    }
    board: dict[str, Any] = {}
    for mark, user_id in users.items():
        row = rows.get(user_id)
        row = row or Rating()  # no rated game in the variant yet: a new rating's values
        rating, deviation = row.rating, row.deviation
        board[mark] = {
            "username": names.get(user_id),
            "value": round(rating),
            "provisional": is_provisional(deviation),
            "change": None,
        }
    return board


def moved_ratings(game: Game) -> bool:
    """Whether ``game`` changed its players' ratings: record_result wrote each one's change on it."""
    return any(entry and entry.get("change") is not None for entry in game.ratings.values())


def record_result(game: Game) -> dict[str, Any] | None:
    """Update both players' ratings and records for ``game``, which has just ended; the game's new ``ratings``.

    Only a game in a rated room, won or drawn after both players have moved,
    between two different signed-in people (not the computer) counts, and
    only while the pair has not played too many rated games lately
    (:func:`pair_weight`); anything else changes nothing and returns None.
    Call it inside the transaction that ends the game, and store what it
    returns on the game: each player's change, as the board shows it ("+12").
    """
    room = game.room
    if (
        not room.rated
        or game.status not in RATED_STATUSES
        or not counts(game)
        or game.player_x_id is None
        or game.player_o_id is None
    ):
        return None
    users = dict(
        Player.objects.filter(pk__in=(game.player_x_id, game.player_o_id), bot_level="", user__isnull=False)
        .values_list("pk", "user_id")
        .order_by()
    )
    x_user, o_user = users.get(game.player_x_id), users.get(game.player_o_id)
    if x_user is None or o_user is None or x_user == o_user:
        return None
    variant = {"size": room.size, "win_length": room.win_length}
    Rating.objects.bulk_create([Rating(user_id=user, **variant) for user in (x_user, o_user)], ignore_conflicts=True)
    # Locked in user order, so two games of the same two people ending at once cannot deadlock;
    # and locked before the pair's games are counted, so the second of them counts the first.
    locked = Rating.objects.select_for_update().filter(user_id__in=(x_user, o_user), **variant).order_by("user_id")
    rows = {row.user_id: row for row in locked}
    first_user, second_user = sorted((x_user, o_user))
    pair = RatedGame.objects.filter(first_user_id=first_user, second_user_id=second_user)
    finished_at = game.finished_at or game.updated_at
    # Index rated_game_pair_recent: the pair's games of the last day (PAIR_CAP of them at most).
    weight = pair_weight(pair.filter(finished_at__gt=finished_at - PAIR_WINDOW).count())
    if weight == 0.0:
        return None  # on the board as unrated: no change, no game counted
    first_meeting = not pair.filter(**variant).exists()
    RatedGame.objects.create(
        game=game,
        first_user_id=first_user,
        second_user_id=second_user,
        weight=weight,
        finished_at=finished_at,
        **variant,
    )
    x_row, o_row = rows[x_user], rows[o_user]
    x_score = 0.5 if game.status == Status.DRAW else 1.0 if game.winner == rules.X else 0.0
    x_before, o_before = _glicko(x_row), _glicko(o_row)
    x_after = _damped(x_before, glicko2.rate(x_before, [(o_before, x_score)], TAU), weight)
    o_after = _damped(o_before, glicko2.rate(o_before, [(x_before, 1.0 - x_score)], TAU), weight)
    _apply(x_row, x_after, x_score, first_meeting)
    _apply(o_row, o_after, 1.0 - x_score, first_meeting)
    board = dict(game.ratings) or at_board(room, {rules.X: game.player_x, rules.O: game.player_o})
    for mark, before, after in ((rules.X, x_before, x_after), (rules.O, o_before, o_after)):
        if board.get(mark) is not None:
            board[mark] = {**board[mark], "change": round(after.rating) - round(before.rating)}
    return board


def _glicko(row: Rating) -> glicko2.Rating:
    return glicko2.Rating(row.rating, row.deviation, row.volatility)


def _damped(before: glicko2.Rating, after: glicko2.Rating, weight: float) -> glicko2.Rating:
    """``after`` moved only ``weight`` of the way from ``before``: rating, deviation and volatility alike."""

    def part(old: float, new: float) -> float:
        return old + weight * (new - old)

    return glicko2.Rating(
        part(before.rating, after.rating),
        part(before.deviation, after.deviation),
        part(before.volatility, after.volatility),
    )


def _apply(row: Rating, after: glicko2.Rating, score: float, first_meeting: bool) -> None:
    row.rating, row.deviation, row.volatility = after.rating, after.deviation, after.volatility
    row.games += 1
    if score == 1.0:
        row.wins += 1
    elif score == 0.0:
        row.losses += 1
    else:
        row.draws += 1
    if first_meeting:
        row.opponents += 1
    row.established = is_established(row)
    row.save(
        update_fields=[
            "rating",
            "deviation",
            "volatility",
            "games",
            "wins",
            "losses",
            "draws",
            "opponents",
            "established",
            "updated_at",
        ]
    )


# --- Reading: the profile page and the leaderboard ---------------------------------

LEADERBOARD_LENGTH = 50
RECENT_GAMES = 20
DEFAULT_VARIANT = (3, 3)


def leaderboard(size: int, win_length: int, limit: int = LEADERBOARD_LENGTH) -> list[Rating]:
    """The best ``limit`` established ratings in a variant (is_established), read from index rating_established_best."""
    return list(
        Rating.objects.filter(size=size, win_length=win_length, established=True)
        .select_related("user")
        .order_by("-rating", "user_id")[:limit]
    )


def rated_variants() -> list[tuple[int, int]]:
    """Every (size, win_length) in which someone has played a rated game, smallest first."""
    found = Rating.objects.filter(games__gt=0).values_list("size", "win_length").distinct()
    return sorted({DEFAULT_VARIANT, *found})


def ratings_of(user_id: int) -> list[Rating]:
    """A user's ratings, one per variant they have played rated, smallest board first."""
    return list(Rating.objects.filter(user_id=user_id, games__gt=0).order_by("size", "win_length"))


@dataclass(frozen=True)
class PlayedGame:
    """One of a user's finished games, from their side of the board."""

    game: Game
    mark: str
    opponent: str | None
    result: str
    """"won", "lost", "drawn" or "aborted"."""


@dataclass(frozen=True)
class Record:
    games: int
    won: int
    lost: int
    drawn: int


def _games_of(player_ids: list[int]) -> QuerySet[Game]:
    """Finished games in which one of ``player_ids`` sat (indexes game_x_finished, game_o_finished)."""
    return Game.objects.filter(Q(player_x_id__in=player_ids) | Q(player_o_id__in=player_ids), finished_at__isnull=False)


def recent_games(user_id: int, limit: int = RECENT_GAMES) -> list[PlayedGame]:
    """The user's last ``limit`` finished games (under any of their sessions), newest first."""
    player_ids = list(Player.objects.filter(user_id=user_id).values_list("pk", flat=True))
    if not player_ids:
        return []
    games = _games_of(player_ids).select_related("room", "player_x", "player_o").order_by("-finished_at", "-pk")
    played = []
    for game in games[:limit]:
        mark = rules.X if game.player_x_id in player_ids else rules.O
        opponent = game.player_o if mark == rules.X else game.player_x
        if game.status == Status.ABORTED:
            result = "aborted"
        elif game.winner is None:
            result = "drawn"
        else:
            result = "won" if game.winner == mark else "lost"
        played.append(PlayedGame(game, mark, opponent.name if opponent else None, result))
    return played


def record_of(user_id: int) -> Record:
    """How the user's finished games went, rated or not (aborted games left out)."""
    player_ids = list(Player.objects.filter(user_id=user_id).values_list("pk", flat=True))
    if not player_ids:
        return Record(0, 0, 0, 0)
    mine_won = Q(player_x_id__in=player_ids, winner=rules.X) | Q(player_o_id__in=player_ids, winner=rules.O)
    counts = (
        _games_of(player_ids)
        .exclude(status=Status.ABORTED)
        .order_by()
        .aggregate(
            games=Count("pk"),
            won=Count("pk", filter=mine_won),
            drawn=Count("pk", filter=Q(status=Status.DRAW)),
        )
    )
    return Record(counts["games"], counts["won"], counts["games"] - counts["won"] - counts["drawn"], counts["drawn"])
