"""The one place where a room's games change.

Every change follows the same path: load the current game, judge the action
with the pure rules, then write it with a compare-and-swap on
``Game.version`` inside one short transaction. When two actions race (from
two sockets, or two processes) only one swap lands; the other is judged
again against the new game, so it either applies cleanly on top or is
refused with the code the protocol names. Nothing is broadcast from here:
callers publish the returned game only after the transaction has committed.

Functions are synchronous (the ORM is); the consumer reaches them through
the ``a``-prefixed wrappers at the bottom, which run them on Channels'
database thread.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property, partial
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.sessions.backends.base import SessionBase
from django.db import IntegrityError, connection, transaction
from django.db.models import Field, Q
from django.utils import timezone

from game.actions import ratings
from game.domain import clocks, names, rules
from game.domain.protocol import DEFAULT_NAME, NAME_MAX_LENGTH
from game.models import (
    DECIDED_STATUSES,
    DEFAULT_IDLE_SECONDS,
    FINISHED_STATUSES,
    ChatMessage,
    EndReason,
    Game,
    Move,
    OfferKind,
    Player,
    Room,
    Status,
    encode_board,
    session_hash,
)
from game.storage import session_lifetime
from game.storage.cached_games import game_cache
from game.storage.compiled_reads import CompiledRead
from game.storage.group_commit import Action, GroupCommit
from game.storage.latest_game import read_latest_game


class ActionRefused(Exception):  # noqa: N818 - a refusal is an answer, not an error
    """An action the server will not apply; ``code`` is the protocol's error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class AlreadyPlayed(ActionRefused):
    """A move resent with the id of a move that was already played: answered with the current state, not an error."""

    def __init__(self) -> None:
        super().__init__("already_played", "That move was played already.")


def now() -> datetime:
    """The server's time: every clock and countdown is read from it (tests move it by hand)."""
    return timezone.now()


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def from_epoch_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


@dataclass(frozen=True)
class Identity:
    """Who is behind a socket, as far as the server knows: never what the client says."""

    session_key: str | None
    user_id: int | None = None
    player_id: int | None = None
    player_name: str | None = None
    user_name: str | None = None
    """The signed-in user's username: a Player made for them is named after it unless they type a name."""

    @cached_property
    def session_hash(self) -> str | None:
        """What the server keeps and shares about the session (Player rows, presence): never the key itself."""
        return None if self.session_key is None else session_hash(self.session_key)


# --- Reading ----------------------------------------------------------------


_ROOM_BY_CODE = CompiledRead(Room, lambda code: Room.objects.filter(code=code)[:1], ("code",), ("example",))


def get_room(code: str) -> Room | None:
    """The room with this code, or None (every room page and socket asks, so its SQL is compiled once)."""
    return _ROOM_BY_CODE.first(code)


# The session's Player id, written before a sign-in rotates the session key (game.web.account_views):
# session data survives the rotation, the key and so its hash do not.
PLAYER_SESSION_KEY = "tictac_player_id"


def identify(session: SessionBase, new: bool = False) -> Identity:
    """The identity of a request or socket's session; a key not in the store (or expired) counts as none.

    A session whose key was rotated (a sign-in) finds its Player again by the id it
    remembered, and moves that Player, seat and all, to the new key. A ``new``
    session, stored by this request, has no Player yet.
    """
    if not session_lifetime.is_stored(session):
        return Identity(session_key=None)
    session_key = session.session_key
    assert session_key is not None
    auth_user_id = session.get(SESSION_KEY)
    if new:
        return Identity(session_key=session_key)
    user_id = int(auth_user_id) if auth_user_id else None
    user_name = None
    if user_id is not None:
        user_name = get_user_model().objects.filter(pk=user_id).values_list("username", flat=True).first()
    player = Player.objects.filter(session_hash=session_hash(session_key)).only("id", "name", "user_id").first()
    if player is None and session.get(PLAYER_SESSION_KEY):
        player = _rekeyed_player(session[PLAYER_SESSION_KEY], session_hash(session_key), user_id, user_name)
    return Identity(
        session_key=session_key,
        user_id=user_id,
        player_id=player.id if player else None,
        player_name=player.name if player else None,
        user_name=user_name,
    )


def _rekeyed_player(player_id: int, new_hash: str, user_id: int | None, user_name: str | None) -> Player | None:
    """The remembered Player, moved to the session's new key and given its user (and their name, unless typed)."""
    player = Player.objects.filter(pk=player_id).only("id", "name", "user_id").first()
    if player is None or (player.user_id is not None and player.user_id != user_id):
        return None  # someone else's player: a different account signed in on this browser
    player.session_hash = new_hash
    if user_id is not None and player.user_id is None:
        player.user_id = user_id
        if player.name == DEFAULT_NAME and user_name:
            player.name = user_name[:NAME_MAX_LENGTH]
    player.save(update_fields=["session_hash", "user", "name"])
    return player


def forget_room(room: Room) -> None:
    """This process has no socket in the room any more: drop what it cached about the room's game."""
    game_cache.forget(room.pk)


@contextmanager
def _atomic_write(room: Room) -> Iterator[None]:
    """transaction.atomic(), forgetting the room's cached game if it rolls back.

    Inside a batch (see :func:`together`) it joins the batch's transaction
    without a savepoint: any error there fails the whole batch anyway.
    """
    try:
        with transaction.atomic(savepoint=not getattr(_batch, "running", False)):
            yield
    except BaseException:
        game_cache.discard(room.pk)
        raise


# Whether this thread is running together()'s batch, for _atomic_write. Not process state
# that needs a reset: it is per thread, set only inside together() and put back by its
# finally, so nothing outside a batch (another action, a request, a test) ever sees it set.
_batch = threading.local()


