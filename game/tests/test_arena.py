"""The arena's arithmetic (game/domain/arena.py) with plain values: scoring, standings, pairing."""

from __future__ import annotations

import itertools
import random

import pytest

from game.domain.arena import Candidate, Entrant, may_meet, pairings, sheet, standings


@pytest.mark.parametrize(
    ("results", "points"),
    [
        (["win", "win", "win", "win"], (2, 2, 4, 4)),
        (["win", "win", "loss", "win", "win", "win"], (2, 2, 0, 2, 2, 4)),
        (["win", "win", "draw", "draw"], (2, 2, 2, 1)),
        (["draw", "win", "win", "draw", "win"], (1, 2, 2, 2, 2)),
        (["loss", "loss"], (0, 0)),
    ],
)
def test_a_win_scores_two_a_draw_one_and_both_double_after_two_wins_in_a_row(
    results: list[str], points: tuple[int, ...]
) -> None:
    scored = sheet(results)  # type: ignore[arg-type]
    assert scored.points == points
    assert scored.score == sum(points)
    assert scored.games == len(results)
    assert (scored.wins, scored.draws, scored.losses) == (
        results.count("win"),
        results.count("draw"),
        results.count("loss"),
    )


def test_the_streak_counts_the_wins_in_a_row_up_to_now() -> None:
    assert sheet(["win", "loss", "win", "win", "win"]).streak == 3
    assert sheet(["win", "win", "draw"]).streak == 0
    assert not sheet(["win"]).on_fire
    assert sheet(["win", "win"]).on_fire


def test_standings_put_the_higher_score_first_then_fewer_games_then_who_joined_first() -> None:
    entrants = [
        Entrant(5, sheet(["win", "loss"])),  # 2 in two games
        Entrant(3, sheet(["win"])),  # 2 in one game
        Entrant(4, sheet(["win", "win", "win"])),  # 8
        Entrant(2, sheet(["draw", "draw"])),  # 2 in two games, joined before 5
        Entrant(1, sheet([])),
    ]
    assert [entrant.key for entrant in standings(entrants)] == [4, 3, 2, 5, 1]


def test_with_nobody_kept_apart_each_player_meets_the_next_in_rank() -> None:
    free = [Candidate(key, rank) for rank, key in enumerate([7, 3, 9, 1, 4, 6, 2], start=1)]
    assert pairings(free) == sorted([(7, 3), (9, 1), (4, 6)])  # 2, the last, waits


def _random_arena(rng: random.Random) -> list[Candidate]:
    """Free players with random ranks and last opponents among them or elsewhere."""
    keys = rng.sample(range(1, 40), rng.randint(0, 9))
    return [Candidate(key, rank, rng.choice([None, *keys, 99])) for rank, key in enumerate(keys, start=1)]


def test_pairing_never_uses_a_player_twice_nor_rematches_while_someone_else_is_free() -> None:
    rng = random.Random(26)
    for _ in range(2000):
        free = _random_arena(rng)
        by_key = {candidate.key: candidate for candidate in free}
        paired = pairings(free)
        used = [key for pair in paired for key in pair]
        assert len(used) == len(set(used)) <= len(free)
        assert set(used) <= set(by_key)
        if len(free) > 2:
            assert all(may_meet(by_key[first], by_key[second]) for first, second in paired)
        # Nobody left waiting could have met another one left waiting.
        waiting = [candidate for candidate in free if candidate.key not in used]
        assert not any(may_meet(first, second) for first, second in itertools.combinations(waiting, 2))


def test_the_two_last_opponents_play_again_when_they_alone_are_free() -> None:
    assert pairings([Candidate(1, 1, 2), Candidate(2, 2, 1)]) == [(1, 2)]
