"""The arena's pairing round: one server process at a time pairs a tournament's free players.

Every process with a socket on a tournament's page asks for the tournament's
lease about once a second (game.realtime.tournament_feed); the one that holds it runs
the round: it ends the tournament's games that are due (as the referee would,
so that no game stalls its players), withdraws the players away past the
limit, and while the tournament runs pairs the free players (game.domain.arena) into
new rooms. The lease is a row with an expiry: its holder renews it in the very
transaction that writes the pairings, so a process that lost it (it stalled,
another took over) writes nothing, and a process that died is replaced once
its lease runs out. Two processes never pair at once, and a pairing is
written with its room or not at all.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q

from game.actions import endings, rooms, write
from game.actions.rooms import PairedSeeker
from game.actions.tournaments import Standings, read_standings
from game.domain import arena
from game.models import Game, Room, Status
from game.storage.cached_games import game_cache
from game.tournament_models import Tournament, TournamentEntry, TournamentLease, TournamentPairing

logger = logging.getLogger(__name__)


def lease_seconds() -> float:
    return float(settings.TICTAC["ARENA_LEASE_SECONDS"])


def hold_lease(tournament_id: int, holder: str) -> bool:
    """Take or renew the tournament's lease for ``holder``; False while another process holds it."""
    at = write.now()
    held = TournamentLease.objects.filter(pk=tournament_id).values_list("holder", "until").first()
    if held is not None and held[0] != holder and held[1] > at:
        return False  # a read, not a write: the processes that do not pair take no write lock
    until = at + timedelta(seconds=lease_seconds())
    with transaction.atomic():
        taken = (
            TournamentLease.objects.filter(pk=tournament_id)
            .filter(Q(holder=holder) | Q(until__lte=at))
            .update(holder=holder, until=until)
        )
        if taken:
            return True
        if held is not None:
            return False
        try:
            with transaction.atomic():
                TournamentLease.objects.create(tournament_id=tournament_id, holder=holder, until=until)
        except IntegrityError:
            return False  # another process made it first
        return True


def _renew(tournament_id: int, holder: str) -> bool:
    """Renew a lease ``holder`` still holds (the first write of a pairing transaction: it serialises them)."""
    at = write.now()
    until = at + timedelta(seconds=lease_seconds())
    return bool(TournamentLease.objects.filter(pk=tournament_id, holder=holder, until__gt=at).update(until=until))


@dataclass(frozen=True)
class NewGame:
    """A pairing the round made: its room, the room's game, and the two players (Player ids)."""

    room: Room
    game: Game
    player_ids: tuple[int, int]


@dataclass(frozen=True)
class Round:
    """What one round did; ``leading`` False when another process holds the lease (then it did nothing)."""

    leading: bool
    paired: list[NewGame] = field(default_factory=list)
    settled: list[tuple[Room, Game]] = field(default_factory=list)
    withdrawn: int = 0
    standings: Standings | None = None
    """The tournament after the round, when this process leads."""


def run_round(tournament_id: int, holder: str) -> Round:
    """One round for this process (``holder``): nothing unless it holds the lease."""
    if not hold_lease(tournament_id, holder):
        return Round(leading=False)
    tournament = Tournament.objects.filter(pk=tournament_id).first()
    if tournament is None:
        return Round(leading=False)
    settled = settle_due_games(tournament)
    made: list[Room] = []
    try:
        with transaction.atomic():
            if not _renew(tournament_id, holder):
                return Round(leading=False, settled=settled)
            standings = read_standings(tournament)
            withdrawn = _withdraw_the_away(standings)
            paired = _pair(standings, made) if standings.status == "started" else []
    except BaseException:
        for room in made:  # rolled back: the process's copies of their games never existed
            game_cache.discard(room.pk)
        raise
    changed = paired or withdrawn  # the standings were read after the settling, before these
    return Round(True, paired, settled, withdrawn, read_standings(tournament) if changed else standings)


def _withdraw_the_away(standings: Standings) -> int:
    """Withdraw each active player off the page and out of a game for longer than the away limit."""
    limit = timedelta(seconds=standings.tournament.away_seconds)
    away = []
    for entry in standings.entries:
        if not entry.active or standings.playing(entry.pk) is not None:
            continue
        moments = [entry.seen_until or entry.joined_at, standings.last_finished_at(entry.pk)]
        last_here = max(moment for moment in moments if moment is not None)
        if last_here + limit < standings.at:
            away.append(entry.pk)
    if not away:
        return 0
    return TournamentEntry.objects.filter(pk__in=away, active=True).update(active=False)


def free_candidates(standings: Standings) -> list[arena.Candidate]:
    """The players who may be paired now: active, on the page, not in a game; with their rank and last opponent."""
    return [
        arena.Candidate(entry.pk, rank, standings.last_opponent(entry.pk))
        for rank, entry in enumerate(standings.entries, start=1)
        if entry.active
        and entry.seen_until is not None
        and entry.seen_until > standings.at
        and standings.playing(entry.pk) is None
    ]


def _pair(standings: Standings, made: list[Room]) -> list[NewGame]:
    """Pair the free players into new rooms of the tournament's board and clock (in the caller's transaction)."""
    tournament = standings.tournament
    entries = {entry.pk: entry for entry in standings.entries}
    paired = []
    for first_id, second_id in arena.pairings(free_candidates(standings)):
        first, second = entries[first_id], entries[second_id]
        room = rooms.create_room(
            name=tournament.name,
            size=tournament.size,
            win_length=tournament.win_length,
            time_control=tournament.time_control,
            rated=tournament.rated,
        )
        made.append(room)
        game = rooms.seat_pair(room, _seeker(first), _seeker(second))
        entry_x, entry_o = (first, second) if game.player_x_id == first.player_id else (second, first)
        TournamentPairing.objects.create(tournament=tournament, room=room, entry_x=entry_x, entry_o=entry_o)
        paired.append(NewGame(room, game, (entry_x.player_id, entry_o.player_id)))
    return paired


def _seeker(entry: TournamentEntry) -> PairedSeeker:
    """The entry as seat_pair seats it: under its name in the tournament (unique there, so never numbered)."""
    return PairedSeeker(entry.player.session_hash, entry.player.user_id, entry.name)


def settle_due_games(tournament: Tournament) -> list[tuple[Room, Game]]:
    """End the tournament's games that are due (a flag fell, a first move never came): their players are freed
    even when nobody has their room open, so no process's referee looks at it."""
    at = write.now()
    playing = Game.objects.filter(
        number=1, status=Status.PLAYING, room__tournament_pairing__tournament=tournament
    ).select_related("room", "player_x", "player_o")
    settled = []
    for game in playing:
        if endings.is_due(game.room, game, at) and (ended := endings.settle(game.room)) is not None:
            settled.append((game.room, ended))
    return settled


def claim_announcements() -> list[Tournament]:
    """The tournaments that started and that no process has told the lobbies of yet, each now claimed by this one."""
    at = write.now()
    due = Tournament.objects.filter(announced=False, starts_at__lte=at, ends_at__gt=at)
    claimed = Tournament.objects.filter(announced=False)
    return [tournament for tournament in due if claimed.filter(pk=tournament.pk).update(announced=True)]


arun_round = database_sync_to_async(run_round)
aclaim_announcements = database_sync_to_async(claim_announcements)
