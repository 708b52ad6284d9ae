"""The README's pictures, photographed from a demo: ``python3 run.py screenshots [--out DIR]``.

It starts a Redis and a daphne server of its own on free ports, with a new
SQLite database in a temporary directory, and plays a believable evening on
it in headless Chromium (Debian's, driven by Playwright): alice, bob, carol
and dan sign up and play rated games, guests make rooms and play with
clocks, someone plays the computer, a spectator watches. Every room, move,
chat line and account is made through the pages, as people would; nothing is
written into the database. Each picture named in README.md
(``docs/screenshots/<name>.png``) is taken along the way; the command fails
if one was not.

The pages are found by their stable ids (``#create-room``, ``#id_name``,
``[data-cell]``, ``#join-name``, ``#join``, ``#status``…), and the demo waits
for what a person would see (a mark on the board, a banner) rather than for
exact wording, so that it survives the pages' look changing. Who plays X is
read from the page, not assumed.
"""

from __future__ import annotations

import argparse
import re
import secrets
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from testing.browser import CHROMIUM_ARGS, chromium_path
from testing.live import LiveServer, migrated_sqlite
from testing.one_address import LIMITS_OFF
from tictac.embedded_redis import EmbeddedRedis

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DEFAULT_OUT = ROOT / "docs" / "screenshots"
WIDTH, HEIGHT = 1280, 900


def readme_pictures(readme: Path = README) -> list[str]:
    """The file names of the pictures README.md shows from docs/screenshots/, in order."""
    return list(dict.fromkeys(re.findall(r"docs/screenshots/([\w.-]+\.png)", readme.read_text())))


