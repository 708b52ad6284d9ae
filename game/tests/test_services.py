"""The service layer against the database: what a stale copy of a game may and may not do."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from functools import partial

import pytest
from django.db import DatabaseError, IntegrityError, connection
from django.test.utils import CaptureQueriesContext

from game.actions import identities, moves, offers, rematch, rooms, seating, write
from game.models import Game, Move, Room, Status
from game.storage import cached_games
from game.storage.cached_games import game_cache
from testing.seating import SeatedPair, seat_pair

pytestmark = pytest.mark.django_db


def _elsewhere(room: Room, action: Callable[[], Game]) -> Game:
    """Run ``action`` the way another worker would: without this process's copy of the game, which it keeps."""
    return _written_elsewhere(room, action)[0]


def _written_elsewhere(room: Room, action: Callable[[], Game]) -> tuple[Game, str | None]:
    """:func:`_elsewhere`, and the change the other worker's state event would carry."""
    mine = game_cache.get(room)
    assert mine is not None
    game_cache.discard(room.pk)
    theirs = action()
    change = game_cache.change_to(room.pk, theirs.number, theirs.version)
    game_cache.store(mine)  # this process still holds the old copy
    return theirs, change


def _as_another_process(room: Room, player_id: int, cell: int) -> None:
    """Apply a move the way another worker would: without this process's copy of the game."""
    _elsewhere(room, partial(moves.play_move, room, player_id, cell))


def test_a_legal_move_refused_by_a_stale_copy_is_judged_again_and_accepted(seated_pair: SeatedPair) -> None:
    room, alice, bob = seated_pair
    moves.play_move(room, alice, 0)
    _as_another_process(room, bob, 4)  # our copy still says it is O's turn
    game = moves.play_move(room, alice, 8)
    assert game.move_count == 3
    assert list(Move.objects.filter(game=game).values_list("cell", flat=True)) == [0, 4, 8]


def test_a_move_accepted_by_a_stale_copy_is_caught_by_the_version_check(seated_pair: SeatedPair) -> None:
    room, alice, bob = seated_pair
    moves.play_move(room, alice, 0)
    _as_another_process(room, bob, 4)
    # Our copy says it is O's turn and cell 4 is free: the swap must fail and the move be judged fresh.
    with pytest.raises(write.ActionRefused) as refused:
        moves.play_move(room, bob, 4)
    assert refused.value.code == "not_your_turn"
    stored = Game.objects.get(room=room)
    assert stored.move_count == 2
    assert stored.history == [0, 4]


def test_a_move_whose_insert_fails_is_rolled_back_whole_and_forgets_the_cached_copy(
    seated_pair: SeatedPair, monkeypatch: pytest.MonkeyPatch
) -> None:
    room, alice, bob = seated_pair
    moves.play_move(room, alice, 0)
    monkeypatch.setattr(Move._meta, "db_table", "no_such_table")  # the INSERT after the UPDATE fails
    with pytest.raises(DatabaseError):
        moves.play_move(room, bob, 4)
    monkeypatch.undo()
    assert game_cache.get(room) is None
    stored = Game.objects.get(room=room)
    assert (stored.move_count, stored.history) == (1, [0])  # the UPDATE was rolled back with it
    assert moves.play_move(room, bob, 4).move_count == 2


def test_a_rematch_asked_against_a_stale_copy_still_starts_the_next_game(seated_pair: SeatedPair) -> None:
    room, alice, bob = seated_pair
    for player, cell in [(alice, 0), (bob, 3), (alice, 1), (bob, 4), (alice, 2)]:
        moves.play_move(room, player, cell)
    _elsewhere(room, partial(rematch.request_rematch, room, alice))  # our copy has not seen it
    next_game = rematch.request_rematch(room, bob)
    assert next_game.number == 2
    assert (next_game.player_x_id, next_game.player_o_id) == (bob, alice)
    assert Game.objects.filter(room=room).count() == 2


