"""What tictac stores: rooms, the people in them, their games and every move.

The models hold data and answer questions about it; judging a move is the
rules' job (``game.domain.rules``) and changing a game is the service layer's
(``game.actions``). Database constraints make impossible states
unrepresentable even if a bug slipped past both.
"""

from __future__ import annotations

import hashlib
import secrets
import string
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.signals import post_save
from django.utils.crypto import salted_hmac

from game.board_fields import board_constraints, board_size_field, win_length_field
from game.domain import clocks, names, rules

ROOM_CODE_PATTERN = r"[A-Za-z0-9_-]{4,32}"
MIN_ABSENCE_SECONDS = 10
MAX_ABSENCE_SECONDS = 600
# Without a clock, how long a player who is here may take over a move before the other may claim.
DEFAULT_IDLE_SECONDS = 5 * 60
MIN_IDLE_SECONDS = 30
MAX_IDLE_SECONDS = 24 * 60 * 60
_CODE_ALPHABET = string.ascii_lowercase + string.digits


def validate_time_control(value: str) -> None:
    try:
        clocks.TimeControl.parse(value)
    except ValueError as error:
        raise ValidationError(f"{error}. Use none, move:15 or budget:60+2.") from None


def new_room_code() -> str:
    """A random room code that is easy to read aloud (8 lowercase letters and digits)."""
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))


class MarkChoices(models.TextChoices):
    X = "X"
    O = "O"  # noqa: E741 - the mark's name


class RoomQuerySet(models.QuerySet["Room"]):
    def open(self) -> RoomQuerySet:
        """Rooms that are listed in the lobby and can be joined."""
        return self.filter(is_open=True)