def together(actions: Sequence[Action[Game]]) -> list[Game | Exception]:
    """Run several actions (from different sockets) in one transaction, with one commit.

    A refusal is returned in its action's place. If the transaction fails (a
    database error), each action is run again alone, so one bad write cannot
    take the others with it and an error reaches only its own caller.
    """
    results: list[Game | Exception] = []
    try:
        with transaction.atomic():
            _batch.running = True
            try:
                for action in actions:
                    try:
                        results.append(action())
                    except ActionRefused as refusal:
                        results.append(refusal)
            finally:
                _batch.running = False
    except Exception:
        game_cache.discard_all()  # any copy touched in the batch may hold rolled-back changes
        return [_alone(action) for action in actions]
    return results


def _alone(action: Action[Game]) -> Game | Exception:
    try:
        return action()
    except Exception as error:
        return error


def _cached_or_current(room: Room) -> tuple[Game, bool]:
    """The game cache's copy of the room's game if it has one, else a fresh read; and whether it is fresh.

    The copy is the action's own (see game.storage.cached_games): the game a caller may
    still be reading on the event loop (building its state) is another.
    """
    cached = game_cache.get(room)
    if cached is None:
        return current_game(room), True
    return cached, False


def current_game(room: Room) -> Game:
    """The room's latest game, with both seats' players loaded; the first is made on demand."""
    game = _latest_game(room)
    if game is None:
        try:
            with transaction.atomic():
                Game.objects.create(room=room, number=1, board=encode_board(rules.Board.empty(room.size).cells))
        except IntegrityError:
            pass  # another process made it first
        game = _latest_game(room)
        assert game is not None
    return game


def _latest_game(room: Room) -> Game | None:
    game = read_latest_game(room.pk)
    if game is not None:
        game.room = room
        game_cache.store(game)  # a snapshot: the caller may go on to change its own
    return game


def board_of(room: Room, game: Game) -> rules.Board:
    return rules.Board(room.size, room.win_length, game.cells)


# --- Rooms ------------------------------------------------------------------


def create_room(
    name: str = "",
    size: int = 3,
    win_length: int = 3,
    host_id: int | None = None,
    time_control: str = "none",
    absence_seconds: int = 30,
    rated: bool = False,
    idle_seconds: int = DEFAULT_IDLE_SECONDS,
) -> Room:
    rules.check_dimensions(size, win_length)
    clocks.TimeControl.parse(time_control)
    room = Room.objects.create(
        name=name,
        size=size,
        win_length=win_length,
        host_id=host_id,
        time_control=time_control,
        absence_seconds=absence_seconds,
        rated=rated,
        idle_seconds=idle_seconds,
    )
    current_game(room)
    return room


def rooms_waiting_for(identity: Identity) -> int:
    """How many open rooms have this session seated and waiting for a second player."""
    return Game.objects.filter(
        status=Status.WAITING, room__is_open=True, player_x__session_hash=identity.session_hash
    ).count()


QUICK_PLAY_NAME = "Quick play"


def quick_play_room(identity: Identity) -> Room | None:
    """The open quick-play room where this session sits in a game still waiting or being played, if any.

    Quick play sends such a session back there rather than into the pool:
    one quick-play game at a time per session.
    """
    if identity.session_hash is None:
        return None
    mine = (
        Game.objects.filter(status__in=(Status.WAITING, Status.PLAYING), room__is_open=True, room__name=QUICK_PLAY_NAME)
        .filter(Q(player_x__session_hash=identity.session_hash) | Q(player_o__session_hash=identity.session_hash))
        .select_related("room")
        .order_by("-room__created_at")
        .first()
    )
    return None if mine is None else mine.room


@dataclass(frozen=True)
class PairedSeeker:
    """One of the two sessions quick play's pool paired (game.realtime.seeks), as its seek named it."""

    session_hash: str
    user_id: int | None
    name: str | None
    """The name it sits under (numbered if the other has it too); None: its Player's, or the default."""


def start_paired_game(
    first: PairedSeeker, second: PairedSeeker, *, size: int, win_length: int, time_control: str
) -> tuple[Room, Game]:
    """A new quick-play room with a pool's board and clock, the two seekers seated in it: one transaction.

    Rated when both are signed in, as a pool game on lichess is: a pool pairs strangers, so
    nobody picks whom they are rated against.
    """
    rated = first.user_id is not None and second.user_id is not None
    with transaction.atomic():
        room = create_room(
            name=QUICK_PLAY_NAME, size=size, win_length=win_length, time_control=time_control, rated=rated
        )
        with _atomic_write(room):
            return room, seat_pair(room, first, second)


def seat_pair(room: Room, first: PairedSeeker, second: PairedSeeker) -> Game:
    """Seat two paired seekers in ``room``, on sides drawn at random: their game starts."""
    x, o = (first, second) if secrets.randbelow(2) == 0 else (second, first)
    game = current_game(room)
    for seeker in (x, o):
        defaults = {"name": (seeker.name or DEFAULT_NAME)[:NAME_MAX_LENGTH], "user_id": seeker.user_id}
        player, made = Player.objects.get_or_create(session_hash=seeker.session_hash, defaults=defaults)
        if not made and seeker.name and player.name != seeker.name:
            player.name = seeker.name[:NAME_MAX_LENGTH]
            player.save(update_fields=["name"])
        # No name counts as typed here: one the other seeker has too is numbered, never refused.
        game, _ = _seat(room, player, None)
    return game


# --- Changing a game --------------------------------------------------------


def _swap(game: Game, **changes: Any) -> bool:
    """Write ``changes`` if nobody changed the game since it was read; bump its version."""
    with connection.cursor() as cursor:
        return _swap_with(cursor, game, changes)


