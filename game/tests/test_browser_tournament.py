"""A whole small arena in a real headless Chromium: four people join, play two rounds, and see the podium."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from testing.browser import NewContext, screenshot
from testing.live import LiveServer, manage, query

pytestmark = pytest.mark.browser

ROOM = re.compile(r"/rooms/[A-Za-z0-9_-]+/$")


def create_tournament(server: LiveServer, name: str) -> int:
    """A tournament starting now, as a host makes one in the admin."""
    database = server.env["DATABASE_URL"]
    manage(
        database,
        "from datetime import timedelta; from game.actions import tournaments, write; "
        f"tournaments.create_tournament({name!r}, starts_at=write.now(), duration=timedelta(minutes=30), "
        "time_control='move:30', away_seconds=120)",
    )
    ((tournament_id,),) = query(database, "SELECT id FROM game_tournament WHERE name = %s", (name,))
    return int(tournament_id)


def join(page: Page, name: str) -> None:
    """On the tournament page: type a name and press join (the page comes back with its player in, and
    goes on to a room as soon as someone else is free)."""
    page.fill("#tournament-name", name)
    page.click("#tournament-join")


def waits(page: Page) -> None:
    """In, and waiting: nobody else is free."""
    expect(page.locator("#tournament-withdraw")).to_be_visible()
    expect(page.locator("#tournament-you")).to_contain_text("Waiting for an opponent")


def x_and_o(first: Page, second: Page) -> tuple[Page, Page]:
    """The two pages of one room, the one playing X first (read from the page)."""
    for page in (first, second):
        expect(page.locator(".seat-you:visible")).to_have_count(1)
    return (first, second) if first.locator("#seat-X .seat-you").is_visible() else (second, first)


def x_wins(first: Page, second: Page) -> str:
    """Play the room's game to a win for X on the top row; X's name."""
    x, o = x_and_o(first, second)
    for number, cell in enumerate([0, 3, 1, 4, 2]):
        mover = x if number % 2 == 0 else o
        mover.click(f'[data-cell="{cell}"]')
        for page in (x, o):
            expect(page.locator(f'[data-cell="{cell}"]')).to_have_text("X" if number % 2 == 0 else "O")
    winner = x.locator("#seat-X .seat-name").inner_text()
    for page in (x, o):
        expect(page.locator("#back-to-tournament")).to_be_visible()
        expect(page.locator("#rematch")).to_be_hidden()  # the next game is the arena's to pair
    return winner


def sent_to_one_room(first: Page, second: Page) -> None:
    """Both pages were sent by the tournament's socket to the same new room."""
    first.wait_for_url(ROOM)
    second.wait_for_url(first.url)


def back(page: Page, tournament_url: str) -> None:
    page.click("#back-to-tournament")
    page.wait_for_url(tournament_url)


def test_four_people_play_two_rounds_of_an_arena_and_see_the_podium(
    server: LiveServer, new_context: NewContext
) -> None:
    tournament_id = create_tournament(server, "Browser arena")
    url = f"{server.url}/tournaments/{tournament_id}/"
    ann, ben, cat, dov = (new_context().new_page() for _ in range(4))

    # ann finds it in the lobby, with its join button.
    ann.goto(server.url + "/")
    expect(ann.locator("#lobby-tournaments")).to_contain_text("Browser arena")
    expect(ann.locator(f'#tournament-list form[action="/tournaments/{tournament_id}/join/"] button')).to_be_visible()
    ann.click("#tournament-list .room-link")
    ann.wait_for_url(url)

    # Round one: whoever is on the page is paired as soon as someone else is.
    join(ann, "ann")
    waits(ann)
    ben.goto(url)
    join(ben, "ben")
    sent_to_one_room(ann, ben)
    for page in (cat, dov):
        page.goto(url)
    join(cat, "cat")
    waits(cat)  # ann and ben are in their game
    join(dov, "dov")
    sent_to_one_room(cat, dov)
    expect(ann.locator("#room-tournament")).to_have_text("Browser arena")
    first_winners = {x_wins(ann, ben), x_wins(cat, dov)}

    # Back on the page, one from each game first: the last game's opponents are never paired again while
    # someone else is free, and here the two on the page are from different games.
    one = ann if "ann" in first_winners else ben
    other_game = cat if "cat" in first_winners else dov
    for page in (one, other_game):
        back(page, url)
    sent_to_one_room(one, other_game)
    losers = [page for page in (ann, ben, cat, dov) if page not in (one, other_game)]
    spectator = new_context().new_page()
    spectator.goto(url)
    for page in losers:
        back(page, url)
    sent_to_one_room(*losers)
    expect(spectator.locator("#tournament-in-play")).to_contain_text("2 games in play")

    # Round two is the last: the host ends the tournament while it is played; its games still count.
    manage(
        server.env["DATABASE_URL"],
        f"from game.actions import tournaments; tournaments.end_now(tournaments.get_tournament({tournament_id}))",
    )
    expect(spectator.locator("#tournament-status")).to_have_text("Time is up: the last games are being played")
    champion = x_wins(one, other_game)
    x_wins(*losers)
    for page in (one, other_game, *losers):
        back(page, url)

    expect(spectator.locator("#tournament-status")).to_have_text("Finished")
    expect(spectator.locator("#podium")).to_be_visible()
    places = spectator.locator("#podium-list .podium-place")
    expect(places).to_have_count(3)
    expect(places.nth(0)).to_contain_text(champion)
    expect(places.nth(0).locator(".podium-score")).to_have_text("4")  # two wins: 2 + 2
    for page in (one, other_game, *losers):
        expect(page.locator("#tournament-join-form")).to_be_hidden()  # over: nobody joins any more
    rows = spectator.locator("#standings-body tr")
    expect(rows).to_have_count(4)
    expect(rows.nth(0).locator(".standing-name")).to_have_text(champion)
    expect(rows.nth(0).locator(".sheet")).to_have_text("2 2")
    expect(rows.nth(3).locator(".sheet")).to_have_text("0 0")
    screenshot(spectator, "tournament-podium.png")
