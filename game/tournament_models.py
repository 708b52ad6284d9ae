"""What an arena tournament stores: the event a host sets up, who joined it, and each game it paired.

Its games are ordinary rooms (game.models.Room), one pairing each: the
room's first game is the tournament's. Standings are not stored: they are
read from the pairings' games (game.actions.tournaments), so that a game counts once,
whichever process sees it end. Rooms and players are named by string here,
so that this module needs nothing of game.models, which imports it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Final

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from game.board_fields import board_constraints, board_size_field, win_length_field
from game.domain import clocks

MIN_AWAY_SECONDS: Final = 10
MAX_AWAY_SECONDS: Final = 600
LONGEST: Final = timedelta(days=7)


def validate_clocked_time_control(value: str) -> None:
    """A tournament's games are always clocked: a player who never moves must not hold up an arena."""
    try:
        control = clocks.TimeControl.parse(value)
    except ValueError as error:
        raise ValidationError(f"{error}. Use move:15 or budget:60+2.") from None
    if not control.is_on:
        raise ValidationError("A tournament's games are clocked: use move:15 or budget:60+2, not none.")


class Tournament(models.Model):
    """An arena: from ``starts_at`` for ``duration``, every free player is paired as soon as another is free."""

    name = models.CharField(max_length=64)
    size = board_size_field()
    win_length = win_length_field()
    time_control = models.CharField(
        max_length=16,
        default="move:15",
        validators=[validate_clocked_time_control],
        help_text="move:15 (15 seconds a move) or budget:60+2 (a minute each, 2 seconds back a move).",
    )
    rated = models.BooleanField(default=False, help_text="Games between two signed-in players change their ratings.")
    starts_at = models.DateTimeField(help_text="When pairing starts; players may join before.")
    duration = models.DurationField(
        default=timedelta(minutes=30),
        help_text="How long games are paired, e.g. 00:30:00; games still being played then count when they end.",
    )
    ends_at = models.DateTimeField(editable=False, db_index=True)
    away_seconds = models.PositiveSmallIntegerField(
        "away limit",
        default=30,
        validators=[MinValueValidator(MIN_AWAY_SECONDS), MaxValueValidator(MAX_AWAY_SECONDS)],
        help_text="Seconds a player may be off the tournament page, out of a game, before they are withdrawn.",
    )
    host = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="hosted_tournaments"
    )
    # Whether open lobbies were told that it started (game.realtime.tournament_feed), so that one
    # process tells them once.
    announced = models.BooleanField(default=False, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_at"]
        constraints = [
            *board_constraints("tournament"),
            models.CheckConstraint(condition=Q(ends_at__gte=F("starts_at")), name="tournament_ends_after_start"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.ends_at = self.starts_at + self.duration
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and {"starts_at", "duration"} & set(update_fields):
            kwargs["update_fields"] = {*update_fields, "ends_at"}
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return f"/tournaments/{self.pk}/"

    def clean(self) -> None:
        if self.size is not None and self.win_length is not None and self.win_length > self.size:
            raise ValidationError({"win_length": f"Must be at most the board size ({self.size})."})
        if self.duration is not None and not timedelta(0) < self.duration <= LONGEST:
            raise ValidationError({"duration": "A tournament lasts more than nothing and at most 7 days."})


class TournamentLease(models.Model):
    """Which server process pairs a tournament's players, until when (game.actions.tournaments.hold_lease)."""

    tournament = models.OneToOneField(Tournament, primary_key=True, on_delete=models.CASCADE, related_name="+")
    holder = models.CharField(max_length=128)
    until = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.tournament_id}: {self.holder} until {self.until:%H:%M:%S}"


class TournamentEntry(models.Model):
    """A player in a tournament: joined once, withdrawn and back as often as they like."""

    tournament = models.ForeignKey(Tournament, on_delete=models.CASCADE, related_name="entries")
    player = models.ForeignKey("game.Player", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=32)
    # False once withdrawn (they pressed Withdraw, or left the page past the away limit): not paired.
    active = models.BooleanField(default=True)
    # A socket of theirs on the tournament page refreshes this; they are paired only while it is ahead.
    seen_until = models.DateTimeField(null=True, blank=True)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["tournament", "player"], name="tournament_entry_once")]

    def __str__(self) -> str:
        return f"{self.name} in {self.tournament_id}"


class TournamentPairing(models.Model):
    """Two entries paired into a new room: its first game is their tournament game."""

    tournament = models.ForeignKey(Tournament, on_delete=models.CASCADE, related_name="pairings")
    room = models.OneToOneField("game.Room", on_delete=models.CASCADE, related_name="tournament_pairing")
    # Who sat where in the room's first game.
    entry_x = models.ForeignKey(TournamentEntry, on_delete=models.CASCADE, related_name="+")
    entry_o = models.ForeignKey(TournamentEntry, on_delete=models.CASCADE, related_name="+")
    paired_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=~Q(entry_x=F("entry_o")), name="tournament_pairing_two")]

    def __str__(self) -> str:
        return f"{self.tournament_id}: {self.entry_x_id} v {self.entry_o_id}"
