"""The lobby in a real browser: play first on a phone, a live list, and a list that needs no JavaScript."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Locator, expect

from game.domain import pools
from testing.browser import NewContext, create_room, join, screenshot
from testing.live import LiveServer

pytestmark = pytest.mark.browser


def _bottom(locator: Locator) -> float:
    box = locator.bounding_box()
    assert box is not None
    return box["y"] + box["height"]


def _top(locator: Locator) -> float:
    box = locator.bounding_box()
    assert box is not None
    return box["y"]


def test_on_a_phone_quick_play_and_the_list_come_before_the_create_form(
    server: LiveServer, new_context: NewContext
) -> None:
    host = new_context().new_page()
    code = create_room(host, server, "Phone list", player_name="host")
    phone = new_context(390, 844).new_page()
    phone.goto(server.url + "/")
    buttons = phone.locator("#quick-play-form button[name=pool]")
    expect(buttons).to_have_text([pool.label for pool in pools.PRESETS])
    row = phone.locator(f'[data-room="{code}"]')
    expect(row).to_be_visible()
    create_form = phone.locator("#create-room")
    assert _bottom(buttons.last) < _top(phone.locator("#room-list")) < _top(create_form)
    assert _bottom(row) < _top(create_form)
    assert _bottom(buttons.last) < 844  # the quick-play buttons are on the first screen
    screenshot(phone, "lobby-phone.png")


def test_a_challenge_appears_in_an_open_lobby_and_leaves_when_its_creator_closes_the_tab(
    server: LiveServer, new_context: NewContext
) -> None:
    lobby = new_context().new_page()
    lobby.goto(server.url + "/")
    expect(lobby.locator("#lobby-live")).to_have_attribute("data-state", "open")
    host_context = new_context()
    host = host_context.new_page()
    code = create_room(host, server, "Come and go", player_name="host", time_control="move:15")
    row = lobby.locator(f'[data-room="{code}"]')
    expect(row).to_contain_text("host vs —")
    expect(row).to_contain_text("15 s per move")
    expect(row.locator(".room-status")).to_have_text("Join now")
    # The counts follow within the feed's few seconds.
    expect(lobby.locator("#lobby-stats")).to_have_text("1 player online · 0 games in play", timeout=15_000)
    screenshot(lobby, "lobby-challenge.png")
    host.close()
    expect(row).to_have_count(0)
    expect(lobby.locator("#rooms-empty")).to_be_visible()
    screenshot(lobby, "lobby-challenge-gone.png")


def test_the_list_is_plain_links_without_javascript(
    server: LiveServer, new_context: NewContext, browser: Browser
) -> None:
    host = new_context().new_page()
    code = create_room(host, server, "No script", player_name="host")
    context = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        page.goto(server.url + "/")
        link = page.locator(f'#room-list a[href="/rooms/{code}/"]')
        expect(link).to_contain_text("No script")
        expect(link).to_contain_text("host vs —")
        expect(page.locator("#lobby-stats")).to_contain_text("player")
        expect(page.locator("#lobby-live")).to_be_hidden()  # it never connects: it does not say it is connecting
        screenshot(page, "lobby-no-javascript.png")
        link.click()
        page.wait_for_url(f"{server.url}/rooms/{code}/")
    finally:
        context.close()


def test_a_name_played_under_is_offered_again_by_this_browser_after_its_session_is_gone(
    server: LiveServer, new_context: NewContext
) -> None:
    host = new_context().new_page()
    code = create_room(host, server, "Names", player_name="host")
    visitor = new_context()
    page = visitor.new_page()
    page.goto(f"{server.url}/rooms/{code}/")
    join(page, "bob")
    visitor.clear_cookies()  # a new session: the server no longer knows the name, this browser does
    page.goto(server.url + "/")
    expect(page.locator("#quick-play-name")).to_have_value("bob")
    expect(page.locator("#id_player_name")).to_have_value("bob")
    page.fill("#quick-play-name", "robert")
    page.locator("#quick-play-form button[name=pool]").first.click()
    page.wait_for_url(f"{server.url}/play/**")
    visitor.clear_cookies()
    page.goto(f"{server.url}/rooms/{code}/")
    expect(page.locator("#join-name")).to_have_value("robert")
