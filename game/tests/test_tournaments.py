"""Arena tournaments' service layer against the database: joining, the round that pairs, the lease, the score."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import pytest

from game.actions import arena_rounds, identities, moves, offers, tournaments, write
from game.actions.arena_rounds import NewGame, hold_lease, run_round
from game.models import Game, Room, Status, TournamentEntry, TournamentPairing
from game.tournament_models import Tournament

pytestmark = pytest.mark.django_db


def _tournament(starts_in: timedelta = timedelta(0), minutes: int = 30, **settings: object) -> Tournament:
    return tournaments.create_tournament(
        "Friday arena", starts_at=write.now() + starts_in, duration=timedelta(minutes=minutes), **settings
    )


def _identity() -> identities.Identity:
    return identities.Identity(session_key=secrets.token_hex(16))


def _enter(tournament: Tournament, name: str) -> TournamentEntry:
    """A player who joined and has the page open."""
    return tournaments.join(tournament, _identity(), name)


def _present(tournament: Tournament, *entries: TournamentEntry) -> None:
    tournaments.mark_present(tournament.pk, [entry.player_id for entry in entries])


def _names(new: NewGame) -> set[str]:
    return {entry.name for entry in TournamentEntry.objects.filter(player_id__in=new.player_ids)}


def _finish(new: NewGame, result: str) -> Game:
    """Play the pairing's game to ``result``: ``X`` or ``O`` wins on a line, or ``draw`` (agreed after two moves)."""
    x, o = new.player_ids
    room = new.room
    if result == "draw":
        moves.play_move(room, x, 0)
        moves.play_move(room, o, 4)
        offers.offer_draw(room, x)
        return offers.answer_offer(room, o, accept=True)
    played = [(x, 0), (o, 3), (x, 1), (o, 4)] + ([(x, 2)] if result == "X" else [(x, 8), (o, 5)])
    game = None
    for player, cell in played:
        game = moves.play_move(room, player, cell)
    assert game is not None
    return game


def _winner_of(new: NewGame, result: str) -> str:
    """The name of the pairing's winner for ``result`` (X or O)."""
    player_id = new.player_ids[0 if result == "X" else 1]
    return TournamentEntry.objects.get(player_id=player_id).name


def _standing(tournament: Tournament, name: str) -> dict[str, object]:
    message = tournaments.read_standings(tournament).message()
    return next(player for player in message["players"] if player["name"] == name)


def _at(monkeypatch: pytest.MonkeyPatch, moment: datetime) -> None:
    monkeypatch.setattr(write, "now", lambda: moment)


# --- Joining --------------------------------------------------------------------------------------


def test_joining_twice_keeps_one_entry_and_joining_again_after_withdrawing_brings_the_player_back() -> None:
    tournament = _tournament()
    identity = _identity()
    first = tournaments.join(tournament, identity, "alice")
    again = tournaments.join(tournament, identity, None)
    assert again.pk == first.pk
    assert TournamentEntry.objects.filter(tournament=tournament).count() == 1
    assert tournaments.withdraw(tournament, identity)
    assert not TournamentEntry.objects.get(pk=first.pk).active
    assert tournaments.join(tournament, identity, None).active


def test_a_name_that_reads_as_another_players_is_numbered() -> None:
    tournament = _tournament()
    _enter(tournament, "alice")
    twin = _enter(tournament, "аlice")  # a Cyrillic а
    assert twin.name == "аlice 2"
    assert _enter(tournament, "ALICE").name == "ALICE 3"


def test_joining_a_finished_tournament_is_refused_and_makes_nothing() -> None:
    tournament = _tournament(starts_in=timedelta(minutes=-40))
    with pytest.raises(write.ActionRefused) as refused:
        tournaments.join(tournament, _identity(), "late")
    assert refused.value.code == "tournament_over"
    assert not TournamentEntry.objects.exists()


def test_a_tournament_is_always_clocked() -> None:
    with pytest.raises(ValueError, match="clocked"):
        _tournament(time_control="none")


# --- The round ------------------------------------------------------------------------------------


def test_a_round_pairs_present_free_players_into_rooms_with_the_tournaments_board_and_clock() -> None:
    tournament = _tournament(size=4, win_length=3, time_control="budget:60+2", rated=True)
    players = [_enter(tournament, name) for name in ("alice", "bob", "carol", "dan")]
    _present(tournament, *players)
    played = run_round(tournament.pk, "A")
    assert played.leading
    assert len(played.paired) == 2
    assert set().union(*(_names(new) for new in played.paired)) == {"alice", "bob", "carol", "dan"}
    for new in played.paired:
        room = Room.objects.get(pk=new.room.pk)
        assert (room.size, room.win_length, room.time_control, room.rated) == (4, 3, "budget:60+2", True)
        assert room.name == "Friday arena"
        assert new.game.status == Status.PLAYING
        pairing = TournamentPairing.objects.get(room=room)
        assert (pairing.entry_x.player_id, pairing.entry_o.player_id) == (new.game.player_x_id, new.game.player_o_id)
    # Everyone is in a game now: the next round pairs nobody.
    assert run_round(tournament.pk, "A").paired == []


