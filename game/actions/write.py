"""The write core every action shares: read the room's game, then store a change with a compare-and-swap.

Every change follows the same path: load the current game, judge the action
with the pure rules, then write it with a compare-and-swap on
``Game.version`` inside one short transaction. When two actions race (from
two sockets, or two processes) only one swap lands; the other is judged
again against the new game, so it either applies cleanly on top or is
refused with the code the protocol names. Nothing is broadcast from here:
callers publish the returned game only after the transaction has committed.

Functions are synchronous (the ORM is); the consumers reach them through the
``a``-prefixed wrappers beside each, which run them on Channels' database
thread. ``now`` is the server's one clock: every family reads it as
``write.now()`` so that a test can move it in one place.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from channels.db import database_sync_to_async
from django.db import IntegrityError, connection, transaction
from django.db.models import Field
from django.utils import timezone

from game.actions import ratings
from game.domain import rules
from game.models import (
    FINISHED_STATUSES,
    Game,
    Move,
    Room,
    Status,
    encode_board,
)
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


_ROOM_BY_CODE = CompiledRead(Room, lambda code: Room.objects.filter(code=code)[:1], ("code",), ("example",))


def get_room(code: str) -> Room | None:
    """The room with this code, or None (every room page and socket asks, so its SQL is compiled once)."""
    return _ROOM_BY_CODE.first(code)


def forget_room(room: Room) -> None:
    """This process has no socket in the room any more: drop what it cached about the room's game."""
    game_cache.forget(room.pk)


@contextmanager
def atomic_write(room: Room) -> Iterator[None]:
    """transaction.atomic(), forgetting the room's cached game if it rolls back.

    Inside a batch (see :func:`together`) it joins the batch's transaction
    without a savepoint: any error there fails the whole batch anyway.
    """
    try:
        with transaction.atomic(savepoint=not getattr(batch, "running", False)):
            yield
    except BaseException:
        game_cache.discard(room.pk)
        raise


# Whether this thread is running together()'s batch, for atomic_write. Not process state
# that needs a reset: it is per thread, set only inside together() and put back by its
# finally, so nothing outside a batch (another action, a request, a test) ever sees it set.
batch = threading.local()


def together(actions: Sequence[Action[Game]]) -> list[Game | Exception]:
    """Run several actions (from different sockets) in one transaction, with one commit.

    A refusal is returned in its action's place. If the transaction fails (a
    database error), each action is run again alone, so one bad write cannot
    take the others with it and an error reaches only its own caller.
    """
    results: list[Game | Exception] = []
    try:
        with transaction.atomic():
            batch.running = True
            try:
                for action in actions:
                    try:
                        results.append(action())
                    except ActionRefused as refusal:
                        results.append(refusal)
            finally:
                batch.running = False
    except Exception:
        game_cache.discard_all()  # any copy touched in the batch may hold rolled-back changes
        return [_alone(action) for action in actions]
    return results


def _alone(action: Action[Game]) -> Game | Exception:
    try:
        return action()
    except Exception as error:
        return error


def cached_or_current(room: Room) -> tuple[Game, bool]:
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


def swap(game: Game, **changes: Any) -> bool:
    """Write ``changes`` if nobody changed the game since it was read; bump its version."""
    with connection.cursor() as cursor:
        return _swap_with(cursor, game, changes)


def store_move(
    game: Game, changes: dict[str, Any], cell: int, mark: str, player_id: int | None, client_id: str
) -> bool:
    """``swap(game, **changes)`` and the Move's INSERT.

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
        game.ratings = values["ratings"] = board
    # The game as written is this process's copy now (dropped again if the transaction rolls back), and
    # what this write set is the change the room's other processes are sent with its state.
    game_cache.store(game, written=values)
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


def seat_or_refuse(game: Game, player_id: int | None) -> rules.Mark:
    mark = game.seat_of(player_id)
    if mark is None:
        raise ActionRefused("not_a_player", "Only the two seated players can do that.")
    return mark


def refuse_unless_playing(game: Game) -> None:
    if game.status in FINISHED_STATUSES:
        raise ActionRefused("game_over", "The game is over.")
    if game.status == Status.WAITING:
        raise ActionRefused("game_not_started", "Waiting for an opponent to join.")


aget_room = database_sync_to_async(get_room)


acurrent_game = database_sync_to_async(current_game)


# Moves and rematch requests, the actions every game repeats, are grouped.
frequent_actions: GroupCommit[Game] = GroupCommit(database_sync_to_async(together))
