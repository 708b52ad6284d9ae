"""Debian's Chromium for end-to-end tests, driven by Playwright (no browser download).

A pytest plugin (``-p testing.browser`` in pytest.ini): its fixtures
``server`` (a live daphne server, one per test module), ``browser`` and
``new_context`` serve every browser test module, which imports the helpers
that drive the pages from here. A module's own ``server`` fixture overrides it.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from testing.live import LiveServer, migrated_sqlite

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # The room page plays sounds now, and this machine has no sound device. A test's context once
    # hung on close (1 run in 5, not reproduced since); muted, Chromium opens no audio output.
    "--mute-audio",
]


def chromium_path() -> str | None:
    """Debian's chromium binary (or $CHROMIUM), if this machine has one."""
    explicit = os.environ.get("CHROMIUM")
    if explicit:
        return explicit
    return shutil.which("chromium") or shutil.which("chromium-browser")


NewContext = Callable[..., BrowserContext]

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"


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


def create_room(
    page: Page,
    server: LiveServer,
    name: str,
    size: int = 3,
    win_length: int = 3,
    *,
    player_name: str = "alice",
    time_control: str = "none",
    absence_seconds: int = 30,
    side: str = "x",
) -> str:
    """Make a room from the lobby's form; its creator lands in it seated on ``side`` (X unless told)."""
    page.goto(server.url + "/")
    page.fill("#id_name", name)
    page.fill("#id_player_name", player_name)
    page.fill("#id_size", str(size))
    page.fill("#id_win_length", str(win_length))
    page.select_option("#id_time_control", time_control)
    page.fill("#id_absence_seconds", str(absence_seconds))
    page.check(f"#id_side_{side}")
    page.click("#create-room button[type=submit]")
    page.wait_for_url(re.compile(r"/rooms/[A-Za-z0-9_-]+/$"))
    if side != "random":
        expect(page.locator(f"#seat-{side.upper()} .seat-you")).to_be_visible()
    return page.url.rstrip("/").rsplit("/", 1)[1]


def join(page: Page, name: str) -> None:
    page.fill("#join-name", name)
    page.click("#join")
    expect(page.locator("#join-form")).to_be_hidden()


def two_players(
    server: LiveServer,
    new_context: NewContext,
    room_name: str,
    size: int = 3,
    win_length: int = 3,
    width: int = 1280,
    *,
    time_control: str = "none",
    absence_seconds: int = 30,
) -> tuple[Page, Page, str]:
    """alice makes a room (and so sits as X), bob opens its link and sits as O: the game is on."""
    alice = new_context(width).new_page()
    code = create_room(
        alice, server, room_name, size, win_length, time_control=time_control, absence_seconds=absence_seconds
    )
    bob = new_context(width).new_page()
    bob.goto(f"{server.url}/rooms/{code}/")
    join(bob, "bob")
    return alice, bob, code


# static/game/socket.js: the longest a page waits before it tries its socket again.
RECONNECT_MAX_MS = 10_000
_HEARD = "tictacHeardUpToNow"


def run_page_clock(page: Page, ms: int) -> None:
    """Run every timer ``page`` set for the next ``ms`` ms of its clock (``page.clock.install()``
    before it loaded), and return once this process has heard of whatever those timers made the
    page do through Playwright: a socket it opened reached its ``route_web_socket`` handler.

    How a test shows that something does not happen: run the page's clock past the moment it
    would have, rather than sleep and hope that was long enough. The last step is a call from
    the page into this process: Playwright passes the page's calls on in the order it made them
    (a routed socket's is made as the page opens it), so every one made earlier has been handled.
    ``page.on("websocket")`` is no such call: Chromium reports a socket only when its handshake
    goes out, which can come after run_for returns.
    """
    page.clock.run_for(ms)
    if not page.evaluate(f"() => typeof window.{_HEARD} === 'function'"):
        page.expose_function(_HEARD, lambda: None)
    page.evaluate(f"() => window.{_HEARD}()")


def screenshot(page: Page, name: str) -> None:
    """Keep a picture of the page in test-artifacts/ (the README's come from `run.py screenshots`, not tests)."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def update_playing_game(server: LiveServer, code: str, **fields: datetime) -> None:
    """Change the room's game in play straight in the servers' SQLite file, as time passing would."""
    database_url = server.env["DATABASE_URL"]
    assert database_url.startswith("sqlite:///")
    assignments = ", ".join(f"{field} = ?" for field in fields)
    # Django keeps aware datetimes in SQLite as naive UTC text.
    values = [value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f") for value in fields.values()]
    with sqlite3.connect(database_url.removeprefix("sqlite:///"), timeout=20) as connection:
        changed = connection.execute(
            # The field names are this file's own, never input.
            f"UPDATE game_game SET {assignments} WHERE status = 'playing'"
            " AND room_id = (SELECT id FROM game_room WHERE code = ?)",
            [*values, code],
        ).rowcount
    assert changed == 1


def board_of(page: Page, size: int) -> list[str]:
    return [page.locator(f'[data-cell="{cell}"]').inner_text().strip() for cell in range(size * size)]