def test_players_who_joined_but_are_not_on_the_page_are_not_paired(monkeypatch: pytest.MonkeyPatch) -> None:
    tournament = _tournament()
    here, gone = _enter(tournament, "here"), _enter(tournament, "gone")
    _present(tournament, here)
    tournaments.mark_gone(tournament.pk, gone.player_id)
    _at(monkeypatch, write.now() + timedelta(seconds=1))  # a moment after gone's join
    assert run_round(tournament.pk, "A").paired == []


def test_nobody_is_paired_before_the_start_nor_after_the_end(monkeypatch: pytest.MonkeyPatch) -> None:
    tournament = _tournament(starts_in=timedelta(minutes=5))
    players = [_enter(tournament, name) for name in ("alice", "bob")]
    _present(tournament, *players)
    assert run_round(tournament.pk, "A").paired == []
    _at(monkeypatch, tournament.starts_at)
    _present(tournament, *players)
    assert len(run_round(tournament.pk, "A").paired) == 1

    ended = _tournament()
    late = [_enter(ended, name) for name in ("carol", "dan")]
    tournaments.end_now(ended)
    _present(ended, *late)
    _at(monkeypatch, ended.ends_at + timedelta(seconds=1))
    assert run_round(ended.pk, "A").paired == []


def test_the_last_games_two_are_not_paired_again_while_someone_else_is_free() -> None:
    tournament = _tournament()
    players = [_enter(tournament, name) for name in ("alice", "bob", "carol")]
    _present(tournament, *players[:2])
    (first,) = run_round(tournament.pk, "A").paired
    _finish(first, "X")
    _present(tournament, *players)
    (second,) = run_round(tournament.pk, "A").paired
    assert "carol" in _names(second)
    assert _names(second) != _names(first)


def test_the_last_games_two_play_again_when_nobody_else_is_free() -> None:
    tournament = _tournament()
    players = [_enter(tournament, name) for name in ("alice", "bob")]
    _present(tournament, *players)
    (first,) = run_round(tournament.pk, "A").paired
    _finish(first, "O")
    (second,) = run_round(tournament.pk, "A").paired
    assert _names(second) == {"alice", "bob"}


def test_a_player_away_past_the_limit_is_withdrawn_but_not_while_in_a_game(monkeypatch: pytest.MonkeyPatch) -> None:
    tournament = _tournament(away_seconds=30)
    players = [_enter(tournament, name) for name in ("alice", "bob", "carol")]
    _present(tournament, *players[:2])
    assert len(run_round(tournament.pk, "A").paired) == 1  # alice and bob
    for entry in players:
        tournaments.mark_gone(tournament.pk, entry.player_id)
    _at(monkeypatch, write.now() + timedelta(seconds=31))
    assert run_round(tournament.pk, "A").withdrawn == 1
    still = {entry.name for entry in TournamentEntry.objects.filter(tournament=tournament, active=True)}
    assert still == {"alice", "bob"}  # in their game: not withdrawn
    assert not _standing(tournament, "carol")["active"]


# --- The lease ------------------------------------------------------------------------------------


def test_only_the_lease_holder_pairs_and_another_process_takes_over_once_it_runs_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tournament = _tournament()
    players = [_enter(tournament, name) for name in ("alice", "bob")]
    assert hold_lease(tournament.pk, "A")
    _present(tournament, *players)
    assert run_round(tournament.pk, "B") == arena_rounds.Round(leading=False)
    assert not TournamentPairing.objects.exists()
    # A stops renewing (its process died): once the lease has run out, B pairs.
    _at(monkeypatch, write.now() + timedelta(seconds=arena_rounds.lease_seconds() + 0.1))
    _present(tournament, *players)
    played = run_round(tournament.pk, "B")
    assert played.leading
    assert len(played.paired) == 1
    assert not hold_lease(tournament.pk, "A")


def test_a_holder_whose_lease_ran_out_and_was_taken_writes_no_pairing(monkeypatch: pytest.MonkeyPatch) -> None:
    tournament = _tournament()
    players = [_enter(tournament, name) for name in ("alice", "bob")]
    assert hold_lease(tournament.pk, "A")
    _at(monkeypatch, write.now() + timedelta(seconds=arena_rounds.lease_seconds() + 0.1))
    _present(tournament, *players)
    assert hold_lease(tournament.pk, "B")
    # A stalled past its lease and now wakes between taking it and writing: its pairing transaction refuses.
    monkeypatch.setattr(arena_rounds, "hold_lease", lambda tournament_id, holder: True)
    assert not run_round(tournament.pk, "A").leading
    assert not TournamentPairing.objects.exists()


