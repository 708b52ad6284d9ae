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

import copy
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from channels.db import database_sync_to_async
from django.db import IntegrityError, connection, transaction
from django.db.models import Field
from django.utils import timezone

from . import rules
from .group_commit import Action, GroupCommit
from .models import FINISHED_STATUSES, Game, Move, Player, Room, Status, encode_board
from .protocol import DEFAULT_NAME


class ActionRefused(Exception):  # noqa: N818 - a refusal is an answer, not an error
    """An action the server will not apply; ``code`` is the protocol's error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Identity:
    """Who is behind a socket, as far as the server knows: never what the client says."""

    session_key: str | None
    user_id: int | None = None
    player_id: int | None = None
    player_name: str | None = None


# The per-room caches of a process (games here, presence readings in
# state.py) hold the rooms it has sockets in; a room is forgotten when its
# last local socket leaves (forget_room). Rooms only read over HTTP are not,
# so past this many a cache starts again from empty rather than grow with
# every room the process has ever served.
ROOMS_REMEMBERED = 10_000

RoomKey = TypeVar("RoomKey")
Cached = TypeVar("Cached")


class RoomCache(dict[RoomKey, Cached]):
    """One of this process's per-room caches, held to ROOMS_REMEMBERED rooms."""

    def keep(self, room: RoomKey, value: Cached) -> None:
        if room not in self and len(self) >= ROOMS_REMEMBERED:
            self.clear()
        self[room] = value


# --- Reading ----------------------------------------------------------------


def get_room(code: str) -> Room | None:
    return Room.objects.filter(code=code).first()


def identify(session: Any) -> Identity:
    """The identity of a request or socket's session; a key not in the store counts as none."""
    session_key = session.session_key
    if not session_key or not session.exists(session_key):
        return Identity(session_key=None)
    user_id = session.get("_auth_user_id")
    player = Player.objects.filter(session_key=session_key).only("id", "name").first()
    return Identity(
        session_key=session_key,
        user_id=int(user_id) if user_id else None,
        player_id=player.id if player else None,
        player_name=player.name if player else None,
    )


# The game this process last read or wrote, per room: the move path judges
# against it and skips the SELECT. It may be stale (another process moved),
# which is safe: an acceptance is confirmed by the version compare-and-swap,
# and a refusal is judged again against a fresh read before it is given. A
# copy that may hold rolled-back changes is dropped (see _atomic_write).
# Nobody changes a game once it is here: a read caches a copy of what it
# returns, an action changes a copy of the cached game, and a game goes in
# only once its change is written (_swap_with). Actions run on more than one
# thread (the consumers' database thread, each HTTP request's own).
_last_seen_game: RoomCache[int, Game] = RoomCache()


def forget_room(room: Room) -> None:
    """This process has no socket in the room any more: drop what it cached about the room's game.

    Only a cost if the room comes back (a read instead of a copy): the
    version check, not the cache, is what keeps a move right.
    """
    _last_seen_game.pop(room.pk, None)
    _published_games.pop(room.pk, None)


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
        _last_seen_game.pop(room.pk, None)
        raise


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
        _last_seen_game.clear()  # any copy touched in the batch may hold rolled-back changes
        return [_alone(action) for action in actions]
    return results


def _alone(action: Action[Game]) -> Game | Exception:
    try:
        return action()
    except Exception as error:
        return error


def _cached_or_current(room: Room) -> tuple[Game, bool]:
    """A copy of this process's game for the room if it has one, else a fresh read; and whether it is fresh.

    The copy is the action's own: the cached game may be one a caller is
    still reading on the event loop (building its state), which a change
    made here must not reach.
    """
    cached = _last_seen_game.get(room.pk)
    if cached is None:
        return current_game(room), True
    return _brought_up_to_date(copy.copy(cached)), False


@dataclass(frozen=True)
class PublishedGame:
    """The newest state of a room's game that reached this process through the room's group."""

    number: int
    version: int
    seats: dict[str, int | None]
    encoded: str
    read_fields: Callable[[str], dict[str, Any]]
    """Reads the Game fields out of ``encoded`` (state.game_fields), when they are first needed."""


# Per room, written on the event loop and read on the database thread; an
# entry is only ever replaced whole.
_published_games: RoomCache[int, PublishedGame] = RoomCache()


