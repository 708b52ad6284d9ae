"""The board's fields, as a room (game.models.Room) and a tournament (game.tournament_models) both store them.

One definition of the fields and of the database's checks on them, so that the
two cannot drift apart: a tournament's games are rooms made with its board.
"""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import BaseConstraint, F, Q
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


def board_constraints(model_name: str) -> list[BaseConstraint]:
    """The database's checks on a board's size and win length, named for ``model_name`` (``room``, ``tournament``)."""
    return [
        models.CheckConstraint(
            condition=Q(size__gte=rules.MIN_SIZE, size__lte=rules.MAX_SIZE), name=f"{model_name}_size_in_range"
        ),
        models.CheckConstraint(
            condition=Q(win_length__gte=rules.MIN_WIN_LENGTH, win_length__lte=F("size")),
            name=f"{model_name}_win_length_in_range",
        ),
    ]