def _store_move(
    game: Game, changes: dict[str, Any], cell: int, mark: str, player_id: int | None, client_id: str
) -> bool:
    """``_swap(game, **changes)`` and the Move's INSERT.

    A move whose id this player's move carried in the room's previous game
    swaps nothing (false, as for a stale version): the id's check rides in the
    UPDATE, so a move costs no extra trip. Within the game the database's
    constraint refuses a reused id (the INSERT's IntegrityError).
    """
    with connection.cursor() as cursor:
        if not _swap_with(cursor, game, changes, _id_unused_in_previous_game(game, player_id, client_id)):
            return False
        move_values = {"game": game.pk, "number": changes["move_count"], "cell": cell, "mark": mark}
        move_values |= {"player": player_id, "client_id": client_id, "created_at": game.updated_at}
        move_fields = [_concrete_field(Move, name) for name in move_values]
        quote = connection.ops.quote_name
        cursor.execute(
            f"INSERT INTO {quote(Move._meta.db_table)} ({', '.join(quote(field.column) for field in move_fields)})"
            f" VALUES ({', '.join(['%s'] * len(move_fields))})",
            [field.get_db_prep_save(move_values[field.name], connection) for field in move_fields],
        )
    return True


def _swap_with(cursor: Any, game: Game, changes: dict[str, Any], condition: Condition | None = None) -> bool:
    """The compare-and-swap UPDATE, written as plain SQL; ``condition``, if given, must hold too.

    It is on the path of every move and rematch: the ORM compiled it anew
    each time, a fifth of a move's CPU (docs/performance.md). Values are
    still prepared by the model fields (a related object becomes its key),
    so every backend gets what it expects.
    """
    finishing = changes.get("status") in FINISHED_STATUSES
    if finishing and not connection.in_atomic_block:
        with transaction.atomic():  # the ending and its ratings commit together
            return _swap_with(cursor, game, changes, condition)
    extra_sql, extra_params = condition or ("", [])
    quote = connection.ops.quote_name
    values = {**changes, "updated_at": timezone.now()}
    fields = [_concrete_field(Game, name) for name in values]
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    version = quote("version")
    cursor.execute(
        f"UPDATE {quote(Game._meta.db_table)} SET {assignments}, {version} = {version} + 1"
        f" WHERE {quote('id')} = %s AND {version} = %s{extra_sql}",
        [
            *(field.get_db_prep_save(_as_column_value(values[field.name], field), connection) for field in fields),
            game.pk,
            game.version,
            *extra_params,
        ],
    )
    if cursor.rowcount != 1:
        return False
    for name, value in values.items():
        setattr(game, name, value)
    game.version += 1
    # Only one swap lands that ends a game, so this runs once per game; the board shows what it changed.
    if finishing and (board := ratings.record_result(game)) is not None:
        cursor.execute(
            f"UPDATE {quote(Game._meta.db_table)} SET {quote('ratings')} = %s WHERE {quote('id')} = %s",
            [_concrete_field(Game, "ratings").get_db_prep_save(board, connection), game.pk],
        )
        game.ratings = board
    # The game as written is this process's copy now (dropped again if the transaction rolls back).
    game_cache.store(game)
    return True


# More SQL for the compare-and-swap's WHERE (starting " AND "), and its parameters.
Condition = tuple[str, list[Any]]


def _id_unused_in_previous_game(game: Game, player_id: int | None, client_id: str) -> Condition | None:
    """SQL that holds unless a move of ``player_id`` in the room's previous game carried ``client_id``; None: no check.

    One indexed probe inside the UPDATE (game_number_unique_in_room, then
    the previous game's few moves), only for a move with an id in a rematch.
    """
    if not client_id or player_id is None or game.number <= 1:
        return None
    quote = connection.ops.quote_name
    moves, games, previous = quote(Move._meta.db_table), quote(Game._meta.db_table), quote("previous_game")
    sql = (
        f" AND NOT EXISTS (SELECT 1 FROM {moves} INNER JOIN {games} AS {previous}"
        f" ON {moves}.{quote('game_id')} = {previous}.{quote('id')}"
        f" WHERE {previous}.{quote('room_id')} = %s AND {previous}.{quote('number')} = %s"
        f" AND {moves}.{quote('player_id')} = %s AND {moves}.{quote('client_id')} = %s)"
    )
    return sql, [game.room_id, game.number - 1, player_id, client_id]


def _as_column_value(value: Any, field: Field[Any, Any]) -> Any:
    """A model instance stands for its key in a foreign-key column."""
    prepare = getattr(value, "prepare_database_save", None)
    return prepare(field) if prepare is not None else value


def _concrete_field(model: type[Game] | type[Move], name: str) -> Field[Any, Any]:
    field = model._meta.get_field(name)
    assert isinstance(field, Field)
    return field


def _player(identity: Identity, name: str | None) -> Player:
    """This session's Player, made (under ``name``) the first time it takes a seat."""
    assert identity.session_hash is not None
    defaults = {"name": name or (identity.user_name or DEFAULT_NAME)[:NAME_MAX_LENGTH], "user_id": identity.user_id}
    if identity.player_id is None:
        # Nobody had a Player for this session when its socket connected: most likely a newcomer,
        # so insert first (get_or_create would look first); another tab may have made it since.
        try:
            with transaction.atomic():
                return Player.objects.create(session_hash=identity.session_hash, **defaults)
        except IntegrityError:
            pass
    player, _ = Player.objects.get_or_create(session_hash=identity.session_hash, defaults=defaults)
    return player


def _same_name(first: str, second: str) -> bool:
    """Whether a reader could take one name for the other: NFKC, case and look-alikes aside (game.domain.names)."""
    return names.same_name(first, second)


