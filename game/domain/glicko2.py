"""Glicko-2 ratings: one player's update for one rating period, as in Glickman's paper.

Pure (standard library only), like ``game/domain/rules.py``. The steps and their numbers
follow Mark Glickman, "Example of the Glicko-2 system" (2013 and later), whose
worked example this reproduces:

>>> after = rate(Rating(1500, 200), [(Rating(1400, 30), 1.0), (Rating(1550, 100), 0.0), (Rating(1700, 300), 0.0)])
>>> round(after.rating, 2), round(after.deviation, 2), round(after.volatility, 6)
(1464.05, 151.52, 0.059996)

(The paper prints 1464.06 and 0.05999: it rounds its steps' results to four places as it goes.)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

# Glicko's rating scale over Glicko-2's (400 / ln 10, to the paper's four places).
SCALE = 173.7178
BASE_RATING = 1500.0
# How closely step 5's iteration pins the new volatility (the paper's ε).
CONVERGENCE = 0.000001


@dataclass(frozen=True)
class Rating:
    """A player's rating, its deviation (uncertainty) and its volatility, on Glicko's scale."""

    rating: float = BASE_RATING
    deviation: float = 350.0
    volatility: float = 0.06


def rate(player: Rating, results: Sequence[tuple[Rating, float]], tau: float = 0.5) -> Rating:
    """``player``'s rating after one period's ``results``: (opponent before the period, score 1, 0.5 or 0).

    ``tau`` constrains how fast the volatility moves (the paper suggests 0.3 to 1.2).
    With no games, only the deviation grows.
    """
    if tau <= 0:
        raise ValueError(f"tau must be positive, not {tau!r}")
    if any(not 0.0 <= score <= 1.0 for _, score in results):
        raise ValueError("each score must be between 0 (a loss) and 1 (a win)")
    # Step 2: onto the Glicko-2 scale.
    mu = (player.rating - BASE_RATING) / SCALE
    phi = player.deviation / SCALE
    sigma = player.volatility
    if not results:
        return Rating(player.rating, SCALE * math.sqrt(phi**2 + sigma**2), sigma)

    # Steps 3 and 4: the estimated variance from the games, and the estimated improvement.
    impacts = [(_g(opponent.deviation / SCALE), (opponent.rating - BASE_RATING) / SCALE, s) for opponent, s in results]
    expected = [1 / (1 + math.exp(-g * (mu - mu_j))) for g, mu_j, _ in impacts]
    v = 1 / sum(g**2 * e * (1 - e) for (g, _, _), e in zip(impacts, expected, strict=True))
    improvement = sum(g * (s - e) for (g, _, s), e in zip(impacts, expected, strict=True))
    delta = v * improvement

    # Steps 5 to 7: the new volatility, then the new deviation and rating.
    new_sigma = _volatility(delta, phi, v, sigma, tau)
    phi_star = math.sqrt(phi**2 + new_sigma**2)
    new_phi = 1 / math.sqrt(1 / phi_star**2 + 1 / v)
    new_mu = mu + new_phi**2 * improvement

    # Step 8: back onto Glicko's scale.
    return Rating(SCALE * new_mu + BASE_RATING, SCALE * new_phi, new_sigma)


def _g(phi: float) -> float:
    """How much an opponent's result counts, less the less certain their rating."""
    return 1 / math.sqrt(1 + 3 * phi**2 / math.pi**2)


def _volatility(delta: float, phi: float, v: float, sigma: float, tau: float) -> float:
    """Step 5: the root of the paper's f by the Illinois algorithm (regula falsi that halves a stuck side)."""
    a = math.log(sigma**2)

    def f(x: float) -> float:
        ex = math.exp(x)
        return ex * (delta**2 - phi**2 - v - ex) / (2 * (phi**2 + v + ex) ** 2) - (x - a) / tau**2

    big_a = a
    if delta**2 > phi**2 + v:
        big_b = math.log(delta**2 - phi**2 - v)
    else:
        k = 1
        while f(a - k * tau) < 0:
            k += 1
        big_b = a - k * tau
    f_a, f_b = f(big_a), f(big_b)
    while abs(big_b - big_a) > CONVERGENCE:
        big_c = big_a + (big_a - big_b) * f_a / (f_b - f_a)
        f_c = f(big_c)
        if f_c * f_b <= 0:
            big_a, f_a = big_b, f_b
        else:
            f_a /= 2
        big_b, f_b = big_c, f_c
    return math.exp(big_a / 2)
