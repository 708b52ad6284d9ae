"""Arena tournaments in the database: making one, joining it, who is on its page, and its standings.

The standings are never stored: each read takes every pairing's game (the
first game of the pairing's room) and scores it with game.domain.arena, so that a
game counts once and exactly when it has ended, whichever process saw it
end, and a game that counts for nothing (ratings.counts) is left out. The
pairing itself, one process at a time, is game.actions.arena_rounds.

Presence here is the tournament page's, kept in the database: each socket on
the page keeps its entry's ``seen_until`` ahead of now (game.realtime.tournament_feed
refreshes it), and only a player seen now is paired.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from channels.db import database_sync_to_async
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Q

from game.actions import ratings, write
from game.actions.identities import Identity
from game.actions.write import ActionRefused
from game.domain import arena, clocks, names, rules
from game.domain.protocol import DEFAULT_NAME, NAME_MAX_LENGTH
from game.models import DECIDED_STATUSES, Player, Room, Status
from game.tournament_models import Tournament, TournamentEntry, TournamentPairing, validate_clocked_time_control

# A socket's mark of presence lasts this long; the page's sockets refresh it more often (tournament_feed).
PRESENT_FOR_SECONDS: Final = 10
# The places on the podium.
PODIUM: Final = 3
UNFINISHED: Final = (Status.WAITING, Status.PLAYING)
FINISHED_SHOWN: Final = 20


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- Making, ending, finding -------------------------------------------------------------------


def create_tournament(
    name: str,
    *,
    starts_at: datetime,
    duration: timedelta,
    size: int = 3,
    win_length: int = 3,
    time_control: str = "move:15",
    rated: bool = False,
    away_seconds: int = 30,
    host_id: int | None = None,
) -> Tournament:
    """A tournament as a host makes it in the admin (tests make theirs here, starting when they say)."""
    rules.check_dimensions(size, win_length)
    try:
        validate_clocked_time_control(time_control)
    except ValidationError as error:
        raise ValueError(error.messages[0]) from None
    return Tournament.objects.create(
        name=name,
        starts_at=starts_at,
        duration=duration,
        size=size,
        win_length=win_length,
        time_control=time_control,
        rated=rated,
        away_seconds=away_seconds,
        host_id=host_id,
    )


def end_now(tournament: Tournament) -> Tournament:
    """The end, now: no game starts from here on; games being played count when they end."""
    at = write.now()
    if tournament.ends_at > at:
        tournament.starts_at = min(tournament.starts_at, at)
        tournament.duration = at - tournament.starts_at
        tournament.save(update_fields=["starts_at", "duration"])
    return tournament


def get_tournament(tournament_id: int) -> Tournament | None:
    return Tournament.objects.filter(pk=tournament_id).first()


@dataclass(frozen=True)
class Listing:
    coming: list[Tournament]
    running: list[Tournament]
    finished: list[Tournament]


def listing() -> Listing:
    """Coming (soonest first), running (ending soonest first), and the last finished (newest first)."""
    at = write.now()
    counted = Tournament.objects.annotate(joined=Count("entries"))
    return Listing(
        coming=list(counted.filter(starts_at__gt=at).order_by("starts_at")),
        running=list(counted.filter(starts_at__lte=at, ends_at__gt=at).order_by("ends_at")),
        finished=list(counted.filter(ends_at__lte=at).order_by("-ends_at")[:FINISHED_SHOWN]),
    )


def running() -> list[dict[str, Any]]:
    """The tournaments being played now, as the lobby shows them (:func:`summary`): one query."""
    at = write.now()
    playing = Tournament.objects.filter(starts_at__lte=at, ends_at__gt=at).annotate(joined=Count("entries"))
    return [summary(tournament, joined=tournament.joined) for tournament in playing.order_by("ends_at")]


def time_control(tournament: Tournament) -> dict[str, Any]:
    """As ``room.time_control`` in a state: ``{"kind": "move", "seconds": 15}`` or a budget with its increment."""
    control = clocks.TimeControl.parse(tournament.time_control)
    if control.kind == "move":
        return {"kind": "move", "seconds": control.seconds}
    return {"kind": "budget", "seconds": control.seconds, "increment": control.increment}


def summary(tournament: Tournament, joined: int | None = None) -> dict[str, Any]:
    """What the lobby says about a tournament (docs/protocol.md, "Arena tournaments")."""
    if joined is None:
        joined = TournamentEntry.objects.filter(tournament=tournament).count()
    return {
        "id": tournament.pk,
        "name": tournament.name,
        "status": arena.status(write.now(), tournament.starts_at, tournament.ends_at),
        "starts_at": iso(tournament.starts_at),
        "ends_at": iso(tournament.ends_at),
        "size": tournament.size,
        "win_length": tournament.win_length,
        "time_control": time_control(tournament),
        "rated": tournament.rated,
        "joined": joined,
        "url": tournament.get_absolute_url(),
    }


def of_room(room: Room) -> dict[str, Any] | None:
    """The tournament whose pairing made ``room``, if one did: the room page offers the way back to it."""
    found = Tournament.objects.filter(pairings__room=room).values("id", "name").first()
    return None if found is None else {**found, "url": f"/tournaments/{found['id']}/"}


# --- Joining and leaving -------------------------------------------------------------------------


def join(
    tournament: Tournament, identity: Identity, typed: str | None, remembered: str | None = None
) -> TournamentEntry:
    """Enter this session's player, or bring a withdrawn one back; under ``typed`` if given.

    A session without a player gets one, named ``remembered`` (the name it
    last played under), or after its account, or ``Player``.

    Names are unique in a tournament: one a reader could take for another
    player's is numbered (``alice 2``).
    """
    if arena.status(write.now(), tournament.starts_at, tournament.ends_at) == "finished":
        raise ActionRefused("tournament_over", "This tournament is over.")
    assert identity.session_hash is not None
    with transaction.atomic():
        wanted = (typed or identity.player_name or remembered or identity.user_name or DEFAULT_NAME)[:NAME_MAX_LENGTH]
        player, _ = Player.objects.get_or_create(
            session_hash=identity.session_hash, defaults={"name": wanted, "user_id": identity.user_id}
        )
        entry = TournamentEntry.objects.filter(tournament=tournament, player=player).first()
        if entry is None or (typed and entry.name != typed):
            name = _unique_name(tournament, typed or player.name, player)
            if player.name != name:
                player.name = name
                player.save(update_fields=["name"])
        else:
            name = entry.name
        at = write.now()
        if entry is None:
            try:
                with transaction.atomic():
                    made = TournamentEntry(tournament=tournament, player=player, name=name, seen_until=at)
                    made.save(force_insert=True)
                    return made
            except IntegrityError:  # another tab of this session joined first
                entry = TournamentEntry.objects.get(tournament=tournament, player=player)
        entry.name, entry.active, entry.seen_until = name, True, max(entry.seen_until or at, at)
        entry.save(update_fields=["name", "active", "seen_until"])
        return entry


def _unique_name(tournament: Tournament, wanted: str, player: Player) -> str:
    """``wanted``, or the first of ``wanted 2``, ``wanted 3``… that reads as no other player's in the tournament."""
    taken = {
        names.name_key(name)
        for name in TournamentEntry.objects.filter(tournament=tournament)
        .exclude(player=player)
        .values_list("name", flat=True)
    }
    candidate, number = wanted, 1
    while names.name_key(candidate) in taken:
        number += 1
        suffix = f" {number}"
        candidate = wanted[: NAME_MAX_LENGTH - len(suffix)] + suffix
    return candidate


