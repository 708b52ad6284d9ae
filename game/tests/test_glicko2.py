"""Glicko-2 against Glickman's worked example, and the shape of its updates."""

from __future__ import annotations

import doctest

import pytest

from game.domain import glicko2
from game.domain.glicko2 import Rating, rate

PAPER_PLAYER = Rating(1500, 200, 0.06)
PAPER_RESULTS = [(Rating(1400, 30), 1.0), (Rating(1550, 100), 0.0), (Rating(1700, 300), 0.0)]


def test_the_papers_player_ends_at_the_papers_rating_deviation_and_volatility() -> None:
    after = rate(PAPER_PLAYER, PAPER_RESULTS, tau=0.5)
    # To the paper's precision: within one unit of its last printed digit (the paper
    # rounds each step to four places as it goes, so its 1464.06 is 1464.0507 exactly).
    assert after.rating == pytest.approx(1464.06, abs=0.01)
    assert after.deviation == pytest.approx(151.52, abs=0.01)
    assert after.volatility == pytest.approx(0.05999, abs=0.00001)


def test_the_papers_example_computed_without_rounding_matches_other_implementations() -> None:
    after = rate(PAPER_PLAYER, PAPER_RESULTS, tau=0.5)
    assert after.rating == pytest.approx(1464.05067, abs=1e-5)
    assert after.deviation == pytest.approx(151.51652, abs=1e-5)
    assert after.volatility == pytest.approx(0.0599960, abs=1e-7)


def test_a_player_who_plays_nobody_keeps_rating_and_volatility_and_grows_deviation() -> None:
    after = rate(PAPER_PLAYER, [])
    assert after.rating == PAPER_PLAYER.rating
    assert after.volatility == PAPER_PLAYER.volatility
    # Step 6 alone: φ' = √(φ² + σ²) on the Glicko-2 scale.
    phi = 200 / glicko2.SCALE
    assert after.deviation == pytest.approx(glicko2.SCALE * (phi**2 + 0.06**2) ** 0.5)
    assert after.deviation > PAPER_PLAYER.deviation


def test_a_win_raises_a_rating_and_a_loss_lowers_it() -> None:
    opponent = Rating(1500, 80)
    assert rate(Rating(), [(opponent, 1.0)]).rating > 1500
    assert rate(Rating(), [(opponent, 0.0)]).rating < 1500


def test_a_game_narrows_the_deviation() -> None:
    assert rate(PAPER_PLAYER, [(Rating(1500, 80), 0.5)]).deviation < PAPER_PLAYER.deviation


def test_a_draw_between_equals_changes_no_rating() -> None:
    assert rate(Rating(1600, 120), [(Rating(1600, 120), 0.5)]).rating == pytest.approx(1600)


def test_a_draw_with_a_stronger_player_raises_a_rating() -> None:
    assert rate(Rating(1400, 100), [(Rating(1700, 100), 0.5)]).rating > 1400


def test_equal_players_gain_and_lose_the_same_amount_in_one_game() -> None:
    alice, bob = Rating(1520, 90, 0.06), Rating(1520, 90, 0.06)
    winner = rate(alice, [(bob, 1.0)])
    loser = rate(bob, [(alice, 0.0)])
    assert winner.rating - 1520 == pytest.approx(1520 - loser.rating)
    assert winner.deviation == pytest.approx(loser.deviation)
    assert winner.volatility == pytest.approx(loser.volatility)


def test_mirrored_results_move_a_rating_by_mirrored_amounts() -> None:
    opponents = [opponent for opponent, _ in PAPER_RESULTS]
    won = rate(Rating(), [(opponent, 1.0) for opponent in opponents])
    lost = rate(Rating(), [(Rating(3000 - o.rating, o.deviation), 0.0) for o in opponents])
    assert won.rating - 1500 == pytest.approx(1500 - lost.rating)
    assert won.deviation == pytest.approx(lost.deviation)


def test_an_upset_moves_a_rating_further_than_an_expected_result() -> None:
    strong, weak = Rating(1800, 50), Rating(1200, 50)
    upset = rate(Rating(), [(strong, 1.0)]).rating - 1500
    expected = rate(Rating(), [(weak, 1.0)]).rating - 1500
    assert upset > expected > 0


def test_a_surprising_run_raises_the_volatility() -> None:
    # Many wins against much stronger, well-rated opponents take step 5's first branch (Δ² > φ² + v).
    stronger = [(Rating(2100, 40), 1.0)] * 6
    after = rate(Rating(1500, 60, 0.06), stronger)
    assert after.volatility > 0.06


@pytest.mark.parametrize("score", [-0.1, 1.5])
def test_a_score_outside_zero_to_one_is_refused(score: float) -> None:
    with pytest.raises(ValueError, match="score"):
        rate(Rating(), [(Rating(), score)])


def test_a_tau_that_is_not_positive_is_refused() -> None:
    with pytest.raises(ValueError, match="tau"):
        rate(Rating(), [], tau=0)


def test_the_modules_docstring_example_holds() -> None:
    outcome = doctest.testmod(glicko2)
    assert outcome.attempted > 0
    assert outcome.failed == 0