# --- Scoring --------------------------------------------------------------------------------------


def test_wins_score_two_and_after_two_wins_in_a_row_a_win_scores_four() -> None:
    tournament = _tournament()
    players = [_enter(tournament, name) for name in ("alice", "bob")]
    _present(tournament, *players)
    winner = None
    for _ in range(3):
        (new,) = run_round(tournament.pk, "A").paired
        # alice wins each time, from whichever seat she has.
        alice_is_x = TournamentEntry.objects.get(player_id=new.player_ids[0]).name == "alice"
        _finish(new, "X" if alice_is_x else "O")
        winner = _winner_of(new, "X" if alice_is_x else "O")
    assert winner == "alice"
    alice, bob = _standing(tournament, "alice"), _standing(tournament, "bob")
    assert (alice["points"], alice["score"], alice["streak"], alice["fire"]) == ([2, 2, 4], 8, 3, True)
    assert alice["rank"] == 1
    assert (bob["points"], bob["score"], bob["games"], bob["rank"]) == ([0, 0, 0], 0, 3, 2)


def test_a_draw_scores_one_and_on_fire_two() -> None:
    tournament = _tournament()
    players = [_enter(tournament, name) for name in ("alice", "bob")]
    _present(tournament, *players)
    (new,) = run_round(tournament.pk, "A").paired
    _finish(new, "draw")
    assert _standing(tournament, "alice")["points"] == [1]
    assert _standing(tournament, "bob")["points"] == [1]


def test_a_game_over_before_both_moved_counts_for_nothing() -> None:
    tournament = _tournament()
    players = [_enter(tournament, name) for name in ("alice", "bob")]
    _present(tournament, *players)
    (new,) = run_round(tournament.pk, "A").paired
    x, _ = new.player_ids
    moves.play_move(new.room, x, 4)
    moves.resign(new.room, x)  # after one move: resigned, but nothing counts
    for name in ("alice", "bob"):
        assert (_standing(tournament, name)["games"], _standing(tournament, name)["score"]) == (0, 0)
    # And both are free again.
    assert len(run_round(tournament.pk, "A").paired) == 1


def test_a_first_move_never_made_is_aborted_by_the_round_and_frees_both(monkeypatch: pytest.MonkeyPatch) -> None:
    tournament = _tournament(time_control="move:15")
    players = [_enter(tournament, name) for name in ("alice", "bob")]
    _present(tournament, *players)
    (new,) = run_round(tournament.pk, "A").paired
    _at(monkeypatch, write.now() + timedelta(seconds=16))  # X's first move was due in 15 s
    _present(tournament, *players)
    played = run_round(tournament.pk, "A")
    assert [(room.pk, game.status) for room, game in played.settled] == [(new.room.pk, Status.ABORTED)]
    assert len(played.paired) == 1  # freed, and paired again at once (nobody else is free)


def test_a_game_still_played_at_the_end_counts_when_it_ends_and_the_podium_shows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tournament = _tournament()
    players = [_enter(tournament, name) for name in ("alice", "bob", "carol")]
    _present(tournament, *players[:2])
    (new,) = run_round(tournament.pk, "A").paired
    tournaments.end_now(tournament)
    _at(monkeypatch, write.now() + timedelta(seconds=1))
    message = tournaments.read_standings(tournament).message()
    assert (message["status"], message["games_in_play"]) == ("finished", 1)
    assert message["podium"] == []  # nobody has a counted game yet
    _finish(new, "X")
    _present(tournament, *players)
    assert run_round(tournament.pk, "A").paired == []  # the end: no new game
    message = tournaments.read_standings(tournament).message()
    assert message["games_in_play"] == 0
    assert [place["name"] for place in message["podium"]] == [_winner_of(new, "X"), _winner_of(new, "O")]
    assert message["podium"][0] == {"rank": 1, "name": _winner_of(new, "X"), "score": 2}


# --- Telling the lobby ----------------------------------------------------------------------------


def test_a_started_tournament_is_announced_once(monkeypatch: pytest.MonkeyPatch) -> None:
    coming = _tournament(starts_in=timedelta(minutes=1))
    assert arena_rounds.claim_announcements() == []
    _at(monkeypatch, coming.starts_at)
    assert arena_rounds.claim_announcements() == [coming]
    assert arena_rounds.claim_announcements() == []