def withdraw(tournament: Tournament, identity: Identity) -> bool:
    """Stop being paired (the standings keep the player's games); whether this session had joined."""
    return bool(
        TournamentEntry.objects.filter(tournament=tournament, player__session_hash=identity.session_hash).update(
            active=False
        )
    )


def mark_present(tournament_id: int, player_ids: list[int], seconds: float = PRESENT_FOR_SECONDS) -> dict[int, str]:
    """These players have a socket on the page: present for ``seconds`` more. The room of each one's game in play."""
    if not player_ids:
        return {}
    until = write.now() + timedelta(seconds=seconds)
    TournamentEntry.objects.filter(tournament_id=tournament_id, player_id__in=player_ids).update(seen_until=until)
    return current_rooms(tournament_id, player_ids)


def mark_gone(tournament_id: int, player_id: int) -> None:
    """This player's last socket on the page (in this process) closed: not present, unless another one says so."""
    at = write.now()
    TournamentEntry.objects.filter(tournament_id=tournament_id, player_id=player_id, seen_until__gt=at).update(
        seen_until=at
    )


def current_rooms(tournament_id: int, player_ids: list[int]) -> dict[int, str]:
    """The room of each of these players' tournament game still waiting or being played."""
    rows = (
        TournamentPairing.objects.filter(
            tournament_id=tournament_id, room__games__number=1, room__games__status__in=UNFINISHED
        )
        .filter(Q(entry_x__player_id__in=player_ids) | Q(entry_o__player_id__in=player_ids))
        .values_list("room__code", "entry_x__player_id", "entry_o__player_id")
    )
    wanted = set(player_ids)
    return {player: code for code, *players in rows for player in players if player in wanted}