class Demo:
    """One server, one Chromium, and the people who use them; ``photograph`` keeps a page as a picture."""

    def __init__(self, server: LiveServer, browser: Browser, out: Path) -> None:
        self.server = server
        self.browser = browser
        self.out = out
        self.taken: list[str] = []

    # --- People and pages ------------------------------------------------------------------

    def person(self) -> Page:
        """A new browser (its own cookies: its own session) with one tab."""
        context: BrowserContext = self.browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
        context.set_default_timeout(20_000)
        return context.new_page()

    def photograph(self, page: Page, name: str) -> None:
        # A transition under way (the error toast fading in) is photographed as it ends, not waited for.
        page.screenshot(path=str(self.out / name), full_page=True, animations="disabled")
        self.taken.append(name)
        print(f"  {name}", flush=True)

    def sign_up(self, username: str) -> Page:
        page = self.person()
        page.goto(self.server.url + "/accounts/signup/")
        page.fill("#id_username", username)
        if page.locator("#id_email").count():
            page.fill("#id_email", f"{username}@example.com")
        page.fill("#id_password1", f"{username} plays tictac at night")
        page.fill("#id_password2", f"{username} plays tictac at night")
        page.click("#signup-submit")
        page.wait_for_url(self.server.url + "/")
        return page

    def create_room(
        self,
        page: Page,
        title: str,
        *,
        player_name: str = "",
        size: int = 3,
        win_length: int = 3,
        time_control: str = "",
        absence_seconds: int = 0,
        rated: bool = False,
    ) -> str:
        """Make a room from the lobby's form (its optional parts only when the form has them); the room's code."""
        page.goto(self.server.url + "/")
        form = page.locator("#create-room")
        # Options a lobby may fold away: open them all first.
        form.locator("details").evaluate_all("sections => sections.forEach(section => { section.open = true; })")
        page.fill("#id_name", title)
        if player_name and page.locator("#id_player_name").count():
            page.fill("#id_player_name", player_name)
        if size != 3:
            page.fill("#id_size", str(size))
            page.fill("#id_win_length", str(win_length))
        if time_control:
            page.select_option("#id_time_control", time_control)
        if absence_seconds:
            page.fill("#id_absence_seconds", str(absence_seconds))
        if rated:
            page.check("#id_rated")
        # A choice of side, where the form offers one: the demo's creators play X.
        side = form.locator("select[name=side]")
        if side.count():
            side.select_option("X")
        form.locator("button[type=submit]").click()
        page.wait_for_url(re.compile(r"/rooms/[A-Za-z0-9_-]+/$"))
        expect(page.locator("[data-cell]").first).to_be_visible()
        return page.url.rstrip("/").rsplit("/", 1)[1]

    def open_room(self, page: Page, code: str) -> None:
        page.goto(f"{self.server.url}/rooms/{code}/")
        expect(page.locator("[data-cell]").first).to_be_visible()

    def join(self, page: Page, code: str, name: str = "") -> None:
        """Open the room and take its free seat (under ``name``, or the account's username)."""
        self.open_room(page, code)
        if name:
            page.fill("#join-name", name)
        page.click("#join")
        expect(page.locator("#join-form")).to_be_hidden()

    @staticmethod
    def x_and_o(first: Page, second: Page) -> tuple[Page, Page]:
        """The two seated pages, the one playing X first (read from the page, whoever sat first)."""
        expect(first.locator(".seat-you:visible")).to_have_count(1)
        return (first, second) if first.locator("#seat-X .seat-you").is_visible() else (second, first)

    @staticmethod
    def play(x: Page, o: Page, cells: list[int], *, watchers: tuple[Page, ...] = ()) -> None:
        """X and O take turns on ``cells``; each move waits until everyone's board shows it."""
        for number, cell in enumerate(cells):
            mover = x if number % 2 == 0 else o
            mark = "X" if number % 2 == 0 else "O"
            mover.click(f'[data-cell="{cell}"]')
            for page in (x, o, *watchers):
                expect(page.locator(f'[data-cell="{cell}"]')).to_have_text(mark)

    @staticmethod
    def chat(page: Page, text: str, *, seen_by: Page) -> None:
        page.fill("#chat-input", text)
        page.press("#chat-input", "Enter")
        expect(seen_by.locator("#chat-log")).to_contain_text(text)

    # --- The evening -------------------------------------------------------------------------

    def run(self) -> None:
        print("Signing up alice, bob, carol and dan …", flush=True)
        alice, bob, carol, dan = (self.sign_up(name) for name in ("alice", "bob", "carol", "dan"))
        print("Photographing:", flush=True)

        # First the lobby's live rooms: one waiting for a player, games in play.
        # erin makes a room for the lunch break and has its invite link in front of her.
        erin = self.person()
        self.create_room(erin, "Lunch break 7×7", player_name="erin", size=7, win_length=4)
        expect(erin.locator("#invite-hero")).to_be_visible()
        self.photograph(erin, "created-room.png")
        # carol and dan start a game on 5×5.
        office = self.create_room(carol, "Office 5×5", size=5, win_length=4)
        self.join(dan, office)
        x, o = self.x_and_o(carol, dan)
        self.play(x, o, [12, 6, 13])
        # Friday night, rated: alice and bob, with grace (a guest) watching.
        friday = self.create_room(alice, "Friday night", rated=True)
        self.join(bob, friday)
        grace = self.person()
        self.open_room(grace, friday)
        x, o = self.x_and_o(alice, bob)
        self.play(x, o, [0, 4, 1, 2], watchers=(grace,))
        # dan, waiting for carol's move, plays the computer from the lobby in another tab.
        dan_vs_computer = dan.context.new_page()
        dan_vs_computer.goto(self.server.url + "/")
        dan_vs_computer.click("#play-computer")
        dan_vs_computer.wait_for_url(re.compile(r"/rooms/[A-Za-z0-9_-]+/$"))
        dan_vs_computer.click('[data-cell="0"]')
        expect(dan_vs_computer.locator('[data-cell="0"]')).to_have_text("X")
        expect(dan_vs_computer.locator('[data-cell][data-mark="O"]')).to_have_count(1)  # its answer
        self.photograph(dan_vs_computer, "computer.png")
        newcomer = self.person()
        newcomer.goto(self.server.url + "/")
        for title in ("Lunch break 7×7", "Office 5×5", "Friday night", "Against the computer"):
            expect(newcomer.locator("#room-list")).to_contain_text(title)
        self.photograph(newcomer, "lobby.png")

        # Friday night ends: bob wins on the diagonal 2-4-6, as grace sees it; then they chat.
        self.play(x, o, [5, 6], watchers=(grace,))
        expect(grace.locator("#status")).to_contain_text("bob" if o is bob else "alice")
        self.photograph(grace, "names-spectator.png")
        self.chat(x, "good game!", seen_by=o)
        self.chat(o, "thanks! that diagonal was lucky", seen_by=x)
        self.chat(x, "rematch? you start", seen_by=o)
        o.reload()
        expect(o.locator("#chat-log .chat-line")).to_have_count(3)
        self.photograph(o, "chat-after-reload.png")
        # Its replay, from the room's past games.
        grace.goto(f"{self.server.url}/rooms/{friday}/games/")
        grace.locator(".room-link").first.click()
        grace.wait_for_url(re.compile(r"/games/\d+/$"))
        last = grace.locator("#replay-last")
        if last.count() and last.is_enabled():  # a replay may open at the start or at the end
            last.click()
        self.photograph(grace, "replay.png")
        # The rematch (the marks swap): the same diagonal, this time for alice.
        for page in (x, o):
            page.click("#rematch")
        for page in (x, o):
            expect(page.locator('[data-cell="6"]')).to_have_text("")
        x, o = self.x_and_o(alice, bob)
        self.play(x, o, [0, 4, 1, 2, 5, 6])

        # Sunday league, rated too: carol beats dan, for the leaderboard.
        sunday = self.create_room(carol, "Sunday league", rated=True)
        self.join(dan, sunday)
        x, o = self.x_and_o(carol, dan)
        self.play(x, o, [4, 1, 0, 8, 6, 3, 2])  # X forks at 6 and wins on the diagonal 2-4-6
        # Evening game, rated: a draw offered and taken.
        evening = self.create_room(alice, "Evening game", rated=True)
        self.join(bob, evening)
        x, o = self.x_and_o(alice, bob)
        self.play(x, o, [4, 0, 8, 2, 1])
        o.click("#offer-draw")
        expect(x.locator("#offer")).to_be_visible()
        self.photograph(x, "draw-offer.png")
        x.click("#accept-offer")
        expect(x.locator("#rematch")).to_be_visible()

        # Blitz, 15 s a move: heidi lets her clock run out.
        frank, heidi = self.person(), self.person()
        blitz = self.create_room(frank, "Blitz", player_name="frank", time_control="move:15")
        self.join(heidi, blitz, "heidi")
        x, o = self.x_and_o(frank, heidi)
        self.play(x, o, [4, 0, 8])
        expect(x.locator("#rematch")).to_be_visible(timeout=60_000)  # the server ends it on time
        self.photograph(x, "clocks-timeout.png")

        # Coffee break: ivan's tab closes mid-game, judy may claim once the away limit passes.
        judy, ivan = self.person(), self.person()
        coffee = self.create_room(judy, "Coffee break", player_name="judy", absence_seconds=10)
        self.join(ivan, coffee, "ivan")
        x, o = self.x_and_o(judy, ivan)
        self.play(x, o, [0, 4, 8])
        ivan.context.close()
        expect(judy.locator("#claim-win")).to_be_visible(timeout=60_000)
        self.photograph(judy, "absent-claim.png")

        # alice's profile: her rated games against bob.
        alice.goto(f"{self.server.url}/players/alice/")
        expect(alice.locator("#profile-games")).to_be_visible()
        self.photograph(alice, "profile.png")

        # An arena the host set up in the admin: alice, bob, carol and dan join and play a round (a win,
        # a draw); those who played X go back first and meet in the second, while grace follows the standings.
        arena = self.host_tournament("Evening arena")
        for page in (alice, bob):
            self.join_tournament(page, arena)
        self.sent_to_one_room(alice, bob)
        for page in (carol, dan):
            self.join_tournament(page, arena)
        self.sent_to_one_room(carol, dan)
        played_x, played_o = [], []
        for (first, second), cells in (((alice, bob), [0, 3, 1, 4, 2]), ((carol, dan), [4, 0, 2, 6, 3, 5, 8, 1, 7])):
            x, o = self.x_and_o(first, second)
            self.play(x, o, cells)
            expect(x.locator("#back-to-tournament")).to_be_visible()
            played_x.append(x)
            played_o.append(o)
        for pair in (played_x, played_o):
            for page in pair:
                page.click("#back-to-tournament")
            self.sent_to_one_room(*pair)
        x, o = self.x_and_o(*played_x)
        self.play(x, o, [0, 3, 1, 4, 2])
        grace.goto(arena)
        expect(grace.locator("#standings-body tr")).to_have_count(4)
        expect(grace.locator("#tournament-in-play")).to_contain_text("1 game in play")
        self.photograph(grace, "tournament.png")

        self.refused_origin(friday)

    def host_tournament(self, name: str) -> str:
        """A host signs in to the admin and sets up an arena starting now, for half an hour; its page's URL."""
        make_host(self.server)
        host = self.person()
        host.goto(self.server.url + "/admin/login/?next=/admin/game/tournament/add/")
        host.fill("#id_username", HOST)
        host.fill("#id_password", HOST_PASSWORD)
        host.click("input[type=submit]")
        host.wait_for_url(re.compile(r"/admin/game/tournament/add/$"))
        host.fill("#id_name", name)
        host.fill("#id_time_control", "move:30")
        host.fill("#id_duration", "00:30:00")  # it starts when the form was opened: now
        host.click("input[name=_save]")
        host.wait_for_url(re.compile(r"/admin/game/tournament/$"))
        change = host.locator("#result_list a", has_text=name).first.get_attribute("href") or ""
        tournament_id = re.findall(r"/(\d+)/change/", change)[0]
        host.context.close()
        return f"{self.server.url}/tournaments/{tournament_id}/"

    @staticmethod
    def join_tournament(page: Page, url: str) -> None:
        """Open the tournament's page and press join (under the name the player plays under)."""
        page.goto(url)
        page.click("#tournament-join")

    @staticmethod
    def sent_to_one_room(first: Page, second: Page) -> None:
        """Both players were paired together: each page went to the same new room."""
        first.wait_for_url(re.compile(r"/rooms/[A-Za-z0-9_-]+/$"))
        second.wait_for_url(first.url)
        expect(first.locator("[data-cell]").first).to_be_visible()

    def refused_origin(self, code: str) -> None:
        """The room page as a browser sees it that reached the server under a name it does not serve."""
        # The name refused.test leads to this server; Chromium would not let a page of a public-looking
        # name open a socket to 127.0.0.1 without the flags below (as in the browser tests).
        elsewhere = self.browser.browser_type.launch(
            executable_path=chromium_path(),
            args=[
                *CHROMIUM_ARGS,
                "--host-resolver-rules=MAP refused.test 127.0.0.1",
                "--disable-features=LocalNetworkAccessChecks",
            ],
        )
        try:
            page = elsewhere.new_page(viewport={"width": WIDTH, "height": 720})
            page.set_default_timeout(20_000)
            page.route(
                re.compile(r"^http://refused\.test:"),
                lambda route: route.fulfill(
                    response=route.fetch(url=route.request.url.replace("refused.test", "127.0.0.1"))
                ),
            )
            page.goto(f"http://refused.test:{self.server.port}/rooms/{code}/")
            expect(page.locator("#room")).to_have_attribute("data-link", "final")
            self.photograph(page, "refused-origin.png")
        finally:
            elsewhere.close()