def _name_beside(player: Player, typed: str | None, opponent: Player | None) -> str:
    """The name ``player`` sits under beside ``opponent``: names are unique among a room's seats.

    A name someone typed that the opponent already has is refused; a name
    nobody typed (the default, or the one this session used before) is numbered.
    """
    wanted = typed or player.name
    if opponent is None or opponent.id == player.id or not _same_name(wanted, opponent.name):
        return wanted
    if typed:
        raise ActionRefused("name_taken", f"{opponent.name} is already playing here: pick another name.")
    return f"{wanted[: NAME_MAX_LENGTH - 2]} 2"


def join(room: Room, identity: Identity, name: str | None, side: rules.Mark | None = None) -> tuple[Game, Player]:
    """Seat this session (``side`` if it is free, else X first, then O), or re-attach it to the seat it holds."""
    if identity.session_key is None:
        raise ActionRefused("no_session", "Open the room page first: joining needs a session cookie.")
    if not room.is_open:
        raise ActionRefused("room_closed", "This room is closed.")
    return _seat(room, _player(identity, name), name, side)


def _seat(room: Room, player: Player, name: str | None, side: rules.Mark | None = None) -> tuple[Game, Player]:
    while True:
        game = current_game(room)
        mine = game.seat_of(player.id)
        free = [mark for mark in (side, rules.X, rules.O) if mark is not None and game.player(mark) is None]
        if mine is not None:
            opponent = game.player(rules.other(mine))
        elif free:
            opponent = game.player(rules.other(free[0]))
        else:
            raise ActionRefused("room_full", "Both seats are taken: you can watch.")
        seated_as = _name_beside(player, name, opponent)
        renamed = seated_as != player.name
        if renamed:
            player.name = seated_as
            player.save(update_fields=["name"])
        if mine is not None:
            # Re-attached; a new name shows at the next state.
            for seat in (game.player_x, game.player_o):
                if seat is not None and seat.id == player.id:
                    seat.name = player.name
            if renamed:
                game_cache.store(game)  # the name is saved: this process's copy shows it too
            return game, player
        changes: dict[str, Any] = {"player_x" if free[0] == rules.X else "player_o": player}
        if opponent is not None:
            turn = board_of(room, game).turn
            changes.update(status=Status.PLAYING, turn=turn)
            # A new game, or one that waited for a seat to be filled again: it goes on from its board and clocks.
            stored = _clocks(game) if game.move_count else None
            changes.update(_turn_begins(room, stored, game.move_count, turn, epoch_ms(now())))
        seats: dict[str, Player | None] = {
            rules.X: changes.get("player_x", game.player_x),
            rules.O: changes.get("player_o", game.player_o),
        }
        changes["ratings"] = ratings.at_board(room, seats)
        if _swap(game, **changes):
            return game, player


def play_move(room: Room, player_id: int | None, cell: int, client_id: str | None = None) -> Game:
    """Judge and apply ``player_id``'s move to ``cell``: persisted before this returns.

    A move whose ``client_id`` this player's move already carried in this
    game or the one before, whatever its cell, raises AlreadyPlayed instead
    of being played (a page resending after a reconnect): the caller answers
    with the state. Checked for free on the way: a refused move asks
    :func:`_already_played`, a legal one is stopped by the Move constraint
    (this game) or the swap's condition (the game before).
    """
    game, fresh = _cached_or_current(room)
    while True:
        try:
            mark, changes = _judge_move(room, game, player_id, cell)
        except ActionRefused:
            if not fresh:
                game, fresh = current_game(room), True  # the refusal may come from a stale copy: judge again
                continue
            if client_id and _already_played(game, player_id, client_id):
                raise AlreadyPlayed() from None
            raise
        try:
            with _atomic_write(room):
                swapped = _store_move(game, changes, cell, mark, player_id, client_id or "")
        except IntegrityError:
            # Inside a batch the transaction is spoilt (no savepoint): the batch fails and runs
            # each action again alone, where this write rolled back alone and the check may read.
            if client_id and not getattr(_batch, "running", False) and _already_played(game, player_id, client_id):
                raise AlreadyPlayed() from None  # move_client_id_once_per_player: the id was used in this game
            raise
        if swapped:
            return game
        if client_id and game.number > 1 and _already_played(game, player_id, client_id):
            raise AlreadyPlayed()  # the swap's condition: the id was used in the game before
        game, fresh = current_game(room), True  # someone else changed the game first: judge again


def _already_played(game: Game, player_id: int | None, client_id: str) -> bool:
    """Whether ``player_id`` played a move with ``client_id`` in this game or the one before."""
    if player_id is None:
        return False
    return Move.objects.filter(
        game__room_id=game.room_id, game__number__gte=game.number - 1, player_id=player_id, client_id=client_id
    ).exists()


def _judge_move(room: Room, game: Game, player_id: int | None, cell: int) -> tuple[rules.Mark, dict[str, Any]]:
    """The mark that moves and the changes the move makes, or ActionRefused."""
    mark = _seat_or_refuse(game, player_id)
    _refuse_unless_playing(game)
    moved_at = epoch_ms(now())
    game_clocks = _clocks(game)
    if game_clocks is not None and game_clocks.has_flagged(moved_at):
        raise ActionRefused("game_over", "Your time ran out.")
    if game.move_count < 2 and game.deadline is not None and epoch_ms(game.deadline) <= moved_at:
        raise ActionRefused("game_over", "Too late for a first move: the game is aborted.")
    try:
        board = board_of(room, game).play(cell, mark)
    except rules.RuleError as error:
        raise ActionRefused(error.code, str(error)) from None
    outcome = board.outcome
    changes: dict[str, Any] = {
        "board": encode_board(board.cells),
        "history": [*game.history, cell],
        "move_count": game.move_count + 1,
    }
    if game.offer_kind:
        changes.update(_NO_OFFER)  # a move lapses any offer
    if outcome is None:
        changes["turn"] = board.turn
        changes.update(_turn_begins(room, game_clocks, changes["move_count"], board.turn, moved_at))
    else:
        changes.update(
            status=Status.DRAW if outcome.is_draw else Status.WON,
            reason=EndReason.FULL_BOARD if outcome.is_draw else EndReason.LINE,
            turn=None,
            winner=outcome.winner,
            line=list(outcome.line) if outcome.line else None,
            **_ended(game, moved_at),
        )
    return mark, changes


