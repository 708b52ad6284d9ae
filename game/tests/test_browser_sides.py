"""Choosing a side when making a room, in a real Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from testing.browser import NewContext, create_room, join, screenshot
from testing.live import LiveServer

pytestmark = pytest.mark.browser


def test_a_creator_who_picks_o_waits_as_o_and_the_friend_who_joins_moves_first_as_x(
    server: LiveServer, new_context: NewContext
) -> None:
    alice = new_context().new_page()
    code = create_room(alice, server, "Alice plays second", side="o")
    expect(alice.locator("#seat-O .seat-you")).to_be_visible()
    bob = new_context().new_page()
    bob.goto(f"{server.url}/rooms/{code}/")
    join(bob, "bob")
    expect(bob.locator("#seat-X .seat-you")).to_be_visible()
    expect(bob.locator("#status")).to_have_text("Your move")
    expect(alice.locator("#status")).to_have_text("bob to move")
    screenshot(alice, "side-o.png")