def note_published_game(
    room_pk: int,
    number: int,
    version: int,
    seats: dict[str, int | None],
    encoded: str,
    read_fields: Callable[[str], dict[str, Any]],
) -> None:
    """Keep the newest published state of a room's game, to bring this process's copy up to date.

    With a game's players on two workers, each move is made on the worker
    that did not make the last one: without this, every move found its
    worker's copy a move behind, lost its compare-and-swap and read the game
    again. Every socket of the room in this process hands over the same
    state, so what is known already is turned away before anything is made.
    """
    mine = _last_seen_game.get(room_pk)
    if mine is not None and (mine.number, mine.version) >= (number, version):
        return  # this process's copy has it already: most often the change was made here
    known = _published_games.get(room_pk)
    if known is not None and (known.number, known.version) >= (number, version):
        return
    _published_games.keep(room_pk, PublishedGame(number, version, seats, encoded, read_fields))


def _brought_up_to_date(game: Game) -> Game:
    """``game`` with the fields of a newer published state of the same game, if there is one.

    A state is published only after its change has committed, and it carries
    every field that a change to the same game with the same players makes, so
    the result is the stored row at the published version. Anything else (a
    new game, a seat taken or freed) is left to the version check, which
    fails and makes the action read the game again.
    """
    published = _published_games.get(game.room_id)
    if (
        published is None
        or published.number != game.number
        or published.version <= game.version
        or published.seats != {rules.X: game.player_x_id, rules.O: game.player_o_id}
    ):
        return game
    for name, value in published.read_fields(published.encoded).items():
        setattr(game, name, value)
    game.version = published.version
    return game


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
    game = Game.objects.select_related("player_x", "player_o").filter(room=room).order_by("-number").first()
    if game is not None:
        game.room = room
        _last_seen_game.keep(room.pk, copy.copy(game))  # the caller may go on to change its own
    return game


def board_of(room: Room, game: Game) -> rules.Board:
    return rules.Board(room.size, room.win_length, game.cells)


# --- Rooms ------------------------------------------------------------------


def create_room(name: str = "", size: int = 3, win_length: int = 3, host_id: int | None = None) -> Room:
    rules.check_dimensions(size, win_length)
    room = Room.objects.create(name=name, size=size, win_length=win_length, host_id=host_id)
    current_game(room)
    return room


def quick_play(identity: Identity) -> Room:
    """Seat this session in the oldest open room waiting for a player, or in a new room."""
    waiting = (
        Game.objects.filter(status=Status.WAITING, room__is_open=True)
        .exclude(player_x__session_key=identity.session_key)
        .select_related("room")
        .order_by("room__created_at")
    )
    for game in waiting[:5]:
        try:
            join(game.room, identity, identity.player_name)
        except ActionRefused:
            continue  # filled while we looked
        return game.room
    room = create_room(name="Quick play")
    join(room, identity, identity.player_name)
    return room


# --- Changing a game --------------------------------------------------------


def _swap(game: Game, **changes: Any) -> bool:
    """Write ``changes`` if nobody changed the game since it was read; bump its version."""
    with connection.cursor() as cursor:
        return _swap_with(cursor, game, changes)


def _store_move(game: Game, changes: dict[str, Any], cell: int, mark: str, player_id: int | None) -> bool:
    """``_swap(game, **changes)`` and the Move's INSERT."""
    with connection.cursor() as cursor:
        if not _swap_with(cursor, game, changes):
            return False
        move_values = {"game": game.pk, "number": changes["move_count"], "cell": cell, "mark": mark}
        move_values |= {"player": player_id, "created_at": game.updated_at}
        move_fields = [_concrete_field(Move, name) for name in move_values]
        quote = connection.ops.quote_name
        cursor.execute(
            f"INSERT INTO {quote(Move._meta.db_table)} ({', '.join(quote(field.column) for field in move_fields)})"
            f" VALUES ({', '.join(['%s'] * len(move_fields))})",
            [field.get_db_prep_save(move_values[field.name], connection) for field in move_fields],
        )
    return True


def _swap_with(cursor: Any, game: Game, changes: dict[str, Any]) -> bool:
    """The compare-and-swap UPDATE, written as plain SQL.

    It is on the path of every move and rematch: the ORM compiled it anew
    each time, a fifth of a move's CPU (docs/performance.md). Values are
    still prepared by the model fields (a related object becomes its key),
    so every backend gets what it expects.
    """
    quote = connection.ops.quote_name
    values = {**changes, "updated_at": timezone.now()}
    fields = [_concrete_field(Game, name) for name in values]
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    version = quote("version")
    cursor.execute(
        f"UPDATE {quote(Game._meta.db_table)} SET {assignments}, {version} = {version} + 1"
        f" WHERE {quote('id')} = %s AND {version} = %s",
        [
            *(field.get_db_prep_save(_as_column_value(values[field.name], field), connection) for field in fields),
            game.pk,
            game.version,
        ],
    )
    if cursor.rowcount != 1:
        return False
    for name, value in values.items():
        setattr(game, name, value)
    game.version += 1
    # The game as written is this process's copy now (dropped again if the transaction rolls back).
    _last_seen_game.keep(game.room_id, game)
    return True