def resign(room: Room, player_id: int | None) -> Game:
    while True:
        game = current_game(room)
        mark = _seat_or_refuse(game, player_id)
        _refuse_unless_playing(game)
        result = {"status": Status.RESIGNED, "reason": EndReason.RESIGNED, "winner": rules.other(mark)}
        if _swap(game, turn=None, **result, **_ended(game, epoch_ms(now()))):
            return game


# --- Clocks, absence, offers ----------------------------------------------------

_NO_OFFER: dict[str, Any] = {"offer_kind": "", "offer_by": ""}


def _turn_begins(
    room: Room,
    game_clocks: clocks.Clocks | None,
    move_count: int,
    turn: rules.Mark,
    at_ms: int,
    *,
    taken_back: bool = False,
) -> dict[str, Any]:
    """The Game fields for ``turn``'s turn beginning at ``at_ms``, ``move_count`` moves into the game.

    Until both players have made a first move no clock runs: the player to
    move has a first-move deadline instead, clock or no clock, and missing it
    aborts the game (settle). From the second move on the clocks run; without
    a clock, the turn's start is kept for idle claims (idle_claim_at).
    ``game_clocks`` are the clocks as they stand (None for a new game's);
    ``taken_back`` when the turn comes back to its player by a takeback.
    """
    control = room.clock_control
    if move_count < 2:
        waiting = clocks.Clocks.waiting(control) if game_clocks is None else game_clocks.stopped(at_ms)
        fields = _clock_fields(waiting) if control.is_on else {"turn_started_at": None}
        return fields | {"deadline": from_epoch_ms(at_ms + control.first_move_ms)}
    if not control.is_on:
        return {"turn_started_at": from_epoch_ms(at_ms), "deadline": None}
    assert game_clocks is not None
    if game_clocks.running is None:  # the first move of each is made: the clocks start, or go on after a pause
        return _clock_fields(game_clocks.restarted(turn, at_ms))
    if taken_back:
        return _clock_fields(game_clocks.handed_back(control, at_ms))
    return _clock_fields(game_clocks.after_move(control, at_ms))


def _clocks(game: Game) -> clocks.Clocks | None:
    """The game's clocks, or None when its room has no time control."""
    if game.clock_x_ms is None or game.clock_o_ms is None:
        return None
    since = game.turn_started_at
    running = game.mark_to_move if game.status == Status.PLAYING and since is not None else None
    return clocks.Clocks(game.clock_x_ms, game.clock_o_ms, running, epoch_ms(since) if since and running else None)


def _clock_fields(game_clocks: clocks.Clocks | None) -> dict[str, Any]:
    """The Game fields that store ``game_clocks``."""
    if game_clocks is None:
        return {}
    deadline = game_clocks.deadline_ms
    since = game_clocks.since_ms
    return {
        "clock_x_ms": game_clocks.x_ms,
        "clock_o_ms": game_clocks.o_ms,
        "turn_started_at": from_epoch_ms(since) if since is not None else None,
        "deadline": from_epoch_ms(deadline) if deadline is not None else None,
    }


def _ended(game: Game, at_ms: int) -> dict[str, Any]:
    """What every ending changes besides its result: the clocks stop, the offer and the countdowns go."""
    changes: dict[str, Any] = {
        "x_left_at": None,
        "o_left_at": None,
        "finished_at": from_epoch_ms(at_ms),
        "deadline": None,
        "turn_started_at": None,
    }
    if game.offer_kind:
        changes.update(_NO_OFFER)
    game_clocks = _clocks(game)
    if game_clocks is not None:
        changes.update(_clock_fields(game_clocks.stopped(at_ms)))
    return changes


def claim_at(room: Room, game: Game, mark: rules.Mark) -> datetime | None:
    """When the opponent of ``mark``'s absent player may claim; None while ``mark`` is here."""
    left = game.left_at(mark)
    return None if left is None else left + timedelta(seconds=room.absence_seconds)


def idle_since(room: Room, game: Game) -> tuple[rules.Mark, datetime] | None:
    """In a room without a clock, the person to move and since when (once both have made a first move)."""
    if game.status != Status.PLAYING or game.move_count < 2 or game.turn_started_at is None:
        return None
    mark = game.mark_to_move
    player = game.player(mark) if mark is not None else None
    if mark is None or player is None or player.bot_level or room.clock_control.is_on:
        return None
    return mark, game.turn_started_at


def idle_claim_at(room: Room, game: Game, mark: rules.Mark) -> datetime | None:
    """When the other player may claim against ``mark`` for taking over ``room.idle_seconds`` on a move."""
    idle = idle_since(room, game)
    if idle is None or idle[0] != mark:
        return None
    return idle[1] + timedelta(seconds=room.idle_seconds)