class Room(models.Model):
    code = models.CharField(
        max_length=32,
        unique=True,
        default=new_room_code,
        validators=[RegexValidator(rf"^{ROOM_CODE_PATTERN}\Z")],
        help_text="The room's address, /rooms/&lt;code&gt;/: 4 to 32 letters, digits, _ or -.",
    )
    name = models.CharField(max_length=64, blank=True)
    size = board_size_field()
    win_length = win_length_field()
    host = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="hosted_rooms"
    )
    is_open = models.BooleanField("open", default=True, help_text="Closed rooms leave the lobby and refuse players.")
    rated = models.BooleanField(
        default=False, help_text="Games here between two signed-in players change their ratings."
    )
    time_control = models.CharField(
        max_length=16,
        default="none",
        validators=[validate_time_control],
        help_text="none; move:15 (15 seconds a move); budget:60+2 (a minute each, 2 seconds back a move).",
    )
    absence_seconds = models.PositiveSmallIntegerField(
        "away limit",
        default=30,
        validators=[MinValueValidator(MIN_ABSENCE_SECONDS), MaxValueValidator(MAX_ABSENCE_SECONDS)],
        help_text="Seconds a player may be away before the other may claim the game.",
    )
    idle_seconds = models.PositiveIntegerField(
        "idle limit",
        default=DEFAULT_IDLE_SECONDS,
        validators=[MinValueValidator(MIN_IDLE_SECONDS), MaxValueValidator(MAX_IDLE_SECONDS)],
        help_text="Without a clock: seconds a present player may take over a move before the other may claim.",
    )
    quick_play = models.BooleanField(
        default=False,
        editable=False,
        help_text="Made by quick play's pairing: a player still in its game is sent back here by quick play.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = RoomQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = board_constraints("room")

    def __str__(self) -> str:
        return self.name or self.code

    def get_absolute_url(self) -> str:
        return f"/rooms/{self.code}/"

    def clean(self) -> None:
        if self.size is not None and self.win_length is not None and self.win_length > self.size:
            raise ValidationError({"win_length": f"Must be at most the board size ({self.size})."})

    @property
    def clock_control(self) -> clocks.TimeControl:
        return clocks.TimeControl.parse(self.time_control)


class Player(models.Model):
    """A person, known by their browser session (and, if they logged in, their user)."""

    # A keyed hash of the browser session's key (session_hash()), never the key itself:
    # the key is a credential (an admin's opens /admin/), this only recognises it.
    session_hash = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    name = models.CharField(max_length=32, default="Player")
    # The computer's level ("easy", "medium", "perfect") for a seat the computer plays; "" for a person.
    bot_level = models.CharField(max_length=8, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class Status(models.TextChoices):
    WAITING = "waiting"
    PLAYING = "playing"
    WON = "won"
    DRAW = "draw"
    RESIGNED = "resigned"
    TIMEOUT = "timeout"
    ABANDONED = "abandoned"
    ABORTED = "aborted"


FINISHED_STATUSES = (Status.WON, Status.DRAW, Status.RESIGNED, Status.TIMEOUT, Status.ABANDONED, Status.ABORTED)
DECIDED_STATUSES = (Status.WON, Status.RESIGNED, Status.TIMEOUT, Status.ABANDONED)
SOMEONE_LEFT = Q(x_left_at__isnull=False) | Q(o_left_at__isnull=False)
"""A game one of whose seated players has gone (game.actions.endings.due_rooms, and its index)."""


class EndReason(models.TextChoices):
    LINE = "line"
    FULL_BOARD = "full_board"
    RESIGNED = "resigned"
    TIMEOUT = "timeout"
    AGREED = "agreed"
    CLAIMED_WIN = "claimed_win"
    CLAIMED_DRAW = "claimed_draw"
    ABORTED = "aborted"


class OfferKind(models.TextChoices):
    DRAW = "draw"
    TAKEBACK = "takeback"


class Game(models.Model):
    """One game in a room. The room's current game is the one with the highest number."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="games")
    number = models.PositiveIntegerField(default=1)
    # One character per cell, row-major: "X", "O" or "." for empty.
    board = models.CharField(max_length=rules.MAX_SIZE**2)
    status = models.CharField(max_length=9, choices=Status.choices, default=Status.WAITING)
    reason = models.CharField(max_length=12, choices=EndReason.choices, blank=True)
    # NULL, not "", for "nobody": it is the protocol's null and the check constraints read it.
    turn = models.CharField(max_length=1, choices=MarkChoices.choices, null=True, blank=True)  # noqa: DJ001
    winner = models.CharField(max_length=1, choices=MarkChoices.choices, null=True, blank=True)  # noqa: DJ001
    # The winning cells, ascending, when status is "won".
    line = models.JSONField(null=True, blank=True)
    # The cells in the order they were played; X played the even positions.
    # Kept beside the board so a state needs no query of the Move table.
    history = models.JSONField(default=list, blank=True)
    # How many moves are on the board (the length of history), and so the
    # number of the last Move row: it rises by one per move and falls by one
    # with a takeback. Not the compare-and-swap counter: that is ``version``.
    move_count = models.PositiveSmallIntegerField(default=0)
    player_x = models.ForeignKey(Player, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    player_o = models.ForeignKey(Player, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Rises by one on every change (join, move, resign, rematch request,
    # takeback): the service layer's compare-and-swap counter, and, with the
    # game number, how a socket tells a stale state (state_order.StateStamp).
    version = models.PositiveIntegerField(default=0)
    rematch_x = models.BooleanField(default=False)
    rematch_o = models.BooleanField(default=False)
    # The clocks (rooms with a time control): each player's remaining time when
    # the running turn began, and when that was. ``deadline`` is when the
    # running player's time runs out: the referee looks for games past it.
    clock_x_ms = models.IntegerField(null=True, blank=True)
    clock_o_ms = models.IntegerField(null=True, blank=True)
    turn_started_at = models.DateTimeField(null=True, blank=True)
    deadline = models.DateTimeField(null=True, blank=True, db_index=True)
    # When each seated player's last socket went while the game was being
    # played; None while they are here.
    x_left_at = models.DateTimeField(null=True, blank=True)
    o_left_at = models.DateTimeField(null=True, blank=True)
    # The pending offer: a draw, or a takeback of the offerer's last move.
    offer_kind = models.CharField(max_length=8, choices=OfferKind.choices, blank=True)
    offer_by = models.CharField(max_length=1, choices=MarkChoices.choices, blank=True)
    # The score between this game's two players in the room's earlier games:
    # {"wins": {"<player id>": n}, "draws": n}; carried into a rematch.
    series = models.JSONField(default=dict, blank=True)
    # The seated players' ratings in the room's variant when they sat down, and at the end of a
    # rated game what it changed: {"X": {"username": "alice", "value": 1512, "provisional": true,
    # "change": null}, "O": null}; a guest or the computer is null (game.ratings_at_board).
    ratings = models.JSONField(default=dict, blank=True)
    # When the game ended (status finished); None while it goes on.
    finished_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["room", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["room", "number"], name="game_number_unique_in_room"),
            models.CheckConstraint(condition=Q(status__in=Status.values), name="game_status_valid"),
            models.CheckConstraint(
                condition=Q(winner__isnull=True) | Q(status__in=DECIDED_STATUSES),
                name="game_winner_only_when_decided",
            ),
            models.CheckConstraint(
                condition=Q(turn__isnull=True) | Q(status=Status.PLAYING), name="game_turn_only_while_playing"
            ),
            models.CheckConstraint(condition=Q(move_count__lte=rules.MAX_SIZE**2), name="game_move_count_in_range"),
        ]
        indexes = [
            # A player's games, newest first: their profile page (game.actions.ratings.recent_games).
            models.Index(fields=["player_x", "-finished_at"], name="game_x_finished"),
            models.Index(fields=["player_o", "-finished_at"], name="game_o_finished"),
            # Every process's referee asks twice a second which games are due (game.actions.endings.due_rooms):
            # these two hold only the games that can be, the ones in play, by deadline and those someone left.
            models.Index(fields=["deadline"], condition=Q(status=Status.PLAYING), name="game_playing_by_deadline"),
            models.Index(fields=["room"], condition=Q(status=Status.PLAYING) & SOMEONE_LEFT, name="game_playing_left"),
        ]

    def __str__(self) -> str:
        return f"{self.room} #{self.number}"

    @property
    def cells(self) -> tuple[str, ...]:
        return tuple("" if char == "." else char for char in self.board)

    @property
    def mark_to_move(self) -> rules.Mark | None:
        return rules.X if self.turn == rules.X else rules.O if self.turn == rules.O else None

    def player(self, mark: rules.Mark) -> Player | None:
        return self.player_x if mark == rules.X else self.player_o

    def left_at(self, mark: rules.Mark) -> datetime | None:
        return self.x_left_at if mark == rules.X else self.o_left_at

    def seat_of(self, player_id: int | None) -> rules.Mark | None:
        """Which mark ``player_id`` plays in this game, if any."""
        if player_id is None:
            return None
        if self.player_x_id == player_id:
            return rules.X
        if self.player_o_id == player_id:
            return rules.O
        return None


def session_hash(session_key: str) -> str:
    """A player's name for their browser session: keyed with SECRET_KEY, so it cannot be turned back into a cookie."""
    return salted_hmac("tictac.player-session", session_key, algorithm="sha256").hexdigest()


def encode_board(cells: tuple[str, ...]) -> str:
    return "".join(cell or "." for cell in cells)


class Move(models.Model):
    """A move as it was accepted: the n-th mark put in a game."""

    game = models.ForeignKey(Game, on_delete=models.CASCADE, related_name="moves")
    number = models.PositiveSmallIntegerField(help_text="1 for the game's first move.")
    cell = models.PositiveSmallIntegerField()
    mark = models.CharField(max_length=1, choices=MarkChoices.choices)
    player = models.ForeignKey(Player, null=True, on_delete=models.SET_NULL, related_name="moves")
    # The client's own id for the move (protocol: ``move`` with ``id``): a resend is not played twice.
    client_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["game", "number"]
        constraints = [
            models.UniqueConstraint(fields=["game", "number"], name="move_number_unique_in_game"),
            models.UniqueConstraint(fields=["game", "cell"], name="move_cell_unique_in_game"),
            models.CheckConstraint(condition=Q(mark__in=["X", "O"]), name="move_mark_valid"),
            models.CheckConstraint(condition=Q(number__gte=1), name="move_number_positive"),
            # A move id is played once: a resend with another cell is refused by the database itself
            # (moves.play_move answers it with the state). The index also finds the previous
            # game's move with an id (write.store_move).
            models.UniqueConstraint(
                fields=["game", "player", "client_id"],
                condition=~Q(client_id=""),
                name="move_client_id_once_per_player",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.game} move {self.number}: {self.mark} at {self.cell}"


class GameAnalysis(models.Model):
    """A finished larger board's analysis (game.domain.analysis), searched once and kept.

    3×3 needs no row: it is solved.
    """

    game = models.OneToOneField(Game, primary_key=True, on_delete=models.CASCADE, related_name="+")
    # The answer of /games/<id>/analysis.json as it was searched: {"exact": false, "positions": [...]}.
    analysis = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"analysis of game {self.game_id}"


class ChatMessage(models.Model):
    """A line of a room's chat, kept so the last ones come with the page."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="chat_messages")
    name = models.CharField(max_length=32)
    mark = models.CharField(max_length=1, choices=MarkChoices.choices, blank=True)
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["room", "-id"], name="chat_room_newest")]

    def __str__(self) -> str:
        return f"{self.name}: {self.text[:40]}"


class Rating(models.Model):
    """A signed-in player's Glicko-2 rating in one board variant (size and k), and their record there."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ratings")
    size = models.PositiveSmallIntegerField()
    win_length = models.PositiveSmallIntegerField()
    rating = models.FloatField(default=1500.0)
    deviation = models.FloatField(default=350.0)
    volatility = models.FloatField(default=0.06)
    games = models.PositiveIntegerField(default=0)
    wins = models.PositiveIntegerField(default=0)
    losses = models.PositiveIntegerField(default=0)
    draws = models.PositiveIntegerField(default=0)
    # How many different accounts this one has played rated games against in the variant.
    opponents = models.PositiveIntegerField(default=0)
    # Whether the leaderboard lists it (game.actions.ratings.is_established), kept by each rated game so
    # that the leaderboard reads its best rows straight from an index.
    established = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "size", "win_length"], name="rating_one_per_user_and_variant")
        ]
        indexes = [
            models.Index(fields=["size", "win_length", "established", "-rating"], name="rating_established_best")
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.size}x{self.size}/{self.win_length}: {self.rating:.0f}"


