"""What a person sees in a room, in a real headless Chromium against a live server."""

from __future__ import annotations

import json
import re
import sqlite3
import time
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, WebSocketRoute, expect

from testing.browser import NewContext, create_room, join, screenshot, two_players
from testing.live import LiveServer

pytestmark = pytest.mark.browser

PHONE = (390, 844)

# Every play() of an <audio> element, by the page's name for its sound, instead of playing it.
RECORD_SOUNDS = """
window.playedSounds = [];
HTMLMediaElement.prototype.play = function () {
  window.playedSounds.push(this.dataset.sound || this.currentSrc || this.src);
  return Promise.resolve();
};
"""


def room_state(server: LiveServer, code: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{server.url}/api/rooms/{code}/") as response:
        state: dict[str, Any] = json.load(response)
    return state


def rewrite_states(page: Page, change: Callable[[dict[str, Any]], None]) -> None:
    """Pass every `state` the page's room socket receives through `change` first."""

    def route(page_socket: WebSocketRoute) -> None:
        server_socket = page_socket.connect_to_server()

        def to_page(message: str | bytes) -> None:
            data = json.loads(message)
            if data.get("type") == "state":
                change(data)
            page_socket.send(json.dumps(data))

        server_socket.on_message(to_page)

    page.route_web_socket(re.compile(r"/ws/rooms/"), route)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def play(moves: list[tuple[Page, int]]) -> None:
    for mover, cell in moves:
        expect(mover.locator("#status")).to_have_text("Your move")
        mover.click(f'[data-cell="{cell}"]')


def test_after_a_game_players_are_offered_a_rematch_a_new_opponent_the_computer_the_lobby_and_the_replay(
    server: LiveServer, new_context: NewContext
) -> None:
    alice, bob, code = two_players(server, new_context, "After")
    carol = new_context().new_page()
    carol.goto(f"{server.url}/rooms/{code}/")
    expect(alice.locator("#after-game")).to_be_hidden()
    play([(alice, 0), (bob, 3), (alice, 1), (bob, 4), (alice, 2)])
    expect(alice.locator("#status")).to_have_text("You win!")
    state = room_state(server, code)
    replay = f"/games/{state['game']['id']}/"

    panel = alice.locator("#after-game")
    expect(panel).to_be_visible()
    expect(alice.locator("#rematch")).to_be_visible()
    expect(alice.locator("#opponent-left")).to_be_hidden()
    expect(alice.locator("#new-opponent")).to_be_visible()
    expect(alice.locator("#new-opponent-form")).to_have_attribute("action", "/play/")
    expect(alice.locator("#new-opponent-pool")).to_have_value(state["room"].get("pool", "3x3-move:15"))
    expect(alice.locator("#new-opponent-name")).to_have_value("alice")
    expect(alice.locator("#new-opponent-form [name=csrfmiddlewaretoken]")).to_have_value(re.compile(r"\w{32,}"))
    expect(alice.locator("#computer-rematch")).to_be_visible()
    expect(alice.locator("#computer-rematch-form")).to_have_attribute("action", "/play/computer/")
    expect(alice.locator("#computer-rematch-name")).to_have_value("alice")
    expect(alice.locator("#back-to-lobby")).to_have_attribute("href", "/")
    expect(alice.locator("#replay-link")).to_have_attribute("href", replay)
    expect(bob.locator("#computer-rematch-name")).to_have_value("bob")
    screenshot(alice, "after-game-player.png")
    bob.set_viewport_size({"width": PHONE[0], "height": PHONE[1]})
    expect(bob.locator("#computer-rematch")).to_be_visible()
    assert bob.evaluate("document.documentElement.scrollWidth") <= PHONE[0]
    screenshot(bob, "after-game-phone.png")

    # A spectator gets the lobby and the replay, nothing to play.
    expect(carol.locator("#after-game")).to_be_visible()
    for control in ("#rematch", "#new-opponent", "#computer-rematch"):
        expect(carol.locator(control)).to_be_hidden()
    expect(carol.locator("#back-to-lobby")).to_be_visible()
    expect(carol.locator("#replay-link")).to_have_attribute("href", replay)
    screenshot(carol, "after-game-spectator.png")

    # With bob gone, alice is told so instead of being offered a rematch.
    bob.context.close()
    expect(alice.locator("#opponent-left")).to_have_text("bob left", timeout=20_000)
    expect(alice.locator("#rematch")).to_be_hidden()
    screenshot(alice, "after-game-opponent-left.png")

    # The new-opponent form passes the CSRF check (a 403 otherwise) and lands in quick play's pool,
    # looking for an opponent. The test waits for that page: it used to end with the page still on its
    # way there (no other browser test ends mid-navigation), and twice in clean runs the closing of
    # its contexts hung Chromium until pytest-timeout.
    with alice.expect_response(lambda response: response.request.method == "POST") as posted:
        alice.click("#new-opponent")
    assert posted.value.status == 302
    assert "pool=" in (posted.value.request.post_data or "")
    alice.wait_for_url(re.compile(r"/play/[^/]+/$"))
    expect(alice.locator("#seek-status")).to_have_text("Looking for an opponent…")


def test_after_a_game_a_player_plays_the_computer_on_the_same_board(
    server: LiveServer, new_context: NewContext
) -> None:
    alice, bob, code = two_players(server, new_context, "Board of four", size=4, win_length=3)
    play([(alice, 0), (bob, 4), (alice, 1), (bob, 5), (alice, 2)])
    expect(alice.locator("#status")).to_have_text("You win!")
    alice.select_option("#computer-rematch-level", "easy")
    with alice.expect_request(lambda request: request.url.endswith("/play/computer/")) as posted:
        alice.click("#computer-rematch")
    fields = dict(pair.split("=", 1) for pair in (posted.value.post_data or "").split("&"))
    assert (fields["level"], fields["size"], fields["win_length"], fields["name"]) == ("easy", "4", "3", "alice")
    alice.wait_for_url(re.compile(r"/rooms/[A-Za-z0-9_-]+/$"))
    assert code not in alice.url
    expect(alice.locator("#seat-O .seat-name")).to_have_text("Computer (easy)")
    expect(alice.locator("#status")).to_have_text("Your move")


def test_a_declined_draw_offer_and_takeback_are_told_to_the_one_who_offered(
    server: LiveServer, new_context: NewContext
) -> None:
    alice, bob, _ = two_players(server, new_context, "Declined")
    play([(alice, 4)])
    expect(bob.locator("#status")).to_have_text("Your move")
    bob.click("#offer-draw")
    expect(alice.locator("#offer")).to_contain_text("bob offers a draw")
    alice.click("#decline-offer")
    expect(bob.locator("#notice")).to_be_visible()
    expect(bob.locator("#notice")).to_have_text("alice declined your draw offer")
    expect(alice.locator("#notice")).to_be_hidden()  # the one who declined knows
    screenshot(bob, "declined-draw.png")

    bob.click('[data-cell="0"]')  # the next move ends the notice
    expect(bob.locator("#notice")).to_be_hidden()
    bob.click("#takeback")
    expect(alice.locator("#offer")).to_contain_text("bob asks to take back their last move")
    alice.click("#decline-offer")
    expect(bob.locator("#notice")).to_have_text("alice declined your take-back")
    expect(bob.locator('[data-cell="0"]')).to_have_text("O")


def test_a_click_out_of_turn_says_whose_turn_it_is_or_that_nobody_is_there_yet(
    server: LiveServer, new_context: NewContext
) -> None:
    alice = new_context().new_page()
    code = create_room(alice, server, "Out of turn")
    # A cell out of play is aria-disabled, which Playwright would wait out; a person just clicks it.
    alice.click('[data-cell="4"]', force=True)
    expect(alice.locator("#board-hint")).to_be_visible()
    expect(alice.locator("#board-hint")).to_have_text("Waiting for an opponent")
    bob = new_context().new_page()
    bob.goto(f"{server.url}/rooms/{code}/")
    join(bob, "bob")
    expect(alice.locator("#board-hint")).to_be_hidden()  # the game started: old news
    expect(bob.locator("#status")).to_have_text("alice to move")
    bob.click('[data-cell="4"]', force=True)
    expect(bob.locator("#board-hint")).to_be_visible()
    expect(bob.locator("#board-hint")).to_have_text("It is alice’s turn")
    expect(bob.locator('[data-cell="4"]')).to_have_text("")
    screenshot(bob, "out-of-turn.png")
    alice.click('[data-cell="4"]')
    expect(bob.locator("#board-hint")).to_be_hidden()
    expect(bob.locator("#status")).to_have_text("Your move")


@pytest.mark.parametrize("viewport", [PHONE, (1280, 900)], ids=["phone", "desktop"])
def test_an_invited_friend_sees_who_waits_and_the_free_seat_by_the_board(
    server: LiveServer, new_context: NewContext, viewport: tuple[int, int]
) -> None:
    width, height = viewport
    alice = new_context().new_page()
    code = create_room(alice, server, f"Invite {width}")
    friend = new_context(width, height).new_page()
    friend.goto(f"{server.url}/rooms/{code}/")
    expect(friend.locator("#status")).to_have_text("alice is waiting for you")
    expect(friend.locator("#role")).to_be_hidden()
    expect(friend.locator("#join")).to_have_text("Take the free seat")
    for part in ("#join-name", "#join"):
        box = friend.locator(part).bounding_box()
        assert box is not None
        assert box["y"] + box["height"] <= height, f"{part} is below the fold"
        assert box["x"] + box["width"] <= width
    # Next to the board: in the game's column, before the board.
    assert friend.locator(".play #join-form").count() == 1
    assert friend.evaluate("document.documentElement.scrollWidth") <= width
    screenshot(friend, f"invited-friend-{width}.png")
    join(friend, "bob")
    expect(friend.locator("#status")).to_have_text("alice to move")
    expect(alice.locator("#status")).to_have_text("Your move")


def test_a_spectator_in_a_waiting_room_with_nobody_present_reads_waiting_for_players(
    server: LiveServer, new_context: NewContext
) -> None:
    alice = new_context().new_page()
    code = create_room(alice, server, "Nobody here")
    alice.context.close()
    visitor = new_context().new_page()
    visitor.goto(f"{server.url}/rooms/{code}/")
    # alice's absence reaches the page within the presence timeout.
    expect(visitor.locator("#status")).to_have_text("Waiting for players", timeout=20_000)
    expect(visitor.locator("#join")).to_have_text("Take a seat")
    expect(visitor.locator("#role")).to_have_text("You are watching")


def test_a_rated_room_says_so_by_the_board(server: LiveServer, new_context: NewContext) -> None:
    page = new_context().new_page()
    page.goto(server.url + "/")
    page.fill("#id_name", "Rated room")
    page.check("#id_rated")
    page.click("#create-room button[type=submit]")
    page.wait_for_url(re.compile(r"/rooms/[A-Za-z0-9_-]+/$"))
    expect(page.locator("#rated")).to_have_text("Rated")
    other = new_context().new_page()
    create_room(other, server, "Unrated room")
    expect(other.locator("#rated")).to_have_count(0)


def test_sound_plays_an_opponents_move_only_when_on_and_the_choice_survives_a_reload(
    server: LiveServer, new_context: NewContext
) -> None:
    alice = new_context().new_page()
    alice.add_init_script(RECORD_SOUNDS)
    code = create_room(alice, server, "Sounds")
    toggle = alice.locator("#sound-toggle")
    expect(toggle).to_have_text("Sound: on")
    expect(toggle).to_have_attribute("aria-pressed", "true")
    bob = new_context().new_page()
    bob.goto(f"{server.url}/rooms/{code}/")
    join(bob, "bob")
    expect(alice.locator("#status")).to_have_text("Your move")
    # Nothing played before alice touched the page, though the game started on her turn.
    assert alice.evaluate("window.playedSounds") == []

    alice.click('[data-cell="0"]')  # her first touch of the page
    expect(bob.locator("#status")).to_have_text("Your move")
    alice.evaluate("window.playedSounds.length = 0")
    bob.click('[data-cell="4"]')
    expect(alice.locator('[data-cell="4"]')).to_have_text("O")
    assert alice.evaluate("window.playedSounds") == ["move"]

    toggle.click()
    expect(toggle).to_have_text("Sound: off")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    alice.click('[data-cell="8"]')
    expect(bob.locator("#status")).to_have_text("Your move")
    alice.evaluate("window.playedSounds.length = 0")
    bob.click('[data-cell="2"]')
    expect(alice.locator('[data-cell="2"]')).to_have_text("O")
    assert alice.evaluate("window.playedSounds") == []

    alice.reload()
    expect(alice.locator("#sound-toggle")).to_have_text("Sound: off")
    alice.click("#sound-toggle")
    expect(alice.locator("#sound-toggle")).to_have_text("Sound: on")
    alice.reload()
    expect(alice.locator("#sound-toggle")).to_have_text("Sound: on")
    screenshot(alice, "sound-toggle.png")


def test_the_sound_files_are_served(server: LiveServer) -> None:
    for name in ("move", "turn", "end"):
        with urllib.request.urlopen(f"{server.url}/static/game/sounds/{name}.wav") as response:
            assert response.status == 200
            assert response.headers["Content-Type"] in ("audio/wav", "audio/x-wav")
            assert response.read(4) == b"RIFF"


def sign_up(page: Page, server: LiveServer, username: str) -> None:
    page.goto(server.url + "/accounts/signup/")
    page.fill("#id_username", username)
    page.fill("#id_password1", f"{username} plays tictac 7")
    page.fill("#id_password2", f"{username} plays tictac 7")
    page.click("#signup-submit")
    expect(page.locator("#account-name")).to_have_text(username)


def test_a_rated_game_shows_both_ratings_by_the_names_linked_to_profiles_and_what_it_changed(
    server: LiveServer, new_context: NewContext
) -> None:
    alice = new_context().new_page()
    sign_up(alice, server, "rated_alice")
    alice.goto(server.url + "/")
    alice.fill("#id_name", "Rated at the board")
    alice.check("#id_rated")
    alice.click("#create-room button[type=submit]")
    alice.wait_for_url(re.compile(r"/rooms/[A-Za-z0-9_-]+/$"))
    code = alice.url.rstrip("/").rsplit("/", 1)[1]
    bob = new_context().new_page()
    sign_up(bob, server, "rated_bob")
    bob.goto(f"{server.url}/rooms/{code}/")
    join(bob, "bob")
    carol = new_context().new_page()  # a guest, watching
    carol.goto(f"{server.url}/rooms/{code}/")

    expect(carol.locator("#rated")).to_have_text("Rated")
    for mark, username in (("X", "rated_alice"), ("O", "rated_bob")):
        rating = carol.locator(f"#seat-{mark} .seat-rating")
        expect(rating).to_have_text("1500?")  # a new account's first rating is provisional
        expect(rating).to_have_attribute("href", f"/players/{username}/")
        expect(rating).to_have_accessible_name(f"rating 1500, provisional: {username}’s profile")
        expect(carol.locator(f"#seat-{mark} .seat-change")).to_be_hidden()
    play([(alice, 0), (bob, 3), (alice, 1), (bob, 4), (alice, 2)])
    expect(carol.locator("#status")).to_have_text("rated_alice wins")  # a signed-in player's username
    expect(carol.locator("#seat-X .seat-change")).to_have_text(re.compile(r"^\+\d+$"))
    expect(carol.locator("#seat-O .seat-change")).to_have_text(re.compile(r"^\u2212\d+$"))
    expect(carol.locator("#seat-X .seat-change")).to_have_class(re.compile("is-up"))
    screenshot(carol, "ratings-changed.png")
    carol.click("#seat-O .seat-rating")
    expect(carol.locator("#profile-title")).to_have_text("rated_bob")


def test_guests_in_an_unrated_room_show_no_rating(server: LiveServer, new_context: NewContext) -> None:
    alice, bob, _ = two_players(server, new_context, "Guests only")
    play([(alice, 0), (bob, 3), (alice, 1), (bob, 4), (alice, 2)])
    expect(alice.locator("#status")).to_have_text("You win!")
    expect(alice.locator("#rated")).to_have_count(0)
    expect(alice.locator(".seat-rating:visible")).to_have_count(0)
    expect(alice.locator(".seat-change:visible")).to_have_count(0)


def test_a_first_move_countdown_names_who_owes_it_and_ticks(server: LiveServer, new_context: NewContext) -> None:
    alice = new_context().new_page()
    code = create_room(alice, server, "First move due")
    expect(alice.locator("#countdown")).to_be_hidden()  # nobody owes anything before the game starts
    bob = new_context().new_page()
    bob.goto(f"{server.url}/rooms/{code}/")
    join(bob, "bob")
    theirs = r"^alice must make a first move within 0:(\d\d) or the game is aborted$"
    expect(bob.locator("#countdown")).to_have_text(re.compile(theirs))
    expect(alice.locator("#countdown")).to_have_text(
        re.compile(r"^You must make your first move within 0:\d\d or the game is aborted$")
    )
    first = int(re.fullmatch(theirs, bob.locator("#countdown").inner_text())[1])  # type: ignore[index]
    expect(bob.locator("#countdown")).not_to_have_text(re.compile(rf"0:{first:02d} "))  # it ticks
    screenshot(bob, "first-move-countdown.png")
    play([(alice, 4)])
    expect(alice.locator("#countdown")).to_have_text(re.compile(r"^bob must make a first move within 0:\d\d"))
    expect(bob.locator("#countdown")).to_have_text(re.compile(r"^You must make your first move within 0:\d\d"))
    play([(bob, 0)])
    expect(alice.locator("#countdown")).to_be_hidden()
    expect(bob.locator("#countdown")).to_be_hidden()


def set_idle_seconds(server: LiveServer, code: str, seconds: int) -> None:
    """Shorten a room's idle limit straight in the servers' SQLite file (the form's minimum is 30 s)."""
    database_url = server.env["DATABASE_URL"]
    assert database_url.startswith("sqlite:///")
    with sqlite3.connect(database_url.removeprefix("sqlite:///"), timeout=20) as connection:
        changed = connection.execute("UPDATE game_room SET idle_seconds = ? WHERE code = ?", [seconds, code]).rowcount
    assert changed == 1


def test_an_idle_opponent_past_claim_at_gives_the_claim_buttons_in_words(
    server: LiveServer, new_context: NewContext
) -> None:
    alice = new_context().new_page()
    code = create_room(alice, server, "Idle")
    set_idle_seconds(server, code, 3)
    alice.reload()  # a socket reads its room when it connects: this one reads the new limit
    expect(alice.locator("#seat-X .seat-you")).to_be_visible()
    bob = new_context().new_page()
    bob.goto(f"{server.url}/rooms/{code}/")
    join(bob, "bob")
    play([(alice, 0), (bob, 4), (alice, 8)])  # both have moved: bob's turn is the first that may idle
    expect(alice.locator("#absent")).to_be_hidden()  # thinking is no reason to tell anyone
    expect(alice.locator("#absent-text")).to_have_text(
        "bob has not moved for 3 seconds: you may claim the win or a draw, or keep waiting", timeout=15_000
    )
    expect(bob.locator("#absent-text")).to_have_text("You have not moved for 3 seconds: alice may claim the game")
    expect(bob.locator("#claim-win")).to_be_hidden()
    expect(alice.locator("#claim-win")).to_be_visible()
    expect(alice.locator("#claim-draw")).to_be_visible()
    screenshot(alice, "idle-claim.png")
    alice.click("#claim-win")
    expect(alice.locator("#status")).to_have_text("bob did not move — you win!")
    expect(bob.locator("#status")).to_have_text("You did not move — alice wins")
    expect(alice.locator("#absent")).to_be_hidden()