def claim(room: Room, player_id: int | None, result: str) -> Game:
    """The opponent has been away, or idle without a clock, past the room's limit: end the game for the claimant."""
    while True:
        game = current_game(room)
        mark = _seat_or_refuse(game, player_id)
        _refuse_unless_playing(game)
        if result not in ("win", "draw"):
            raise ActionRefused("bad_result", "A claim's result is 'win' or 'draw'.")
        opponent = rules.other(mark)
        moments = [moment for moment in (claim_at(room, game, opponent), idle_claim_at(room, game, opponent)) if moment]
        if not moments:
            raise ActionRefused("not_absent", "Your opponent is here.")
        claimable = min(moments)
        at = now()
        if at < claimable:
            seconds = int((claimable - at).total_seconds()) + 1
            raise ActionRefused("too_early", f"You can claim in {seconds} s.")
        if game.move_count < 2:
            changes = _ABORTED
        elif result == "win":
            changes = {"status": Status.ABANDONED, "reason": EndReason.CLAIMED_WIN, "winner": mark}
        else:
            changes = {"status": Status.DRAW, "reason": EndReason.CLAIMED_DRAW}
        if _swap(game, turn=None, **_ended(game, epoch_ms(at)), **changes):
            return game


_ABORTED: dict[str, Any] = {"status": Status.ABORTED, "reason": EndReason.ABORTED, "winner": None}


def note_presence(room: Room, present_sessions: frozenset[str]) -> Game | None:
    """Start or cancel the seated players' absence countdowns to match who is here; the game if it changed."""
    while True:
        game = current_game(room)
        if game.status != Status.PLAYING:
            return None
        at = now()
        changes: dict[str, Any] = {}
        for mark, field in ((rules.X, "x_left_at"), (rules.O, "o_left_at")):
            player = game.player(mark)
            if player is None or player.bot_level:
                continue  # the computer never leaves on its own
            here = player.session_hash in present_sessions
            if here and game.left_at(mark) is not None:
                changes[field] = None
            elif not here and game.left_at(mark) is None:
                changes[field] = at
        if not changes:
            return None
        if _swap(game, **changes):
            return game


def is_due(room: Room, game: Game, at: datetime | None = None) -> bool:
    """Whether the server must end ``game`` on its own by now: a flag has fallen, or an absent player's
    game has to be aborted."""
    if game.status != Status.PLAYING:
        return False
    at = at or now()
    if game.deadline is not None and game.deadline <= at:
        return True
    if game.move_count >= 2 and computer_seat(game) is None:
        return False
    # Left before both had moved (aborted), or left the computer (which then claims the game).
    return any((moment := claim_at(room, game, mark)) is not None and moment <= at for mark in rules.MARKS)


def settle(room: Room) -> Game | None:
    """End the room's game if it is due (a flag fell, or a player left before both had moved); the game if so.

    Any number of processes may call this for the same game at once: the
    compare-and-swap lets exactly one of them end it.
    """
    while True:
        game = current_game(room)
        at = now()
        if not is_due(room, game, at):
            return None
        game_clocks = _clocks(game)
        if game_clocks is not None and game_clocks.has_flagged(epoch_ms(at)):
            deadline, flagged = game_clocks.deadline_ms, game_clocks.running
            assert deadline is not None
            assert flagged is not None
            changes: dict[str, Any] = {
                "status": Status.TIMEOUT,
                "reason": EndReason.TIMEOUT,
                "winner": rules.other(flagged),
            }
            ending = _ended(game, deadline)  # the loser's clock shows 0:00, whenever this runs
        elif game.move_count < 2:
            changes = _ABORTED
            ending = _ended(game, epoch_ms(at))
        else:
            winner = computer_seat(game)
            changes = {"status": Status.ABANDONED, "reason": EndReason.CLAIMED_WIN, "winner": winner}
            ending = _ended(game, epoch_ms(at))
        if _swap(game, turn=None, **ending, **changes):
            return game


def due_rooms(limit: int = 200) -> list[Room]:
    """Rooms whose game the server may have to end on its own now (see :func:`is_due`)."""
    at = now()
    candidates = (
        Game.objects.filter(status=Status.PLAYING)
        .filter(
            Q(deadline__lte=at)
            | (Q(move_count__lt=2) | Q(player_x__bot_level__gt="") | Q(player_o__bot_level__gt=""))
            & (Q(x_left_at__isnull=False) | Q(o_left_at__isnull=False))
        )
        .select_related("room", "player_x", "player_o")[:limit]
    )
    return [game.room for game in candidates if is_due(game.room, game, at)]


def offer_draw(room: Room, player_id: int | None) -> Game:
    """Offer a draw; accepts the opponent's own pending draw offer instead."""
    while True:
        game = current_game(room)
        mark = _seat_or_refuse(game, player_id)
        _refuse_unless_playing(game)
        if game.offer_kind == OfferKind.DRAW and game.offer_by == rules.other(mark):
            return answer_offer(room, player_id, accept=True)
        if game.offer_kind:
            raise ActionRefused("offer_pending", "An offer is already waiting for an answer.")
        if _swap(game, offer_kind=OfferKind.DRAW, offer_by=mark):
            return game


def request_takeback(room: Room, player_id: int | None) -> Game:
    """Ask the opponent to take back this player's last move (only while it is the last move)."""
    while True:
        game = current_game(room)
        mark = _seat_or_refuse(game, player_id)
        _refuse_unless_playing(game)
        if game.offer_kind:
            raise ActionRefused("offer_pending", "An offer is already waiting for an answer.")
        if not game.history or game.turn == mark:
            raise ActionRefused("nothing_to_take_back", "Only your own last move can be taken back.")
        if _swap(game, offer_kind=OfferKind.TAKEBACK, offer_by=mark):
            return game