class RatedGame(models.Model):
    """A game that moved two accounts' ratings, and by how much it counted (game.actions.ratings.pair_weight).

    What the same-pair damping counts: the pair's rated games in the last
    day, and whether two accounts have met in a variant before.
    """

    game = models.OneToOneField(Game, primary_key=True, on_delete=models.CASCADE, related_name="+")
    # The pair, the lower user id first, so that one index finds their games whoever sat where.
    first_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    second_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    size = models.PositiveSmallIntegerField()
    win_length = models.PositiveSmallIntegerField()
    weight = models.FloatField()
    finished_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(first_user__lt=F("second_user")), name="rated_game_pair_ordered"),
            models.CheckConstraint(condition=Q(weight__gt=0, weight__lte=1), name="rated_game_weight_in_range"),
        ]
        indexes = [models.Index(fields=["first_user", "second_user", "-finished_at"], name="rated_game_pair_recent")]

    def __str__(self) -> str:
        return f"{self.game} (weight {self.weight:g})"


def username_key(username: str) -> str:
    """A fixed-size digest of ``username``'s look-alike key (names.name_key), for an indexed lookup."""
    return hashlib.sha256(names.name_key(username).encode()).hexdigest()


class UsernameKey(models.Model):
    """Each account's username as a reader sees it (username_key): sign-up refuses a look-alike in one indexed read."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=64, db_index=True)

    def __str__(self) -> str:
        return f"{self.user_id}: {self.key[:12]}"


def _note_username(sender: type[models.Model], instance: Any, update_fields: Any = None, **kwargs: Any) -> None:
    """Keep UsernameKey with every account, however it was made (sign-up, the admin, createsuperuser)."""
    if kwargs.get("raw") or (update_fields is not None and "username" not in update_fields):
        return  # a login's last_login, a fixture: the username did not change
    UsernameKey.objects.update_or_create(user_id=instance.pk, defaults={"key": username_key(instance.get_username())})


post_save.connect(_note_username, sender=settings.AUTH_USER_MODEL, dispatch_uid="game.models.note_username")

# Arena tournaments' tables live beside these (that module names rooms and players by string).
from game.tournament_models import Tournament as Tournament  # noqa: E402
from game.tournament_models import TournamentEntry as TournamentEntry  # noqa: E402
from game.tournament_models import TournamentLease as TournamentLease  # noqa: E402
from game.tournament_models import TournamentPairing as TournamentPairing  # noqa: E402