# --- The standings -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PairedGame:
    """A pairing and what its game has come to."""

    pairing_id: int
    entry_x: int
    entry_o: int
    room_code: str
    status: str
    winner: str | None
    move_count: int
    finished_at: datetime | None

    @property
    def over(self) -> bool:
        return self.status not in UNFINISHED

    def result_for(self, entry_id: int) -> arena.Result | None:
        """The game's result for ``entry_id``; None while it is played, or when it counts for nothing."""
        if not self.over or self.move_count < ratings.MOVES_TO_COUNT:
            return None
        if self.status in DECIDED_STATUSES and self.winner is not None:
            won = (self.winner == rules.X) == (entry_id == self.entry_x)
            return "win" if won else "loss"
        return "draw" if self.status == Status.DRAW else None

    def opponent_of(self, entry_id: int) -> int:
        return self.entry_o if entry_id == self.entry_x else self.entry_x


@dataclass(frozen=True)
class Standings:
    """One read of a tournament: its players best first, their sheets, and their games."""

    tournament: Tournament
    at: datetime
    entries: list[TournamentEntry]
    """Best first (game.domain.arena.standings)."""
    sheets: dict[int, arena.Sheet]
    games: dict[int, list[PairedGame]] = field(default_factory=dict)
    """Each entry's games, oldest first."""

    @property
    def status(self) -> arena.Status:
        return arena.status(self.at, self.tournament.starts_at, self.tournament.ends_at)

    def playing(self, entry_id: int) -> PairedGame | None:
        """The entry's game still waiting or being played, if it has one."""
        games = self.games.get(entry_id)
        return games[-1] if games and not games[-1].over else None

    def last_opponent(self, entry_id: int) -> int | None:
        games = self.games.get(entry_id)
        return games[-1].opponent_of(entry_id) if games else None

    def last_finished_at(self, entry_id: int) -> datetime | None:
        finished = [game.finished_at for game in self.games.get(entry_id, []) if game.finished_at is not None]
        return max(finished) if finished else None

    @property
    def player_ids(self) -> list[int]:
        """Each listed player's Player id, in the message's order: never sent, it finds a socket's ``you``."""
        return [entry.player_id for entry in self.entries]

    def message(self) -> dict[str, Any]:
        """The tournament as /tournaments/<id>.json gives it, and its socket's ``tournament`` message (less ``you``)."""
        players = []
        for rank, entry in enumerate(self.entries, start=1):
            sheet = self.sheets[entry.pk]
            players.append(
                {
                    "name": entry.name,
                    "score": sheet.score,
                    "games": sheet.games,
                    "streak": sheet.streak,
                    "rank": rank,
                    "points": list(sheet.points),
                    "fire": sheet.on_fire,
                    "playing": self.playing(entry.pk) is not None,
                    "active": entry.active,
                }
            )
        podium = [player for player in players if player["games"]][:PODIUM] if self.status == "finished" else []
        in_play = {game.pairing_id for entry in self.entries if (game := self.playing(entry.pk)) is not None}
        return {
            **summary(self.tournament, joined=len(players)),
            "status": self.status,
            "players": players,
            "games_in_play": len(in_play),
            "podium": [{"rank": place["rank"], "name": place["name"], "score": place["score"]} for place in podium],
        }


def read_standings(tournament: Tournament) -> Standings:
    """The tournament now: two queries (its entries, and its pairings with their games)."""
    at = write.now()
    joined = TournamentEntry.objects.filter(tournament=tournament).select_related("player")
    entries = {entry.pk: entry for entry in joined}
    games: dict[int, list[PairedGame]] = defaultdict(list)
    rows = (
        TournamentPairing.objects.filter(tournament=tournament, room__games__number=1)
        .order_by("id")
        .values_list(
            "id",
            "entry_x_id",
            "entry_o_id",
            "room__code",
            "room__games__status",
            "room__games__winner",
            "room__games__move_count",
            "room__games__finished_at",
        )
    )
    for row in rows:
        game = PairedGame(*row)
        games[game.entry_x].append(game)
        games[game.entry_o].append(game)
    sheets = {
        entry_id: arena.sheet(result for game in games[entry_id] if (result := game.result_for(entry_id)) is not None)
        for entry_id in entries
    }
    ranked = arena.standings(arena.Entrant(entry_id, sheet) for entry_id, sheet in sheets.items())
    return Standings(tournament, at, [entries[entrant.key] for entrant in ranked], sheets, dict(games))


def with_you(message: dict[str, Any], player_ids: list[int], player_id: int | None) -> dict[str, Any]:
    """The socket's ``tournament`` message: ``message`` and this session's place in it (null if it has not joined)."""
    you = None
    if player_id is not None and player_id in player_ids:
        mine = message["players"][player_ids.index(player_id)]
        you = {key: mine[key] for key in ("name", "rank", "active", "playing")}
    return {**message, "type": "tournament", "you": you}


# --- For the consumer and the feed: on Channels' database thread ----------------------------------

aget_tournament = database_sync_to_async(get_tournament)
aread_standings = database_sync_to_async(read_standings)
amark_present = database_sync_to_async(mark_present)
amark_gone = database_sync_to_async(mark_gone)
asummary = database_sync_to_async(summary)