def answer_offer(room: Room, player_id: int | None, *, accept: bool) -> Game:
    """Accept or decline the opponent's pending offer."""
    while True:
        game = current_game(room)
        mark = _seat_or_refuse(game, player_id)
        _refuse_unless_playing(game)
        if not game.offer_kind or game.offer_by != rules.other(mark):
            raise ActionRefused("no_offer", "Your opponent has not offered anything.")
        at = epoch_ms(now())
        if not accept:
            changes: dict[str, Any] = dict(_NO_OFFER)
        elif game.offer_kind == OfferKind.DRAW:
            changes = {"status": Status.DRAW, "reason": EndReason.AGREED, "turn": None, **_ended(game, at)}
        else:
            changes = _taken_back(room, game, at)
        with _atomic_write(room):
            if _swap(game, **changes):
                if "history" in changes:  # a takeback: its move is no longer part of the game
                    Move.objects.filter(game=game, number=game.move_count + 1).delete()
                return game


def _taken_back(room: Room, game: Game, at_ms: int) -> dict[str, Any]:
    """The changes that remove the game's last move and give the turn back to whoever made it."""
    cells = list(game.cells)
    cells[game.history[-1]] = rules.EMPTY
    changes: dict[str, Any] = {
        "board": encode_board(tuple(cells)),
        "history": game.history[:-1],
        "move_count": game.move_count - 1,
        "turn": game.offer_by,
        **_NO_OFFER,
    }
    back_to = rules.X if game.offer_by == rules.X else rules.O
    return changes | _turn_begins(room, _clocks(game), changes["move_count"], back_to, at_ms, taken_back=True)


def request_rematch(room: Room, player_id: int | None) -> Game:
    """Record a rematch request; when both players have asked, start the next game."""
    game, fresh = _cached_or_current(room)
    while True:
        try:
            mark = _seat_or_refuse(game, player_id)
            _refuse_unless_finished(game)
        except ActionRefused:
            if fresh:
                raise
            game, fresh = current_game(room), True  # the refusal may come from a stale copy
            continue
        flag = "rematch_x" if mark == rules.X else "rematch_o"
        both_asked = (game.rematch_x or mark == rules.X) and (game.rematch_o or mark == rules.O)
        with _atomic_write(room):
            if _swap(game, **{flag: True}):
                if not both_asked:
                    return game
                # Marks swap, so whoever played O moves first in the new game.
                return _start_next_game(room, game, player_x=game.player_o, player_o=game.player_x)
        game, fresh = current_game(room), True  # someone else changed the game first


def _refuse_unless_finished(game: Game) -> None:
    if game.status == Status.WAITING:
        raise ActionRefused("game_not_started", "The game has not started yet.")
    if game.status not in FINISHED_STATUSES:
        raise ActionRefused("game_not_over", "A rematch can be asked for once the game is over.")


def series_after(game: Game) -> dict[str, Any]:
    """The score between the game's players in the room, this game included once it is over."""
    wins: dict[str, int] = dict(game.series.get("wins", {}))
    draws: int = game.series.get("draws", 0)
    counted = ratings.counts(game)  # a game over before both had moved adds nothing
    if counted and game.status in DECIDED_STATUSES and game.winner is not None:
        winner = game.player_x_id if game.winner == rules.X else game.player_o_id
        wins[str(winner)] = wins.get(str(winner), 0) + 1
    elif counted and game.status == Status.DRAW:
        draws += 1
    return {"wins": wins, "draws": draws}


def _start_next_game(room: Room, game: Game, player_x: Player | None, player_o: Player | None) -> Game:
    both_seated = player_x is not None and player_o is not None
    same_pair = both_seated and {game.player_x_id, game.player_o_id} == {player_x.id, player_o.id}  # type: ignore[union-attr]
    next_game = Game(
        room=room,
        number=game.number + 1,
        board=encode_board(rules.Board.empty(room.size).cells),
        status=Status.PLAYING if both_seated else Status.WAITING,
        turn=rules.X if both_seated else None,
        player_x=player_x,
        player_o=player_o,
        series=series_after(game) if same_pair else {},
    )
    if both_seated:
        for name, value in _turn_begins(room, None, 0, rules.X, epoch_ms(now())).items():
            setattr(next_game, name, value)
    next_game.ratings = ratings.at_board(room, {rules.X: player_x, rules.O: player_o})
    next_game.save(force_insert=True)
    next_game.room = room
    game_cache.store(next_game)
    return next_game


# --- The computer ------------------------------------------------------------------

BOT_LEVELS = ("easy", "medium", "perfect")


def computer_name(level: str) -> str:
    return f"Computer ({level})"


def bot_games_of(identity: Identity) -> int:
    """How many games this session plays against the computer now (waiting or being played)."""
    mine = Q(player_x__session_hash=identity.session_hash) | Q(player_o__session_hash=identity.session_hash)
    against_bot = Q(player_x__bot_level__gt="") | Q(player_o__bot_level__gt="")
    return Game.objects.filter(mine, against_bot, status__in=(Status.WAITING, Status.PLAYING)).count()


def add_computer(room: Room, identity: Identity, level: str) -> Game:
    """Seat the computer, at ``level``, in the room's free seat, beside this session's player."""
    if level not in BOT_LEVELS:
        raise ActionRefused("bad_level", f"The computer plays {', '.join(BOT_LEVELS)}.")
    game = current_game(room)
    mark = game.seat_of(identity.player_id)
    if mark is None:
        raise ActionRefused("not_a_player", "Take a seat first: the computer plays the other one.")
    if game.player(rules.other(mark)) is not None:
        raise ActionRefused("room_full", "Both seats are taken.")
    if bot_games_of(identity) >= settings.TICTAC["MAX_BOT_GAMES_PER_SESSION"]:
        raise ActionRefused("too_many_bots", "You are already playing the computer elsewhere: finish that game first.")
    bot = Player.objects.create(
        session_hash=f"computer:{secrets.token_hex(16)}", name=computer_name(level), bot_level=level
    )
    game, _ = _seat(room, bot, None)
    return game