HOST = "host"
HOST_PASSWORD = "the host runs the evening"


def make_host(server: LiveServer) -> None:
    """The site's host: an admin account, made as an operator makes one (manage.py createsuperuser)."""
    subprocess.run(
        [sys.executable, "manage.py", "createsuperuser", "--noinput", "--username", HOST, "--email", "host@a.test"],
        cwd=ROOT,
        env={**server.env, "DJANGO_SUPERUSER_PASSWORD": HOST_PASSWORD},
        check=True,
        capture_output=True,
    )


@contextmanager
def demo_server(directory: Path) -> Iterator[LiveServer]:
    """A Redis and a daphne server of their own, on a new migrated SQLite database in ``directory``."""
    redis = EmbeddedRedis(die_with_parent=True).start()
    server = None
    try:
        server = LiveServer("daphne", migrated_sqlite(directory), directory / "daphne.log")
        server.env.update(
            LIMITS_OFF,  # every request comes from 127.0.0.1: not one busy visitor
            REDIS_URL=redis.url,
            DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        )
        yield server.start()
    finally:
        if server is not None:
            server.stop()
        redis.stop()


def take(out: Path) -> list[str]:
    """Run the demo and write its pictures into ``out``; the names written."""
    executable = chromium_path()
    if executable is None:
        raise SystemExit("No Chromium here: apt-get install chromium (or set CHROMIUM to one).")
    out.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(prefix="tictac-screenshots-") as directory,
        demo_server(Path(directory)) as server,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            demo = Demo(server, browser, out)
            demo.run()
        except Exception:
            log = (Path(directory) / "daphne.log").read_text().splitlines()
            print("The demo failed; the end of the server's log:", *log[-40:], sep="\n")
            raise
        finally:
            browser.close()
    return demo.taken


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="run.py screenshots", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where the PNGs go (docs/screenshots/)")
    arguments = parser.parse_args(argv)
    taken = take(arguments.out)
    missing = [name for name in readme_pictures() if name not in taken]
    if missing:
        print(f"README.md shows pictures this demo does not take: {', '.join(missing)}", file=sys.stderr)
        return 1
    print(f"{len(taken)} pictures in {arguments.out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