def test_moves_of_several_games_run_together_commit_together_and_a_refusal_stays_in_its_place(
    seated_pair: SeatedPair,
) -> None:
    first, alice, bob = seated_pair
    second, carol, _ = seat_pair(rooms.create_room(name="second"))
    results = write.together(
        [
            partial(moves.play_move, first, alice, 0),
            partial(moves.play_move, second, carol, 4),
            partial(moves.play_move, first, alice, 1),  # not alice's turn any more
            partial(moves.play_move, first, bob, 8),  # judged against the batch's own first move
        ]
    )
    assert isinstance(results[2], write.ActionRefused)
    assert results[2].code == "not_your_turn"
    assert [Game.objects.get(room=room).history for room in (first, second)] == [[0, 8], [4]]
    assert results[3] == Game.objects.get(room=first)


def test_when_one_action_of_a_batch_fails_the_others_are_still_stored_and_only_it_gets_the_error(
    seated_pair: SeatedPair,
) -> None:
    first, alice, _ = seated_pair
    second, carol, _ = seat_pair(rooms.create_room(name="second"))
    # A row in the way makes the second game's Move INSERT fail after its UPDATE.
    Move.objects.create(game=Game.objects.get(room=second), number=1, cell=8, mark="X")

    results = write.together([partial(moves.play_move, first, alice, 0), partial(moves.play_move, second, carol, 4)])
    assert isinstance(results[0], Game)
    assert isinstance(results[1], IntegrityError)
    assert Game.objects.get(room=first).history == [0]
    assert Game.objects.get(room=second).history == []  # its UPDATE went with its transaction
    assert game_cache.get(second) is None  # and so did the cached copy of it


def _statements(queries: CaptureQueriesContext) -> list[str]:
    """The kinds of statement run, without the test's savepoints."""
    kinds = (query["sql"].split()[0] for query in queries.captured_queries)
    return [kind for kind in kinds if kind in ("SELECT", "UPDATE", "INSERT", "DELETE")]


def _received(room: Room, game: Game, change: str | None, seats: dict[str, int | None] | None = None) -> None:
    """Hand this process the state event of ``game`` as the room's group would bring it, with the
    ``change`` that made it (and other ``seats``, if given)."""
    game_cache.note_published(
        room.pk, game.number, game.version, seats or {"X": game.player_x_id, "O": game.player_o_id}, change
    )


def _as_another_process_publishing(
    room: Room, player_id: int, cell: int, seats: dict[str, int | None] | None = None
) -> None:
    """A move made on another worker, whose state then reaches this process."""
    _received(room, *_written_elsewhere(room, partial(moves.play_move, room, player_id, cell)), seats)


def test_a_state_published_by_another_process_brings_the_cached_copy_up_to_date(seated_pair: SeatedPair) -> None:
    room, alice, bob = seated_pair
    moves.play_move(room, alice, 0)
    _as_another_process_publishing(room, bob, 4)
    with CaptureQueriesContext(connection) as queries:
        game = moves.play_move(room, alice, 8)
    # Only the compare-and-swap and the INSERT: the copy was current, so nothing was read again.
    assert _statements(queries) == ["UPDATE", "INSERT"]
    stored = Game.objects.get(room=room)
    assert (stored.version, stored.history, stored.board) == (game.version, [0, 4, 8], game.board)


def test_a_published_state_of_other_seats_is_not_taken_and_the_move_reads_the_game_again(
    seated_pair: SeatedPair,
) -> None:
    room, alice, bob = seated_pair
    moves.play_move(room, alice, 0)
    _as_another_process_publishing(room, bob, 4, seats={"X": alice, "O": None})
    with CaptureQueriesContext(connection) as queries:
        game = moves.play_move(room, alice, 8)
    # The stale copy says it is O's turn: the refusal sends the move to a fresh read.
    assert _statements(queries) == ["SELECT", "UPDATE", "INSERT"]
    assert game.history == [0, 4, 8]


def test_an_older_published_change_does_not_replace_a_newer_one(seated_pair: SeatedPair) -> None:
    room, alice, bob = seated_pair
    moves.play_move(room, alice, 0)
    first, first_change = _written_elsewhere(room, partial(moves.play_move, room, bob, 4))
    second, second_change = _written_elsewhere(room, partial(moves.play_move, room, alice, 8))
    game_cache.discard(room.pk)  # as on a worker that made none of the moves
    _received(room, second, second_change)
    _received(room, first, first_change)
    assert game_cache.versions(room.pk) == (None, (second.number, second.version))