def computer_to_move(game: Game) -> Player | None:
    """The computer's Player if it is the computer's turn in ``game``."""
    if game.status != Status.PLAYING or game.turn is None:
        return None
    player = game.player(game.mark_to_move) if game.mark_to_move else None
    return player if player is not None and player.bot_level else None


def computer_seat(game: Game) -> rules.Mark | None:
    for mark in rules.MARKS:
        player = game.player(mark)
        if player is not None and player.bot_level:
            return mark
    return None


def remove_computer(room: Room) -> Game | None:
    """The computer leaves the room with the person it played (its seat is freed)."""
    game = current_game(room)
    mark = computer_seat(game)
    if mark is None:
        return None
    kick(room, mark)
    return current_game(room)


# --- Chat -------------------------------------------------------------------------

CHAT_KEPT = 50


def _chat_line(message: ChatMessage) -> dict[str, Any]:
    """A stored chat line as the protocol's ``chat`` message."""
    return {
        "type": "chat",
        "name": message.name,
        "mark": message.mark or None,
        "text": message.text,
        "at": message.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def save_chat(room: Room, name: str, mark: str | None, text: str) -> dict[str, Any]:
    """Keep a chat line (the room's last CHAT_KEPT come with its page) and return its ``chat`` message."""
    message = ChatMessage.objects.create(room=room, name=name, mark=mark or "", text=text)
    if message.pk % 10 == 0:  # prune now and then, not on every line
        oldest_kept = (
            ChatMessage.objects.filter(room=room)
            .order_by("-id")
            .values_list("id", flat=True)[CHAT_KEPT - 1 : CHAT_KEPT]
        )
        if oldest_kept:
            ChatMessage.objects.filter(room=room, id__lt=oldest_kept[0]).delete()
    return _chat_line(message)


_NEWEST_CHAT = CompiledRead(
    ChatMessage,
    lambda room_id: ChatMessage.objects.filter(room_id=room_id).order_by("-id")[:CHAT_KEPT],
    ("room",),
    (1,),
)


def recent_chat(room: Room) -> list[dict[str, Any]]:
    """The room's last CHAT_KEPT chat messages, oldest first (every room page shows them)."""
    return [_chat_line(message) for message in reversed(_NEWEST_CHAT.all(room.pk))]


# --- Hosts' actions (the admin) -------------------------------------------------


def close_room(room: Room) -> None:
    """Close a room: it leaves the lobby and refuses players (its sockets are closed by the caller)."""
    Room.objects.filter(pk=room.pk).update(is_open=False)
    room.is_open = False


def kick(room: Room, mark: rules.Mark) -> int | None:
    """Free ``mark``'s seat in the current game; returns the id of the player who held it.

    A game in play waits for someone to take the seat and then goes on from
    its board; after a finished game the one who stays starts a fresh game as X.
    """
    while True:
        game = current_game(room)
        kicked = game.player_x if mark == rules.X else game.player_o
        if kicked is None:
            return None
        stays = game.player_o if mark == rules.X else game.player_x
        with _atomic_write(room):
            if game.status in FINISHED_STATUSES:
                if not _swap(game, rematch_x=False, rematch_o=False):
                    continue
                _start_next_game(room, game, player_x=stays, player_o=None)
                return kicked.id
            seat = {"player_x": None} if mark == rules.X else {"player_o": None}
            # Clocks, offer and countdowns stop while the seat is free; the clocks go on when it is taken again.
            if _swap(game, **seat, **_ended(game, epoch_ms(now())), status=Status.WAITING, turn=None):
                return kicked.id


def _seat_or_refuse(game: Game, player_id: int | None) -> rules.Mark:
    mark = game.seat_of(player_id)
    if mark is None:
        raise ActionRefused("not_a_player", "Only the two seated players can do that.")
    return mark


def _refuse_unless_playing(game: Game) -> None:
    if game.status in FINISHED_STATUSES:
        raise ActionRefused("game_over", "The game is over.")
    if game.status == Status.WAITING:
        raise ActionRefused("game_not_started", "Waiting for an opponent to join.")


# --- For the consumer: the same functions on Channels' database thread ---------

aget_room = database_sync_to_async(get_room)
aidentify = database_sync_to_async(identify)
acurrent_game = database_sync_to_async(current_game)
ajoin = database_sync_to_async(join)
aresign = database_sync_to_async(resign)
aclaim = database_sync_to_async(claim)
aoffer_draw = database_sync_to_async(offer_draw)
arequest_takeback = database_sync_to_async(request_takeback)
aanswer_offer = database_sync_to_async(answer_offer)
anote_presence = database_sync_to_async(note_presence)
asave_chat = database_sync_to_async(save_chat)
aquick_play_room = database_sync_to_async(quick_play_room)
astart_paired_game = database_sync_to_async(start_paired_game)
aadd_computer = database_sync_to_async(add_computer)
aremove_computer = database_sync_to_async(remove_computer)
asettle = database_sync_to_async(settle)
adue_rooms = database_sync_to_async(due_rooms)

# Moves and rematch requests, the actions every game repeats, are grouped.
_frequent_actions: GroupCommit[Game] = GroupCommit(database_sync_to_async(together))


async def aplay_move(room: Room, player_id: int | None, cell: int, client_id: str | None = None) -> Game:
    return await _frequent_actions.run(partial(play_move, room, player_id, cell, client_id))


async def arequest_rematch(room: Room, player_id: int | None) -> Game:
    return await _frequent_actions.run(partial(request_rematch, room, player_id))
