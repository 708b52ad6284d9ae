"""The board's fields, as a room (game.models.Room) and a tournament (game.tournament_models) both store them.

One definition, so that the two cannot drift apart: a tournament's games are
rooms made with its board.
"""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.expressions import Combinable

from game.domain import rules


def board_size_field() -> models.PositiveSmallIntegerField[float | int | str | Combinable, int]:
    return models.PositiveSmallIntegerField(
        default=3, validators=[MinValueValidator(rules.MIN_SIZE), MaxValueValidator(rules.MAX_SIZE)]
    )


def win_length_field() -> models.PositiveSmallIntegerField[float | int | str | Combinable, int]:
    return models.PositiveSmallIntegerField(
        default=3,
        validators=[MinValueValidator(rules.MIN_WIN_LENGTH), MaxValueValidator(rules.MAX_SIZE)],
        help_text="How many marks in a row win (3 up to the board size).",
    )
