"""Quick play's pool in a real headless Chromium: the waiting page, and two people paired into one room."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from game.domain.pools import DEFAULT
from testing.browser import NewContext, screenshot
from testing.live import LiveServer

pytestmark = pytest.mark.browser


def press_quick_play(page: Page, server: LiveServer, name: str) -> None:
    """From the lobby, post quick play's form for the default pool, as its button does.

    The form is built here (with the lobby's CSRF token) so that the test does not hang on the lobby's buttons.
    """
    page.goto(server.url + "/")
    page.evaluate(
        """([pool, name]) => {
          const form = document.createElement('form');
          form.method = 'post';
          form.action = '/play/';
          const token = document.querySelector('input[name=csrfmiddlewaretoken]').value;
          for (const [field, value] of Object.entries({pool, name, csrfmiddlewaretoken: token})) {
            const input = document.createElement('input');
            input.type = 'hidden';
            input.name = field;
            input.value = value;
            form.append(input);
          }
          document.body.append(form);
          form.submit();
        }""",
        [DEFAULT.key, name],
    )


def waits(page: Page, server: LiveServer) -> None:
    """``page`` is the waiting page of the default pool, its seek in the pool."""
    page.wait_for_url(f"{server.url}/play/{DEFAULT.key}/")
    expect(page.locator("#seek-title")).to_have_text("Looking for an opponent — 3×3 · 15 s a move")
    expect(page.locator("#seek-status")).to_have_text("Looking for an opponent…")


def test_two_people_press_quick_play_wait_and_land_seated_against_each_other(
    server: LiveServer, new_context: NewContext
) -> None:
    # carol gives up first: her seek leaves the pool with her page.
    carol = new_context().new_page()
    press_quick_play(carol, server, "quick-carol")
    waits(carol, server)
    carol.click("#seek-cancel")
    carol.wait_for_url(server.url + "/")

    alice = new_context().new_page()
    press_quick_play(alice, server, "quick-alice")
    waits(alice, server)
    expect(alice.locator("#seek-elapsed")).to_have_text(re.compile(r"^0:0[1-9]$"))  # the time waited counts up
    expect(alice.locator("#seek-waiting")).to_have_text("")  # nobody else waits: carol's seek is gone
    screenshot(alice, "seek.png")

    bob = new_context().new_page()
    press_quick_play(bob, server, "quick-bob")  # alice waits: bob goes straight to the room
    room = re.compile(rf"^{re.escape(server.url)}/rooms/[A-Za-z0-9_-]+/$")
    bob.wait_for_url(room)
    alice.wait_for_url(bob.url)
    for page in (alice, bob):
        expect(page.locator(".room-title")).to_have_text("Quick play")
    names = {alice.locator(f"#seat-{mark} .seat-name").inner_text() for mark in "XO"}
    assert names == {"quick-alice", "quick-bob"}
    x_page, o_page = (alice, bob) if alice.locator("#seat-X .seat-name").inner_text() == "quick-alice" else (bob, alice)
    expect(x_page.locator("#status")).to_have_text("Your move")
    expect(o_page.locator("#status")).to_have_text(re.compile(r"^quick-(alice|bob) to move$"))
    expect(x_page.locator("#seat-X .seat-you")).to_be_visible()
    expect(o_page.locator("#seat-O .seat-you")).to_be_visible()
    screenshot(bob, "quick-play-paired.png")
