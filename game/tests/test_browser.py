"""The pages in a real headless Chromium against a live server with a real Redis."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, WebSocketRoute, expect, sync_playwright

from testing.browser import CHROMIUM_ARGS, chromium_path
from testing.live import LiveServer, migrated_sqlite

pytestmark = pytest.mark.browser

NewContext = Callable[..., BrowserContext]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    directory = tmp_path_factory.mktemp("browser")
    database_url = migrated_sqlite(directory)
    live = LiveServer("daphne", database_url, directory / "daphne.log").start()
    yield live
    live.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = chromium_path()
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is not installed; `python3 run.py test` installs it with apt as root")
        pytest.skip("no Chromium on this machine (apt-get install chromium): browser tests skipped")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def new_context(browser: Browser) -> Iterator[NewContext]:
    """Open browser contexts (separate cookie jars: separate people); all are closed after the test."""
    contexts: list[BrowserContext] = []

    def open_context(width: int = 1280, height: int = 900) -> BrowserContext:
        context = browser.new_context(viewport={"width": width, "height": height})
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context

    yield open_context
    for context in contexts:
        context.close()


def create_room(page: Page, server: LiveServer, name: str, size: int = 3, win_length: int = 3) -> str:
    page.goto(server.url + "/")
    page.fill("#id_name", name)
    page.fill("#id_size", str(size))
    page.fill("#id_win_length", str(win_length))
    page.click("#create-room button[type=submit]")
    page.wait_for_url(re.compile(r"/rooms/[A-Za-z0-9_-]+/$"))
    return page.url.rstrip("/").rsplit("/", 1)[1]


def join(page: Page, name: str) -> None:
    page.fill("#join-name", name)
    page.click("#join")
    expect(page.locator("#join-form")).to_be_hidden()


def two_players(
    server: LiveServer, new_context: NewContext, room_name: str, size: int = 3, win_length: int = 3, width: int = 1280
) -> tuple[Page, Page, str]:
    """alice makes a room and sits as X, bob opens its link and sits as O: the game is on."""
    alice = new_context(width).new_page()
    code = create_room(alice, server, room_name, size, win_length)
    bob = new_context(width).new_page()
    bob.goto(f"{server.url}/rooms/{code}/")
    join(alice, "alice")
    join(bob, "bob")
    return alice, bob, code


def board_of(page: Page, size: int) -> list[str]:
    return [page.locator(f'[data-cell="{cell}"]').inner_text().strip() for cell in range(size * size)]


def test_two_players_play_to_a_win_while_a_third_watches(server: LiveServer, new_context: NewContext) -> None:
    alice, bob, code = two_players(server, new_context, "Final")
    carol = new_context().new_page()
    carol.goto(f"{server.url}/rooms/{code}/")
    expect(alice.locator("#status")).to_have_text(re.compile("Your turn"))
    expect(bob.locator("#status")).to_have_text(re.compile("X is thinking"))
    for mover, cell in [(alice, 0), (bob, 3), (alice, 1), (bob, 4), (alice, 2)]:
        expect(mover.locator("#status")).to_have_text(re.compile("Your turn"))
        mover.click(f'[data-cell="{cell}"]')
    for page in (alice, bob, carol):
        expect(page.locator("#status")).to_have_text(re.compile("X wins"))
    boards = [board_of(page, 3) for page in (alice, bob, carol)]
    assert boards[0] == boards[1] == boards[2] == ["X", "X", "X", "O", "O", "", "", "", ""]
    ARTIFACTS.mkdir(exist_ok=True)
    alice.screenshot(path=str(ARTIFACTS / "finished-game-player.png"), full_page=True)
    carol.screenshot(path=str(ARTIFACTS / "finished-game-spectator.png"), full_page=True)


def test_a_reload_mid_game_comes_back_to_the_same_board(server: LiveServer, new_context: NewContext) -> None:
    alice, bob, _ = two_players(server, new_context, "Reload")
    alice.click('[data-cell="4"]')
    expect(bob.locator("#status")).to_have_text(re.compile("Your turn"))
    bob.click('[data-cell="0"]')
    expect(alice.locator("#status")).to_have_text(re.compile("Your turn"))
    before = board_of(alice, 3)
    alice.reload()
    expect(alice.locator("#status")).to_have_text(re.compile("Your turn"))
    assert board_of(alice, 3) == before == ["O", "", "", "", "X", "", "", "", ""]
    alice.click('[data-cell="8"]')
    expect(bob.locator('[data-cell="8"]')).to_have_text("X")


def test_the_keyboard_alone_can_play_a_game(server: LiveServer, new_context: NewContext) -> None:
    alice = new_context().new_page()
    code = create_room(alice, server, "Keys")
    bob = new_context().new_page()
    bob.goto(f"{server.url}/rooms/{code}/")
    for page, name in ((alice, "alice"), (bob, "bob")):
        page.focus("#join-name")
        page.keyboard.type(name)
        page.keyboard.press("Enter")
        expect(page.locator("#join-form")).to_be_hidden()
    # X: 0, 1, 2 along the top row with arrows; O: 3, 4 on the middle row.
    plan = [
        (alice, 0, []),
        (bob, 3, []),
        (alice, 1, ["ArrowRight"]),
        (bob, 4, ["ArrowRight"]),
        (alice, 2, ["ArrowRight"]),
    ]
    for page, cell, keys in plan:
        expect(page.locator("#status")).to_have_text(re.compile("Your turn"))
        if not keys:
            page.focus(f'[data-cell="{cell}"]')
        for key in keys:
            page.keyboard.press(key)
        expect(page.locator(f'[data-cell="{cell}"]')).to_be_focused()
        page.keyboard.press("Enter" if cell % 2 else "Space")
        expect(page.locator(f'[data-cell="{cell}"]')).not_to_have_text("")
    expect(alice.locator("#status")).to_have_text(re.compile("X wins"))
    expect(alice.locator('[data-cell="4"]')).to_have_accessible_name(re.compile(r"Row 2, column 2, O"))


def test_a_name_made_of_html_is_shown_as_text(server: LiveServer, new_context: NewContext) -> None:
    evil = "<img src=x onerror=alert(1)>"
    page = new_context().new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    create_room(page, server, evil)
    join(page, evil)
    expect(page.locator("#seat-X .seat-name")).to_have_text(evil)
    page.fill("#chat-input", evil)
    page.press("#chat-input", "Enter")
    expect(page.locator("#chat-log")).to_contain_text(evil)
    assert page.locator("img[src=x]").count() == 0
    assert dialogs == []


def test_the_lobby_shows_a_room_appear_and_fill_without_a_reload(server: LiveServer, new_context: NewContext) -> None:
    lobby = new_context().new_page()
    lobby.goto(server.url + "/")
    expect(lobby.locator("#lobby-live")).to_have_attribute("data-state", "open")
    host = new_context().new_page()
    code = create_room(host, server, "Appears")
    row = lobby.locator(f'[data-room="{code}"]')
    expect(row).to_be_visible()
    expect(row).to_contain_text("0/2")
    join(host, "host")
    expect(row).to_contain_text("1/2")
    guest = new_context().new_page()
    guest.goto(f"{server.url}/rooms/{code}/")
    join(guest, "guest")
    expect(row).to_contain_text("2/2")
    expect(row).to_contain_text("Playing")


def test_a_15x15_room_renders_and_plays_on_a_phone(server: LiveServer, new_context: NewContext) -> None:
    alice, bob, _ = two_players(server, new_context, "Big", size=15, win_length=5, width=375)
    expect(alice.locator("[data-cell]")).to_have_count(225)
    assert alice.evaluate("document.documentElement.scrollWidth") <= 375
    last = alice.locator('[data-cell="224"]')
    box = last.bounding_box()
    assert box is not None
    assert box["x"] + box["width"] <= 375
    assert box["width"] >= 18  # still a tappable cell
    last.click()
    expect(bob.locator('[data-cell="224"]')).to_have_text("X")
    ARTIFACTS.mkdir(exist_ok=True)
    bob.screenshot(path=str(ARTIFACTS / "phone-15x15.png"), full_page=True)


def test_resign_asks_first_then_says_who_resigned_and_a_rematch_shows_who_asked(
    server: LiveServer, new_context: NewContext
) -> None:
    alice, bob, _ = two_players(server, new_context, "Resign")
    alice.click('[data-cell="4"]')
    expect(bob.locator("#status")).to_have_text(re.compile("Your turn"))
    bob.click("#resign")
    expect(bob.locator("#resign-dialog")).to_be_visible()
    bob.click("#resign-cancel")  # changing one's mind changes nothing
    expect(bob.locator("#status")).to_have_text(re.compile("Your turn"))
    bob.click("#resign")
    bob.click("#resign-confirm")
    for page in (alice, bob):
        expect(page.locator("#status")).to_have_text(re.compile("bob resigned"))
    alice.click("#rematch")
    expect(bob.locator("#rematch-status")).to_have_text(re.compile("X wants a rematch"))
    bob.click("#rematch")
    # Marks swap: bob is X in game 2 and moves first.
    expect(bob.locator("#status")).to_have_text(re.compile("Your turn"))
    expect(alice.locator("#status")).to_have_text(re.compile("X is thinking"))


def test_a_page_reconnects_by_itself_after_a_server_restart(tmp_path: Path, new_context: NewContext) -> None:
    database_url = migrated_sqlite(tmp_path)
    first = LiveServer("daphne", database_url, tmp_path / "first.log").start()
    alice = new_context().new_page()
    code = create_room(alice, first, "Restart")
    bob = new_context().new_page()
    bob.goto(f"{first.url}/rooms/{code}/")
    join(alice, "alice")
    join(bob, "bob")
    alice.click('[data-cell="0"]')
    expect(bob.locator('[data-cell="0"]')).to_have_text("X")
    first.stop()
    expect(alice.locator("#status")).to_have_text("Reconnecting…")
    second = LiveServer("daphne", database_url, tmp_path / "second.log", port=first.port).start()
    try:
        expect(bob.locator("#status")).to_have_text(re.compile("Your turn"), timeout=20_000)
        bob.click('[data-cell="4"]')
        expect(alice.locator('[data-cell="4"]')).to_have_text("O")
        expect(alice.locator("#status")).to_have_text(re.compile("Your turn"))
    finally:
        second.stop()


def test_a_page_that_misses_a_move_asks_for_the_state_and_catches_up(
    server: LiveServer, new_context: NewContext
) -> None:
    alice = new_context().new_page()
    code = create_room(alice, server, "Gap")
    bob = new_context().new_page()
    sent_by_bob: list[dict[str, object]] = []

    def lose_the_second_move(page_socket: WebSocketRoute) -> None:
        server_socket = page_socket.connect_to_server()

        def to_page(message: str | bytes) -> None:
            data = json.loads(message)
            if data.get("type") == "state" and data["game"]["moves"] == 2:
                return  # lost on the way
            page_socket.send(message)

        def to_server(message: str | bytes) -> None:
            sent_by_bob.append(json.loads(message))
            server_socket.send(message)

        server_socket.on_message(to_page)
        page_socket.on_message(to_server)

    bob.route_web_socket(re.compile(r"/ws/rooms/"), lose_the_second_move)
    bob.goto(f"{server.url}/rooms/{code}/")
    join(alice, "alice")
    join(bob, "bob")
    alice.click('[data-cell="0"]')
    expect(bob.locator('[data-cell="0"]')).to_have_text("X")
    bob.click('[data-cell="4"]')  # move 2: bob's own copy of it never arrives
    expect(alice.locator("#status")).to_have_text(re.compile("Your turn"))
    alice.click('[data-cell="8"]')  # move 3 arrives: bob's page sees 1 → 3
    expect(bob.locator('[data-cell="8"]')).to_have_text("X")
    expect(bob.locator('[data-cell="4"]')).to_have_text("O")
    expect(bob.locator("#status")).to_have_text(re.compile("Your turn"))
    assert {"type": "sync"} in sent_by_bob
