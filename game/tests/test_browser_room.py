"""What a person sees in a room, in a real headless Chromium against a live server."""

from __future__ import annotations

import json
import re
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

    # The new-opponent form passes the CSRF check (a 403 otherwise) on its way to quick play.
    with alice.expect_response(lambda response: response.request.method == "POST") as posted:
        alice.click("#new-opponent")
    assert posted.value.status == 302
    assert "pool=" in (posted.value.request.post_data or "")


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


def test_ratings_show_by_the_names_linked_to_profiles_and_their_change_after_a_rated_game(
    server: LiveServer, new_context: NewContext
) -> None:
    # The fields as docs/protocol.md names them, put into the server's states on their way.
    def with_ratings(state: dict[str, Any]) -> None:
        finished = state["game"]["status"] not in ("waiting", "playing")
        state["room"]["rated"] = True
        if state["players"]["X"]:
            state["players"]["X"]["username"] = "alice_account"
            state["players"]["X"]["rating"] = {"value": 1512, "provisional": True, "change": 12 if finished else None}
        if state["players"]["O"]:
            state["players"]["O"]["username"] = None
            state["players"]["O"]["rating"] = {"value": 1600, "provisional": False, "change": -12 if finished else None}

    alice, bob, code = two_players(server, new_context, "Ratings by the names")
    carol = new_context().new_page()
    rewrite_states(carol, with_ratings)
    carol.goto(f"{server.url}/rooms/{code}/")
    expect(carol.locator("#seat-X .seat-rating")).to_have_text("rating 1512, provisional: 1512?")
    expect(carol.locator("#seat-X .seat-rating")).to_have_attribute("href", "/players/alice_account/")
    expect(carol.locator("#seat-O .seat-rating")).to_have_text("rating 1600: 1600")
    expect(carol.locator("#seat-O .seat-rating")).not_to_have_attribute("href", re.compile("."))
    expect(carol.locator("#seat-X .seat-change")).to_be_hidden()
    play([(alice, 0), (bob, 3), (alice, 1), (bob, 4), (alice, 2)])
    expect(carol.locator("#seat-X .seat-change")).to_have_text("+12")
    expect(carol.locator("#seat-O .seat-change")).to_have_text("\u221212")
    screenshot(carol, "ratings-changed.png")
    # A page whose states carry no ratings shows none.
    expect(alice.locator(".seat-rating:visible")).to_have_count(0)
    expect(alice.locator(".seat-change:visible")).to_have_count(0)


def test_a_first_move_countdown_names_who_owes_it_and_ticks(server: LiveServer, new_context: NewContext) -> None:
    deadline = now_ms() + 30_000

    def owing(state: dict[str, Any]) -> None:
        game = state["game"]
        game["first_move"] = {"mark": "X", "deadline": deadline} if game["status"] == "playing" else None

    alice = new_context().new_page()
    code = create_room(alice, server, "First move due")
    bob = new_context().new_page()
    rewrite_states(bob, owing)
    bob.goto(f"{server.url}/rooms/{code}/")
    join(bob, "bob")
    countdown = bob.locator("#countdown")
    pattern = r"^alice must make a first move within 0:(\d\d) or the game is aborted$"
    expect(countdown).to_have_text(re.compile(pattern))
    first = int(re.fullmatch(pattern, countdown.inner_text())[1])  # type: ignore[index]
    expect(countdown).not_to_have_text(re.compile(rf"0:{first:02d} "))  # it ticks
    screenshot(bob, "first-move-countdown.png")


def test_an_idle_opponent_past_claim_at_gives_the_claim_buttons_in_words(
    server: LiveServer, new_context: NewContext
) -> None:
    claim_at: list[int] = []

    def idle_bob(state: dict[str, Any]) -> None:
        state["room"]["idle_seconds"] = 300
        game = state["game"]
        bobs_turn = game["status"] == "playing" and game["turn"] == "O"
        if bobs_turn and not claim_at:
            claim_at.append(now_ms() + 5_000)  # the claim opens a few seconds into bob's first turn
        game["idle"] = {"mark": "O", "claim_at": claim_at[0]} if bobs_turn else None

    alice = new_context().new_page()
    rewrite_states(alice, idle_bob)
    code = create_room(alice, server, "Idle")
    bob = new_context().new_page()
    bob.goto(f"{server.url}/rooms/{code}/")
    join(bob, "bob")
    play([(alice, 0)])
    expect(alice.locator("#absent")).to_be_hidden()  # thinking is no reason to tell anyone
    expect(alice.locator("#absent-text")).to_have_text(
        "bob has not moved for 5 minutes: you may claim the win or a draw, or keep waiting", timeout=15_000
    )
    expect(alice.locator("#claim-win")).to_be_visible()
    expect(alice.locator("#claim-draw")).to_be_visible()
    screenshot(alice, "idle-claim.png")
    play([(bob, 4)])  # bob moves: nothing to claim any more
    expect(alice.locator("#absent")).to_be_hidden()