def _as_column_value(value: Any, field: Field[Any, Any]) -> Any:
    """A model instance stands for its key in a foreign-key column."""
    prepare = getattr(value, "prepare_database_save", None)
    return prepare(field) if prepare is not None else value


def _concrete_field(model: type[Game] | type[Move], name: str) -> Field[Any, Any]:
    field = model._meta.get_field(name)
    assert isinstance(field, Field)
    return field


def _player(identity: Identity, name: str | None) -> Player:
    assert identity.session_key is not None
    player, created = Player.objects.get_or_create(
        session_key=identity.session_key,
        defaults={"name": name or DEFAULT_NAME, "user_id": identity.user_id},
    )
    if not created and name and name != player.name:
        player.name = name
        player.save(update_fields=["name"])
    return player


def join(room: Room, identity: Identity, name: str | None) -> tuple[Game, Player]:
    """Seat this session (X first, then O), or re-attach it to the seat it holds."""
    if identity.session_key is None:
        raise ActionRefused("no_session", "Open the room page first: joining needs a session cookie.")
    if not room.is_open:
        raise ActionRefused("room_closed", "This room is closed.")
    player = _player(identity, name)
    while True:
        game = current_game(room)
        if game.seat_of(player.id):
            # Re-attached; a new name shows at the next state.
            for seat in (game.player_x, game.player_o):
                if seat is not None and seat.id == player.id:
                    seat.name = player.name
            return game, player
        if game.player_x_id is None:
            changes: dict[str, Any] = {"player_x": player}
            other_seat = game.player_o
        elif game.player_o_id is None:
            changes = {"player_o": player}
            other_seat = game.player_x
        else:
            raise ActionRefused("room_full", "Both seats are taken: you can watch.")
        if other_seat is not None:
            changes.update(status=Status.PLAYING, turn=board_of(room, game).turn)
        if _swap(game, **changes):
            return game, player


def play_move(room: Room, player_id: int | None, cell: int) -> Game:
    """Judge and apply ``player_id``'s move to ``cell``: persisted before this returns."""
    game, fresh = _cached_or_current(room)
    while True:
        try:
            mark, changes = _judge_move(room, game, player_id, cell)
        except ActionRefused:
            if fresh:
                raise
            game, fresh = current_game(room), True  # the refusal may come from a stale copy: judge again
            continue
        with _atomic_write(room):
            swapped = _store_move(game, changes, cell, mark, player_id)
        if swapped:
            return game
        game, fresh = current_game(room), True  # someone else changed the game first: judge again


def _judge_move(room: Room, game: Game, player_id: int | None, cell: int) -> tuple[rules.Mark, dict[str, Any]]:
    """The mark that moves and the changes the move makes, or ActionRefused."""
    mark = _seat_or_refuse(game, player_id)
    _refuse_unless_playing(game)
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
    if outcome is None:
        changes["turn"] = board.turn
    else:
        changes.update(
            status=Status.DRAW if outcome.is_draw else Status.WON,
            turn=None,
            winner=outcome.winner,
            line=list(outcome.line) if outcome.line else None,
        )
    return mark, changes


def resign(room: Room, player_id: int | None) -> Game:
    while True:
        game = current_game(room)
        mark = _seat_or_refuse(game, player_id)
        _refuse_unless_playing(game)
        if _swap(game, status=Status.RESIGNED, turn=None, winner=rules.other(mark)):
            return game


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


def _start_next_game(room: Room, game: Game, player_x: Player | None, player_o: Player | None) -> Game:
    both_seated = player_x is not None and player_o is not None
    next_game = Game.objects.create(
        room=room,
        number=game.number + 1,
        board=encode_board(rules.Board.empty(room.size).cells),
        status=Status.PLAYING if both_seated else Status.WAITING,
        turn=rules.X if both_seated else None,
        player_x=player_x,
        player_o=player_o,
    )
    next_game.room = room
    _last_seen_game.keep(room.pk, next_game)
    return next_game


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
            if _swap(game, **seat, status=Status.WAITING, turn=None):
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

# Moves and rematch requests, the actions every game repeats, are grouped.
_frequent_actions: GroupCommit[Game] = GroupCommit(database_sync_to_async(together))


async def aplay_move(room: Room, player_id: int | None, cell: int) -> Game:
    return await _frequent_actions.run(partial(play_move, room, player_id, cell))


async def arequest_rematch(room: Room, player_id: int | None) -> Game:
    return await _frequent_actions.run(partial(request_rematch, room, player_id))
