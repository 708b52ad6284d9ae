"""A finished game's replay with its analysis, and practice from one of its positions, in a real headless Chromium."""

from __future__ import annotations

import json
import re
import urllib.request

import pytest
from playwright.sync_api import expect

from testing.browser import NewContext, board_of, screenshot, two_players
from testing.live import LiveServer

pytestmark = pytest.mark.browser

# X 0, O 4, X 8, O 2 (O's second move loses: X forks at 6), X 1 (X's third ignores 2-4-6), O 6 wins.
MOVES = [0, 4, 8, 2, 1, 6]


def test_a_replay_marks_the_blunder_in_words_shows_each_cells_value_and_practises_from_a_position(
    server: LiveServer, new_context: NewContext
) -> None:
    alice, bob, code = two_players(server, new_context, "Blunders")
    for ply, cell in enumerate(MOVES):
        mover = alice if ply % 2 == 0 else bob
        expect(mover.locator("#status")).to_have_text("Your move")
        mover.click(f'[data-cell="{cell}"]')
    expect(alice.locator("#status")).to_have_text("bob wins")
    with urllib.request.urlopen(f"{server.url}/api/rooms/{code}/") as response:
        game_id = json.load(response)["game"]["id"]

    page = new_context().new_page()
    page.goto(f"{server.url}/games/{game_id}/")
    expect(page.locator("#analysis-status")).to_have_text("Exact: 3×3 is solved.")
    expect(page.locator('[data-step="5"] .verdict')).to_have_attribute("data-verdict", "blunder")
    expect(page.locator('[data-step="4"] .verdict')).to_have_attribute("data-verdict", "mistake")
    expect(page.locator(".verdict")).to_have_count(2)
    expect(page.locator('[data-step="5"]')).to_have_text("5. X r1c2 ??, blunder")
    expect(page.locator("#analysis-words")).to_have_text(
        "O's second move threw away the draw. X's third move turned a win into a loss."
    )
    # The last position: the game is over there, nothing to practise.
    expect(page.locator("#analysis-position")).to_have_text("The game is over.")
    expect(page.locator("#practice")).to_be_disabled()

    # Before X's third move: only 6 wins (the fork); the values on the board, and in each cell's label.
    page.click('[data-step="4"]')
    expect(page.locator("#analysis-position")).to_have_text(
        "X to move wins with best play: r3c1. Played: r1c2, which loses — a blunder."
    )
    expect(page.locator("[data-value]")).to_have_count(0)  # off until asked for
    page.check("#show-values")
    expect(page.locator('[data-cell="6"]')).to_have_attribute("data-value", "win")
    for cell in (1, 3, 5, 7):
        expect(page.locator(f'[data-cell="{cell}"]')).to_have_attribute("data-value", "loss")
    expect(page.locator("[data-value]")).to_have_count(5)  # the empty cells only
    expect(page.locator('[data-cell="1"]')).to_have_attribute("aria-label", "Row 1, column 2, empty: loses")
    expect(page.locator('[data-cell="6"]')).to_have_attribute("aria-label", "Row 3, column 1, empty: wins")
    assert board_of(page, 3) == ["X", "", "O", "", "O", "", "", "", "X"]  # the words are drawn, not text
    screenshot(page, "replay-analysis.png")
    # The values follow the shown position; the arrow keys step through the game from the checkbox too.
    expect(page.locator("#show-values")).to_be_focused()
    page.keyboard.press("ArrowLeft")
    expect(page.locator("[data-value]")).to_have_count(6)
    page.keyboard.press("ArrowRight")
    expect(page.locator("[data-value]")).to_have_count(5)
    page.uncheck("#show-values")
    expect(page.locator("[data-value]")).to_have_count(0)
    expect(page.locator('[data-cell="1"]')).to_have_attribute("aria-label", "Row 1, column 2, empty")

    # Practice from here: a room against the computer with those four moves on the board, X to move.
    expect(page.locator("#practice")).to_be_enabled()
    expect(page.locator("#practice-ply")).to_have_value("4")
    page.click("#practice")
    page.wait_for_url(re.compile(r"/rooms/[A-Za-z0-9_-]+/$"))
    assert code not in page.url
    expect(page.locator("#seat-O .seat-name")).to_have_text("Computer (perfect)")
    expect(page.locator("#seat-X .seat-you")).to_be_visible()
    expect(page.locator("#status")).to_have_text("Your move")
    assert board_of(page, 3) == ["X", "", "O", "", "O", "", "", "", "X"]
    page.click('[data-cell="6"]')  # the fork the game missed: the computer blocks one line, X takes the other
    expect(page.locator('[data-cell="6"]')).to_have_text("X")
    expect(page.locator("#status")).to_have_text("Your move")
    free = "3" if page.locator('[data-cell="7"]').inner_text().strip() == "O" else "7"
    page.click(f'[data-cell="{free}"]')
    expect(page.locator("#status")).to_have_text("You win!")