def test_changes_in_a_row_bring_a_copy_several_moves_behind_up_to_date(seated_pair: SeatedPair) -> None:
    # A process with only a spectator in the room is sent every change and writes none; when it
    # does act (its referee flags a clock), its copy is the one it read long before.
    room, alice, bob = seated_pair
    moves.play_move(room, alice, 0)
    for player, cell in [(bob, 4), (alice, 8), (bob, 2)]:
        _as_another_process_publishing(room, player, cell)
    with CaptureQueriesContext(connection) as queries:
        game = moves.play_move(room, alice, 6)
    assert _statements(queries) == ["UPDATE", "INSERT"]
    assert game.history == [0, 4, 8, 2, 6]


def test_past_the_changes_a_process_keeps_for_a_room_the_copy_is_read_again(
    seated_pair: SeatedPair, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A process that only watches a room is sent every change and writes none: it keeps a bounded
    # run of them, then starts again from the newest, which no longer reaches back to its copy.
    monkeypatch.setattr(cached_games, "CHANGES_KEPT", 2)
    room, alice, bob = seated_pair
    moves.play_move(room, alice, 0)
    watched = game_cache.get(room)  # this process's copy from here on: it only watches
    assert watched is not None

    def played_elsewhere(player_id: int, cell: int) -> None:
        game_cache.discard(room.pk)
        theirs = moves.play_move(room, player_id, cell)
        change = game_cache.change_to(room.pk, theirs.number, theirs.version)
        game_cache.store(watched)
        _received(room, theirs, change)

    played_elsewhere(bob, 4)
    played_elsewhere(alice, 8)
    copy = game_cache.get(room)
    assert copy is not None
    assert copy.history == [0, 4, 8]  # two changes kept: enough to bring the copy up to date
    played_elsewhere(bob, 2)  # a third in a row, one more than kept
    with CaptureQueriesContext(connection) as queries:
        game = moves.play_move(room, alice, 6)
    # The copy is back to X's first move only, O to move: it refuses X's move, which is then judged
    # again on a fresh read.
    assert _statements(queries) == ["SELECT", "UPDATE", "INSERT"]
    assert game.history == [0, 4, 8, 2, 6]


def test_a_missed_change_leaves_the_copy_to_be_read_again(seated_pair: SeatedPair) -> None:
    room, alice, bob = seated_pair
    moves.play_move(room, alice, 0)
    _elsewhere(room, partial(moves.play_move, room, bob, 4))  # its state never reached this process
    _as_another_process_publishing(room, alice, 8)
    with CaptureQueriesContext(connection) as queries:
        game = moves.play_move(room, bob, 2)
    # Judged against the copy two moves behind, the compare-and-swap fails; judged again on a fresh read.
    assert _statements(queries) == ["UPDATE", "SELECT", "UPDATE", "INSERT"]
    assert game.history == Game.objects.get(room=room).history == [0, 4, 8, 2]


def test_a_game_handed_to_a_caller_is_not_changed_by_the_next_action(seated_pair: SeatedPair) -> None:
    # The event loop builds a state from the game an action returned while
    # the database thread may already be applying the next one.
    room, alice, bob = seated_pair
    first = moves.play_move(room, alice, 0)
    seen = (first.version, first.board, list(first.history))
    moves.play_move(room, bob, 4)
    assert (first.version, first.board, list(first.history)) == seen


def test_a_copy_brought_up_to_date_by_changes_written_elsewhere_is_the_stored_row(seated_pair: SeatedPair) -> None:
    # What another process's change may overwrite in this process's copy: if a column its write set
    # were missing, the copy would pass the version check with it stale.
    room, alice, bob = seated_pair
    actions: list[Callable[[], Game]] = [partial(moves.play_move, room, alice, 0)]
    actions += [partial(offers.offer_draw, room, bob), partial(offers.answer_offer, room, alice, accept=False)]
    actions += [partial(offers.request_takeback, room, alice), partial(offers.answer_offer, room, bob, accept=True)]
    actions += [partial(moves.play_move, room, player, cell) for player, cell in [(alice, 0), (bob, 3), (alice, 1)]]
    actions += [partial(moves.resign, room, bob), partial(rematch.request_rematch, room, alice)]
    write.current_game(room)
    for action in actions:
        _received(room, *_written_elsewhere(room, action))
        copy = game_cache.get(room)
        assert copy is not None
        stored = Game.objects.select_related("player_x", "player_o").get(pk=copy.pk)
        columns = [field.attname for field in Game._meta.concrete_fields]
        assert [getattr(copy, name) for name in columns] == [getattr(stored, name) for name in columns]
    assert (copy.status, copy.winner, copy.rematch_x) == ("resigned", "X", True)


def test_every_change_written_here_keeps_this_process_copy_current(seated_pair: SeatedPair) -> None:
    room, alice, bob = seated_pair
    for player, cell in [(alice, 0), (bob, 3), (alice, 1), (bob, 4), (alice, 2)]:
        moves.play_move(room, player, cell)
    write.current_game(room)  # a fresh read: the copy the first request starts from
    rematch.request_rematch(room, alice)
    with CaptureQueriesContext(connection) as queries:
        next_game = rematch.request_rematch(room, bob)
    # The second request is judged against the copy the first one left: no read of the game.
    assert _statements(queries) == ["UPDATE", "INSERT"]
    assert next_game.number == 2


def test_a_game_read_for_a_change_is_not_the_process_copy_until_the_change_is_written(seated_pair: SeatedPair) -> None:
    # A host's kick (an HTTP request's thread) changes the game it read while
    # the consumers' database thread may be copying the process's copy.
    room, _, _ = seated_pair
    game = write.current_game(room)
    game.status = "waiting"  # a change in progress, not written yet
    mine = game_cache.get(room)
    assert mine is not None
    assert mine.status == "playing"


def test_a_change_this_process_wrote_is_not_kept_again(seated_pair: SeatedPair) -> None:
    # With one worker every state is the process's own: keeping its changes would
    # only hold a copy of each room's last change for nothing.
    room, alice, _ = seated_pair
    mine = moves.play_move(room, alice, 0)
    _received(room, mine, game_cache.change_to(room.pk, mine.number, mine.version))
    assert game_cache.versions(room.pk)[1] is None


def test_a_process_caches_the_games_of_at_most_rooms_remembered_rooms(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rooms only ever read over HTTP are not forgotten by a socket leaving; the bound keeps them in check."""
    monkeypatch.setattr(cached_games, "ROOMS_REMEMBERED", 3)
    made = [rooms.create_room(name=f"room {number}") for number in range(7)]
    for room in made:
        write.current_game(room)
        assert sum(game_cache.get(held) is not None for held in made) <= 3
    assert game_cache.get(made[-1]) is not None  # the newest read is always kept


def test_nothing_done_to_a_game_the_cache_handed_out_or_took_in_reaches_what_it_holds(seated_pair: SeatedPair) -> None:
    # Its copies share no objects with the games of callers: not the players, not the JSON values.
    room, alice, _ = seated_pair
    played = moves.play_move(room, alice, 0)  # taken in as written
    played.history.append(8)
    assert played.player_x is not None
    played.player_x.name = "mallory"
    handed = game_cache.get(room)
    assert handed is not None
    assert (handed.history, handed.player_x.name) == ([0], "alice")  # type: ignore[union-attr]
    handed.history.append(7)
    handed.series["draws"] = 9
    handed.player_o.name = "eve"  # type: ignore[union-attr]
    again = game_cache.get(room)
    assert again is not None
    assert (again.history, again.series, again.player_o.name) == ([0], {}, "bob")  # type: ignore[union-attr]
    assert again.player_x is not handed.player_x


def test_a_new_name_given_on_rejoining_shows_in_the_process_copy(seated_pair: SeatedPair) -> None:
    room, _, _ = seated_pair
    seating.join(room, seated_pair.x_identity, "alicia")
    mine = game_cache.get(room)
    assert mine is not None
    assert mine.player_x is not None
    assert mine.player_x.name == "alicia"


def test_a_creator_who_picks_o_waits_as_o_and_the_one_who_joins_plays_x_and_moves_first(db: None) -> None:
    room = rooms.create_room(name="sides")
    creator = identities.Identity(session_key=secrets.token_hex(16))
    game, host = seating.join(room, creator, "alice", side="O")
    assert (game.seat_of(host.id), game.status) == ("O", Status.WAITING)
    guest = identities.Identity(session_key=secrets.token_hex(16))
    game, friend = seating.join(room, guest, "bob", side="O")  # O is taken: the free seat it is
    assert (game.seat_of(friend.id), game.status, game.turn) == ("X", Status.PLAYING, "X")


# --- Move ids: an id is played once, whatever cell it comes with --------------------------


def test_a_move_id_this_player_used_in_the_game_is_not_played_again_with_another_cell(seated_pair: SeatedPair) -> None:
    room, alice, bob = seated_pair
    moves.play_move(room, alice, 0, "m-1")
    moves.play_move(room, bob, 4, "b-1")
    with pytest.raises(write.AlreadyPlayed):
        moves.play_move(room, alice, 8, "m-1")  # a legal move, but its id was played
    stored = Game.objects.get(room=room)
    assert (stored.history, stored.move_count) == ([0, 4], 2)
    assert moves.play_move(room, alice, 8, "m-2").history == [0, 4, 8]  # nothing was left half-written


def test_a_reused_move_id_in_a_batch_fails_the_batch_and_is_answered_alone_as_already_played(
    seated_pair: SeatedPair,
) -> None:
    first, alice, bob = seated_pair
    second, carol, _ = seat_pair(rooms.create_room(name="second"))
    moves.play_move(first, alice, 0, "m-1")
    moves.play_move(first, bob, 4, "b-1")
    results = write.together(
        [partial(moves.play_move, first, alice, 8, "m-1"), partial(moves.play_move, second, carol, 4, "c-1")]
    )
    assert isinstance(results[0], write.AlreadyPlayed)
    assert isinstance(results[1], Game)
    assert Game.objects.get(room=first).history == [0, 4]
    assert Game.objects.get(room=second).history == [4]


def _rematched_room(seated: SeatedPair) -> tuple[Room, int, int]:
    """``seated``'s room once alice (X) won its first game with moves a-1, a-2, a-3, now in its second: bob is X."""
    room, alice, bob = seated
    for player, cell, move_id in [(alice, 0, "a-1"), (bob, 3, "b-1"), (alice, 1, "a-2"), (bob, 4, "b-2")]:
        moves.play_move(room, player, cell, move_id)
    moves.play_move(room, alice, 2, "a-3")
    rematch.request_rematch(room, alice)
    assert rematch.request_rematch(room, bob).number == 2
    return room, alice, bob


def test_a_move_id_this_player_used_in_the_game_before_is_not_played_in_the_next(seated_pair: SeatedPair) -> None:
    room, alice, bob = _rematched_room(seated_pair)
    moves.play_move(room, bob, 4, "b-3")
    with pytest.raises(write.AlreadyPlayed):
        moves.play_move(room, alice, 0, "a-3")  # her last move of game 1, resent after a reconnect
    moves.play_move(room, alice, 0, "a-4")
    moves.play_move(room, bob, 8, "b-4")
    with pytest.raises(write.AlreadyPlayed):
        moves.play_move(room, alice, 2, "a-1")  # not only a first move: any id of the game before
    assert Game.objects.get(room=room, number=2).history == [4, 0, 8]
    moves.play_move(room, alice, 2, "a-5")
    # Bob's ids are his own: alice's id from game 1 is a fresh one for him.
    assert moves.play_move(room, bob, 6, "a-2").history == [4, 0, 8, 2, 6]


def test_a_move_with_a_fresh_id_in_a_rematch_costs_no_extra_query(seated_pair: SeatedPair) -> None:
    room, alice, bob = _rematched_room(seated_pair)
    moves.play_move(room, bob, 4, "b-3")
    with CaptureQueriesContext(connection) as queries:
        game = moves.play_move(room, alice, 0, "a-4")
    assert _statements(queries) == ["UPDATE", "INSERT"]
    assert game.history == [4, 0]
