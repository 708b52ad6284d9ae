"""The pages in a real headless Chromium against a live server with a real Redis."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, WebSocketRoute, expect

from testing.browser import (
    CHROMIUM_ARGS,
    RECONNECT_MAX_MS,
    NewContext,
    board_of,
    chromium_path,
    create_room,
    join,
    run_page_clock,
    screenshot,
    two_players,
    update_playing_game,
)
from testing.live import LiveServer, migrated_sqlite
from testing.wait import until

pytestmark = pytest.mark.browser


def test_two_players_play_to_a_win_while_a_third_watches(server: LiveServer, new_context: NewContext) -> None:
    alice, bob, code = two_players(server, new_context, "Final")
    carol = new_context().new_page()
    carol.goto(f"{server.url}/rooms/{code}/")
    expect(alice.locator("#status")).to_have_text("Your move")
    expect(bob.locator("#status")).to_have_text("alice to move")
    for mover, cell in [(alice, 0), (bob, 3), (alice, 1), (bob, 4), (alice, 2)]:
        expect(mover.locator("#status")).to_have_text("Your move")
        mover.click(f'[data-cell="{cell}"]')
    expect(alice.locator("#status")).to_have_text("You win!")
    for page in (bob, carol):
        expect(page.locator("#status")).to_have_text("alice wins")
    boards = [board_of(page, 3) for page in (alice, bob, carol)]
    assert boards[0] == boards[1] == boards[2] == ["X", "X", "X", "O", "O", "", "", "", ""]
    screenshot(alice, "finished-game-player.png")
    screenshot(carol, "finished-game-spectator.png")


def test_a_reload_mid_game_comes_back_to_the_same_board(server: LiveServer, new_context: NewContext) -> None:
    alice, bob, _ = two_players(server, new_context, "Reload")
    alice.click('[data-cell="4"]')
    expect(bob.locator("#status")).to_have_text("Your move")
    bob.click('[data-cell="0"]')
    expect(alice.locator("#status")).to_have_text("Your move")
    before = board_of(alice, 3)
    alice.reload()
    expect(alice.locator("#status")).to_have_text("Your move")
    assert board_of(alice, 3) == before == ["O", "", "", "", "X", "", "", "", ""]
    alice.click('[data-cell="8"]')
    expect(bob.locator('[data-cell="8"]')).to_have_text("X")


def test_the_keyboard_alone_can_play_a_game(server: LiveServer, new_context: NewContext) -> None:
    alice = new_context().new_page()
    code = create_room(alice, server, "Keys")
    bob = new_context().new_page()
    bob.goto(f"{server.url}/rooms/{code}/")
    # The seat is offered once the page is connected: typing before that typed into nothing.
    expect(bob.locator("#join-form")).to_be_visible()
    bob.focus("#join-name")
    bob.keyboard.type("bob")
    bob.keyboard.press("Enter")
    expect(bob.locator("#join-form")).to_be_hidden()
    # X: 0, 1, 2 along the top row with arrows; O: 3, 4 on the middle row.
    plan = [
        (alice, 0, []),
        (bob, 3, []),
        (alice, 1, ["ArrowRight"]),
        (bob, 4, ["ArrowRight"]),
        (alice, 2, ["ArrowRight"]),
    ]
    for page, cell, keys in plan:
        expect(page.locator("#status")).to_have_text("Your move")
        if not keys:
            page.focus(f'[data-cell="{cell}"]')
        for key in keys:
            page.keyboard.press(key)
        expect(page.locator(f'[data-cell="{cell}"]')).to_be_focused()
        page.keyboard.press("Enter" if cell % 2 else "Space")
        expect(page.locator(f'[data-cell="{cell}"]')).not_to_have_text("")
    expect(bob.locator("#status")).to_have_text("alice wins")
    expect(alice.locator('[data-cell="4"]')).to_have_accessible_name(re.compile(r"Row 2, column 2, O"))


# The page's WebSocket, held: it stays CONNECTING (as on a slow network, or while the page's modules
# still load on a busy machine) until the test calls window.letSocketsConnect(); then a real socket is
# made and its events are passed on, so from there the page talks to the real server.
HOLD_SOCKETS = """
(() => {
  const Real = window.WebSocket;
  const held = [];
  class HeldWebSocket extends EventTarget {
    constructor(url, protocols) {
      super();
      this.url = url;
      this.readyState = Real.CONNECTING;
      this.real = null;
      held.push(() => this.connect(protocols));
    }
    connect(protocols) {
      const real = this.real = new Real(this.url, protocols);
      for (const type of ['open', 'message', 'close', 'error']) {
        real.addEventListener(type, (event) => {
          this.readyState = real.readyState;
          this.dispatchEvent(
            type === 'message' ? new MessageEvent('message', { data: event.data })
            : type === 'close' ? new CloseEvent('close', { code: event.code, reason: event.reason })
            : new Event(type));
        });
      }
    }
    send(data) {
      if (this.readyState !== Real.OPEN) throw new DOMException('Still in CONNECTING state.', 'InvalidStateError');
      this.real.send(data);
    }
    close(code, reason) {
      if (this.real) this.real.close(code, reason);
      this.readyState = Real.CLOSED;
    }
  }
  for (const name of ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED']) HeldWebSocket[name] = Real[name];
  window.WebSocket = HeldWebSocket;
  window.socketsHeld = () => held.length;
  window.letSocketsConnect = () => { for (const connect of held.splice(0)) connect(); };
})();
"""


def test_the_seat_is_offered_only_once_the_page_is_connected(server: LiveServer, new_context: NewContext) -> None:
    # Until its socket has told it whether this visitor already has a seat, a room page offers none:
    # a seat asked for then could be a second one.
    alice = new_context().new_page()
    code = create_room(alice, server, "Early")
    bob = new_context().new_page()
    bob.add_init_script(HOLD_SOCKETS)
    bob.goto(f"{server.url}/rooms/{code}/")
    until(lambda: bob.evaluate("window.socketsHeld()") == 1, message="the room page opened its socket")
    expect(bob.locator("#board")).to_be_visible()  # the page shows the room it was served with
    expect(bob.locator("#join-form")).to_be_hidden()
    bob.evaluate("window.letSocketsConnect()")
    expect(bob.locator("#join-form")).to_be_visible()
    bob.fill("#join-name", "bob")
    bob.press("#join-name", "Enter")
    expect(bob.locator("#join-form")).to_be_hidden()
    expect(alice.locator("#seat-O .seat-name")).to_have_text("bob")


def test_a_name_made_of_html_is_shown_as_text(server: LiveServer, new_context: NewContext) -> None:
    evil = "<img src=x onerror=alert(1)>"
    page = new_context().new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    create_room(page, server, evil, player_name=evil)
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
    code = create_room(host, server, "Appears", player_name="host", time_control="budget:60+2")
    row = lobby.locator(f'[data-room="{code}"]')
    expect(row).to_be_visible()
    expect(row).to_contain_text("host vs —")
    expect(row).to_contain_text("1 min + 2 s")
    expect(row.locator(".room-status")).to_have_text("Join now")
    expect(lobby.locator(".room-row").first).to_have_attribute("data-room", code)  # joinable rooms first
    guest = new_context().new_page()
    guest.goto(f"{server.url}/rooms/{code}/")
    join(guest, "guest")
    expect(row).to_contain_text("host vs guest")
    expect(row).to_contain_text("2 here")
    expect(row.locator(".room-status")).to_have_text("Playing")


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
    screenshot(bob, "phone-15x15.png")


def test_resign_asks_first_then_says_who_resigned_and_a_rematch_shows_who_asked(
    server: LiveServer, new_context: NewContext
) -> None:
    alice, bob, _ = two_players(server, new_context, "Resign")
    alice.click('[data-cell="4"]')
    expect(bob.locator("#status")).to_have_text("Your move")
    bob.click('[data-cell="0"]')  # both have moved: the game counts, so the series will show it
    expect(bob.locator("#status")).to_have_text("alice to move")
    bob.click("#resign")
    expect(bob.locator("#resign-dialog")).to_be_visible()
    bob.click("#resign-cancel")  # changing one's mind changes nothing
    expect(bob.locator("#status")).to_have_text("alice to move")
    bob.click("#resign")
    bob.click("#resign-confirm")
    expect(alice.locator("#status")).to_have_text("bob resigned — you win!")
    expect(bob.locator("#status")).to_have_text("You resigned — alice wins")
    alice.click("#rematch")
    expect(bob.locator("#rematch-status")).to_have_text("alice wants a rematch")
    bob.click("#rematch")
    # Marks swap: bob is X in game 2 and moves first, and both are told so.
    expect(bob.locator("#status")).to_have_text("Your move")
    expect(bob.locator("#notice")).to_have_text("New game: you play X now")
    expect(alice.locator("#status")).to_have_text("bob to move")
    expect(alice.locator("#notice")).to_have_text("New game: bob plays X now, you play O")
    expect(alice.locator("#series")).to_have_text("bob 0 – 1 alice")


def test_a_page_reconnects_by_itself_after_a_server_restart(tmp_path: Path, new_context: NewContext) -> None:
    database_url = migrated_sqlite(tmp_path)
    first = LiveServer("daphne", database_url, tmp_path / "first.log").start()
    alice = new_context().new_page()
    code = create_room(alice, first, "Restart")
    bob = new_context().new_page()
    bob.goto(f"{first.url}/rooms/{code}/")
    join(bob, "bob")
    alice.click('[data-cell="0"]')
    expect(bob.locator('[data-cell="0"]')).to_have_text("X")
    first.stop()
    expect(alice.locator("#status")).to_have_text("Reconnecting…")
    second = LiveServer("daphne", database_url, tmp_path / "second.log", port=first.port).start()
    try:
        expect(bob.locator("#status")).to_have_text("Your move", timeout=20_000)
        bob.click('[data-cell="4"]')
        expect(alice.locator('[data-cell="4"]')).to_have_text("O")
        expect(alice.locator("#status")).to_have_text("Your move")
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
    join(bob, "bob")
    alice.click('[data-cell="0"]')
    expect(bob.locator('[data-cell="0"]')).to_have_text("X")
    bob.click('[data-cell="4"]')  # move 2: bob's own copy of it never arrives
    expect(alice.locator("#status")).to_have_text("Your move")
    alice.click('[data-cell="8"]')  # move 3 arrives: bob's page sees a gap
    expect(bob.locator('[data-cell="8"]')).to_have_text("X")
    expect(bob.locator('[data-cell="4"]')).to_have_text("O")
    expect(bob.locator("#status")).to_have_text("Your move")
    assert {"type": "sync"} in sent_by_bob


def test_the_status_line_names_the_players_and_tells_a_spectator_they_are_watching(
    server: LiveServer, new_context: NewContext
) -> None:
    alice = new_context().new_page()
    code = create_room(alice, server, "Names")
    expect(alice.locator("#invite-hero")).to_contain_text("Send this link to a friend")
    expect(alice.locator("#invite-hero-link")).to_have_value(f"{server.url}/rooms/{code}/")
    screenshot(alice, "created-room.png")
    bob = new_context().new_page()
    bob.goto(f"{server.url}/rooms/{code}/")
    join(bob, "bob")
    carol = new_context().new_page()
    carol.goto(f"{server.url}/rooms/{code}/")
    expect(alice.locator("#invite-hero")).to_be_hidden()
    expect(alice.locator("#status")).to_have_text("Your move")
    expect(alice).to_have_title(re.compile(r"^\(Your move\) "))
    expect(bob.locator("#status")).to_have_text("alice to move")
    expect(carol.locator("#status")).to_have_text("alice to move")
    expect(carol.locator("#role")).to_have_text("You are watching")
    expect(alice.locator("#role")).to_be_hidden()
    # bob wins along the middle row.
    for mover, cell in [(alice, 0), (bob, 3), (alice, 1), (bob, 4), (alice, 8), (bob, 5)]:
        expect(mover.locator("#status")).to_have_text("Your move")
        mover.click(f'[data-cell="{cell}"]')
    for page in (alice, carol):
        expect(page.locator("#status")).to_have_text("bob wins")
    expect(bob.locator("#status")).to_have_text("You win!")
    expect(bob).not_to_have_title(re.compile("Your move"))
    expect(carol.locator("#series")).to_have_text("alice 0 – 1 bob")
    screenshot(carol, "names-spectator.png")


def test_a_game_lost_on_time_shows_both_clocks_and_who_ran_out(server: LiveServer, new_context: NewContext) -> None:
    alice, bob, code = two_players(server, new_context, "Clocks", time_control="move:15")
    carol = new_context().new_page()
    carol.goto(f"{server.url}/rooms/{code}/")
    for page in (alice, bob, carol):
        expect(page.locator(".room-meta")).to_contain_text("15 s per move")
        for mark in "XO":
            expect(page.locator(f"#seat-{mark} .seat-clock")).to_be_visible()
            expect(page.locator(f"#seat-{mark} .seat-clock")).to_have_text(re.compile(r"^0:(1[0-5]|0\d\.\d)$"))
    # No clock runs until both have made a first move.
    expect(alice.locator("#seat-X .seat-clock")).not_to_have_class(re.compile("is-running"))
    alice.click('[data-cell="4"]')
    expect(bob.locator("#status")).to_have_text("Your move")
    bob.click('[data-cell="0"]')
    expect(alice.locator("#seat-X .seat-clock")).to_have_class(re.compile("is-running"))
    alice.click('[data-cell="8"]')
    expect(bob.locator("#status")).to_have_text("Your move")
    expect(bob.locator("#seat-O .seat-clock")).to_have_class(re.compile("is-running"))
    expect(bob.locator("#seat-X .seat-clock")).not_to_have_class(re.compile("is-running"))
    screenshot(bob, "clocks-running.png")
    # bob's 15 s run out at once: the server's referee, not any page, ends the game.
    now = datetime.now(UTC)
    update_playing_game(server, code, turn_started_at=now - timedelta(seconds=60), deadline=now - timedelta(seconds=45))
    expect(alice.locator("#status")).to_have_text("bob ran out of time — you win!", timeout=20_000)
    expect(bob.locator("#status")).to_have_text("You ran out of time — alice wins")
    expect(carol.locator("#status")).to_have_text("bob ran out of time — alice wins")
    expect(carol.locator("#seat-O .seat-clock")).to_have_text("0:00.0")
    expect(carol.locator("#seat-O .seat-clock")).to_have_class(re.compile("is-low"))
    expect(carol.locator("#seat-X .seat-clock")).to_be_visible()
    screenshot(alice, "clocks-timeout.png")


def test_a_player_whose_opponent_closes_the_tab_sees_a_countdown_then_claims_the_win(
    server: LiveServer, new_context: NewContext
) -> None:
    alice, bob, code = two_players(server, new_context, "Claim", absence_seconds=10)
    carol = new_context().new_page()
    carol.goto(f"{server.url}/rooms/{code}/")
    for mover, cell in [(alice, 0), (bob, 4), (alice, 8)]:  # both have moved: a claim, not an abort
        expect(mover.locator("#status")).to_have_text("Your move")
        mover.click(f'[data-cell="{cell}"]')
    expect(bob.locator("#status")).to_have_text("Your move")
    bob.context.close()
    expect(alice.locator("#absent")).to_have_text(re.compile(r"bob left — you can claim the win in 0:(0\d|10)"))
    expect(carol.locator("#absent")).to_have_text(re.compile(r"bob left — 0:(0\d|10) to come back"))
    expect(alice.locator("#claim-win")).to_be_hidden()
    screenshot(alice, "absent-countdown.png")
    expect(alice.locator("#claim-win")).to_be_visible(timeout=20_000)
    expect(alice.locator("#claim-draw")).to_be_visible()
    expect(carol.locator("#claim-win")).to_be_hidden()  # a spectator is told, not asked
    screenshot(alice, "absent-claim.png")
    alice.click("#claim-win")
    expect(alice.locator("#status")).to_have_text("bob left — you win!")
    expect(carol.locator("#status")).to_have_text("bob left — alice wins")
    expect(alice.locator("#absent")).to_be_hidden()
    screenshot(alice, "absent-claimed.png")


def test_a_draw_offer_and_a_takeback_are_answered_from_the_page(server: LiveServer, new_context: NewContext) -> None:
    alice, bob, code = two_players(server, new_context, "Offers")
    carol = new_context().new_page()
    carol.goto(f"{server.url}/rooms/{code}/")
    alice.click('[data-cell="4"]')
    expect(alice.locator("#takeback")).to_be_visible()
    expect(bob.locator("#takeback")).to_be_hidden()  # bob has no move to take back
    alice.click("#takeback")
    expect(alice.locator("#takeback")).to_have_text("Take-back asked…")
    expect(bob.locator("#offer")).to_contain_text("alice asks to take back their last move")
    expect(carol.locator("#offer")).to_contain_text("alice asks to take back their last move")
    expect(carol.locator("#accept-offer")).to_be_hidden()
    bob.click("#accept-offer")
    expect(alice.locator('[data-cell="4"]')).to_have_text("")
    expect(alice.locator("#status")).to_have_text("Your move")
    alice.click('[data-cell="0"]')
    expect(bob.locator("#status")).to_have_text("Your move")
    bob.click('[data-cell="8"]')  # both have moved: an agreed draw counts in the series
    expect(alice.locator("#status")).to_have_text("Your move")
    bob.click("#offer-draw")
    expect(bob.locator("#offer-draw")).to_have_text("Draw offered…")
    expect(alice.locator("#offer")).to_contain_text("bob offers a draw")
    screenshot(alice, "draw-offer.png")
    alice.click("#decline-offer")
    expect(alice.locator("#offer")).to_be_hidden()
    expect(bob.locator("#offer-draw")).to_have_text("Offer draw")
    bob.click("#offer-draw")
    alice.click("#accept-offer")
    for page in (alice, bob, carol):
        expect(page.locator("#status")).to_have_text("Draw agreed")
    expect(carol.locator("#series")).to_have_text("alice 0 – 0 bob, 1 draw")


def test_chat_comes_back_after_a_reload_still_as_text(server: LiveServer, new_context: NewContext) -> None:
    alice, bob, _ = two_players(server, new_context, "Chatty")
    alice.fill("#chat-input", "<b>gg</b>")
    alice.press("#chat-input", "Enter")
    expect(bob.locator("#chat-log")).to_contain_text("<b>gg</b>")
    bob.reload()
    expect(bob.locator("#chat-log .chat-line")).to_have_count(1)
    expect(bob.locator("#chat-log")).to_contain_text("alice")
    expect(bob.locator("#chat-log .chat-text")).to_have_text("<b>gg</b>")
    assert bob.locator("#chat-log b").count() == 0
    screenshot(bob, "chat-after-reload.png")


def test_a_move_lost_with_its_socket_is_sent_again_once_with_the_same_id(
    server: LiveServer, new_context: NewContext
) -> None:
    alice = new_context().new_page()
    code = create_room(alice, server, "Once")
    bob = new_context().new_page()
    moves_sent: list[dict[str, object]] = []

    def lose_the_first_move_and_the_socket(page_socket: WebSocketRoute) -> None:
        server_socket = page_socket.connect_to_server()

        def to_server(message: str | bytes) -> None:
            data = json.loads(message)
            if data.get("type") == "move":
                moves_sent.append(data)
                if len(moves_sent) == 1:  # the connection dies with the move on it
                    page_socket.close(code=4000)
                    server_socket.close()
                    return
            server_socket.send(message)

        page_socket.on_message(to_server)

    bob.route_web_socket(re.compile(r"/ws/rooms/"), lose_the_first_move_and_the_socket)
    bob.goto(f"{server.url}/rooms/{code}/")
    join(bob, "bob")
    alice.click('[data-cell="0"]')
    expect(bob.locator("#status")).to_have_text("Your move")
    bob.click('[data-cell="4"]')
    expect(alice.locator('[data-cell="4"]')).to_have_text("O")
    expect(alice.locator("#status")).to_have_text("Your move")
    expect(bob.locator('[data-cell="4"]')).to_have_text("O")
    assert len(moves_sent) == 2
    assert moves_sent[0] == moves_sent[1] == {"type": "move", "cell": 4, "id": moves_sent[0]["id"]}
    assert board_of(alice, 3).count("O") == 1


def test_a_finished_game_replays_every_position_with_the_keyboard_and_the_slider(
    server: LiveServer, new_context: NewContext
) -> None:
    # alice (X) forks with 6 and wins down the left column; bob (O) blocks once.
    moves = [4, 1, 0, 8, 6, 2, 3]
    alice, bob, code = two_players(server, new_context, "Replayed")
    for position, cell in enumerate(moves):
        mover = alice if position % 2 == 0 else bob
        expect(mover.locator("#status")).to_have_text("Your move")
        mover.click(f'[data-cell="{cell}"]')
    expect(bob.locator("#status")).to_have_text("alice wins")
    expect(alice.locator("#past-games")).to_have_attribute("href", f"/rooms/{code}/games/")
    positions = [["X" if index % 2 == 0 else "O" for index in range(step)] for step in range(len(moves) + 1)]
    boards = [["", "", "", "", "", "", "", "", ""] for _ in positions]
    for step, marks in enumerate(positions):
        for index, mark in enumerate(marks):
            boards[step][moves[index]] = mark

    # A visitor with no session: from the room's past games to the game's page.
    page = new_context().new_page()
    page.goto(f"{server.url}/rooms/{code}/games/")
    expect(page.locator(".room-row")).to_have_count(1)
    page.click(".room-link")
    page.wait_for_url(re.compile(r"/games/\d+/$"))
    expect(page.locator("#result")).to_have_text("alice wins (three in a row)")
    expect(page.locator(".room-title")).to_have_text("alice vs bob")
    expect(page.locator("#share-link")).to_have_value(page.url)
    board = page.locator("#board")

    def shows(step: int) -> None:
        expect(board).to_have_attribute("data-position", str(step))
        assert board_of(page, 3) == boards[step], f"position {step}"
        expect(page.locator("#replay-slider")).to_have_value(str(step))
        if step:
            mark = "X" if (step - 1) % 2 == 0 else "O"
            expect(page.locator("#position")).to_have_text(re.compile(rf"^Move {step} of 7: {mark} r\dc\d$"))
            expect(page.locator(".cell.is-last")).to_have_attribute("data-cell", str(moves[step - 1]))
        else:
            expect(page.locator("#position")).to_have_text(re.compile(r"^Start: empty board"))
            expect(page.locator(".cell.is-last")).to_have_count(0)

    shows(7)  # the page opens on the last position, the winning line marked
    expect(page.locator(".cell.is-win")).to_have_count(3)
    assert [page.locator(".cell.is-win").nth(i).get_attribute("data-cell") for i in range(3)] == ["0", "3", "6"]
    page.keyboard.press("Home")
    shows(0)
    page.keyboard.press("ArrowLeft")  # nothing before the start
    shows(0)
    for step in range(1, len(moves) + 1):
        page.keyboard.press("ArrowRight")
        shows(step)
        if step < len(moves):
            expect(page.locator(".cell.is-win")).to_have_count(0)
    page.keyboard.press("ArrowRight")  # nothing after the end
    shows(7)
    for step in range(len(moves) - 1, -1, -1):
        page.keyboard.press("ArrowLeft")
        shows(step)
    page.keyboard.press("End")
    shows(7)

    # The slider: its own arrow keys, and dragging it to any position.
    slider = page.locator("#replay-slider")
    slider.focus()
    page.keyboard.press("Home")
    shows(0)
    page.keyboard.press("ArrowRight")
    shows(1)
    for step in (5, 2, 7):
        slider.fill(str(step))
        shows(step)
    page.click("#replay-prev")
    shows(6)
    page.click('[data-step="3"]')  # a move in the list
    shows(3)
    expect(page.locator('[data-step="3"]')).to_have_attribute("aria-current", "step")
    page.click("#replay-last")
    shows(7)
    screenshot(page, "replay.png")


def test_signing_in_mid_game_from_the_header_keeps_the_seat(server: LiveServer, new_context: NewContext) -> None:
    # An account made earlier, in another browser.
    other = new_context().new_page()
    other.goto(server.url + "/accounts/signup/")
    other.fill("#id_username", "alice_account")
    other.fill("#id_password1", "alice plays tictac 7")
    other.fill("#id_password2", "alice plays tictac 7")
    other.click("#signup-submit")
    expect(other.locator("#account-name")).to_have_text("alice_account")

    alice = new_context().new_page()
    code = create_room(alice, server, "Sign in mid-game")
    bob = new_context().new_page()
    bob.goto(f"{server.url}/rooms/{code}/")
    join(bob, "bob")
    expect(alice.locator("#status")).to_have_text("Your move")

    alice.click("#sign-in")  # from the room page's header
    alice.fill("#id_username", "alice_account")
    alice.fill("#id_password", "alice plays tictac 7")
    alice.click("#login-submit")
    alice.wait_for_url(f"{server.url}/rooms/{code}/")  # back to the room
    expect(alice.locator("#account-name")).to_have_text("alice_account")
    expect(alice.locator("#seat-X .seat-you")).to_be_visible()
    expect(alice.locator("#seat-X .seat-name")).to_have_text("alice")
    expect(alice.locator("#status")).to_have_text("Your move")
    alice.click('[data-cell="4"]')
    expect(bob.locator('[data-cell="4"]')).to_have_text("X")
    expect(bob.locator("#status")).to_have_text("Your move")
    screenshot(alice, "signed-in-mid-game.png")

    alice.click("#profile-link")
    expect(alice.locator("#profile-title")).to_have_text("alice_account")
    screenshot(alice, "profile.png")


def test_a_lone_visitor_plays_the_computer_from_the_lobby(server: LiveServer, new_context: NewContext) -> None:
    alice = new_context().new_page()
    alice.goto(server.url + "/")
    alice.select_option("#play-computer-level", "perfect")
    alice.click("#play-computer")
    alice.wait_for_url(re.compile(r"/rooms/[A-Za-z0-9_-]+/$"))
    expect(alice.locator("#seat-O .seat-name")).to_have_text("Computer (perfect)")
    expect(alice.locator("#status")).to_have_text("Your move")
    alice.click('[data-cell="0"]')
    # The computer answers through the same rules: a second mark appears and the turn comes back.
    expect(alice.locator('[data-cell][data-mark="O"]')).to_have_count(1)
    expect(alice.locator("#status")).to_have_text("Your move")
    assert board_of(alice, 3)[4] == "O"  # the perfect answer to a corner is the centre
    screenshot(alice, "computer.png")


def test_a_room_page_refused_for_its_address_stops_retrying_and_says_why(
    server: LiveServer, browser: Browser, new_context: NewContext
) -> None:
    alice = new_context().new_page()
    code = create_room(alice, server, "Elsewhere")
    # A browser that finds this server under another name, one that is not an allowed host:
    # its pages come through the route below; its sockets reach the server (through the socket
    # route below, which notes each), whose Origin check accepts them only to close them with
    # 4403, which the page can read (a 403 reads as 1006).
    # (Chromium would not let a page of a public-looking name open a socket to 127.0.0.1.)
    elsewhere = browser.browser_type.launch(
        executable_path=chromium_path(),
        args=[
            *CHROMIUM_ARGS,
            "--host-resolver-rules=MAP refused.test 127.0.0.1",
            "--disable-features=LocalNetworkAccessChecks",
        ],
    )
    try:
        page = elsewhere.new_page()
        page.set_default_timeout(10_000)
        page.route(
            re.compile(r"^http://refused\.test:"),
            lambda route: route.fulfill(
                response=route.fetch(url=route.request.url.replace("refused.test", "127.0.0.1"))
            ),
        )
        sockets: list[str] = []

        def to_the_server(page_socket: WebSocketRoute) -> None:
            sockets.append(page_socket.url)
            page_socket.connect_to_server()

        page.route_web_socket(re.compile(r"/ws/rooms/"), to_the_server)
        page.clock.install()  # the page's timers, its reconnect backoff among them, run when told below
        page.goto(f"http://refused.test:{server.port}/rooms/{code}/")
        expect(page.locator("#status")).to_have_text(
            f"The server does not accept connections from this page’s address (refused.test:{server.port})."
            " Open the game at its usual address."
        )
        expect(page.locator("#room")).to_have_attribute("data-link", "final")
        expect(page.locator("#seat-X .seat-name")).to_have_text("alice")  # the page's own copy of the room stays
        expect(page.locator("#chat-input")).to_be_disabled()
        screenshot(page, "refused-origin.png")
        # Twice the longest backoff on the page's clock: a retry would have opened its socket, and
        # reached the route above, by the time run_page_clock returns.
        run_page_clock(page, 2 * RECONNECT_MAX_MS)
        assert sockets == [f"ws://refused.test:{server.port}/ws/rooms/{code}/"]
    finally:
        elsewhere.close()


def test_the_lobby_lists_rooms_before_its_feed_and_stops_on_a_refusal(
    server: LiveServer, new_context: NewContext
) -> None:
    host = new_context().new_page()
    code = create_room(host, server, "Listed at once", player_name="host")
    lobby = new_context().new_page()
    attempts: list[str] = []

    def refuse(page_socket: WebSocketRoute) -> None:
        attempts.append(page_socket.url)
        page_socket.close(code=4403)

    lobby.route_web_socket(re.compile(r"/ws/lobby/"), refuse)
    lobby.clock.install()  # the page's timers, its reconnect backoff among them, run when told below
    lobby.goto(server.url + "/")
    expect(lobby.locator(f'[data-room="{code}"]')).to_contain_text("host vs —")  # drawn from the page's own data
    expect(lobby.locator("#lobby-live")).to_have_attribute("data-state", "final")
    expect(lobby.locator("#lobby-live")).to_have_text("Not live")
    expect(lobby.locator("#lobby-stopped")).to_contain_text("does not accept connections from this page’s address")
    screenshot(lobby, "lobby-refused.png")
    # Twice the longest backoff on the page's clock: a retry would have opened its socket, and
    # reached the route above, by the time run_page_clock returns.
    run_page_clock(lobby, 2 * RECONNECT_MAX_MS)
    assert len(attempts) == 1


def test_the_room_page_gives_up_only_on_the_close_codes_that_mean_so(
    server: LiveServer, new_context: NewContext
) -> None:
    alice = new_context().new_page()
    code = create_room(alice, server, "Codes")
    page = new_context().new_page()
    closing = {"code": 0}
    attempts: list[int] = []

    def close_at_once(page_socket: WebSocketRoute) -> None:
        attempts.append(closing["code"])
        page_socket.close(code=closing["code"])

    page.route_web_socket(re.compile(r"/ws/rooms/"), close_at_once)
    page.clock.install()  # the page's timers, its reconnect backoff among them, run when told below
    final = {
        4404: "This room does not exist.",
        4410: "This room was closed by the host.",
        1009: "This page sent the server a message that was too big. Reload the page to carry on.",
    }
    for closing["code"], reason in final.items():
        page.goto(f"{server.url}/rooms/{code}/")
        expect(page.locator("#status")).to_have_text(reason)
        expect(page.locator("#room")).to_have_attribute("data-link", "final")
        # A first retry would come within 0.5 s of the page's clock, any within its longest backoff:
        # it would have reached the route above by the time run_page_clock returns.
        run_page_clock(page, 2 * RECONNECT_MAX_MS)
        assert attempts.count(closing["code"]) == 1
    closing["code"] = 1011  # the server could not set the socket up: try again, with backoff
    page.goto(f"{server.url}/rooms/{code}/")
    expect(page.locator("#status")).to_have_text("Reconnecting…")

    # Each retry waits for the route to close the one before, so the page's clock runs in steps.
    def tried_three_times() -> bool:
        page.clock.run_for(1000)  # a second of the page's clock: retries come after 0.25-0.5 s, then 0.5-1 s more
        return attempts.count(1011) >= 3

    until(tried_three_times, message=lambda: f"a third attempt after 1011 (attempts: {attempts})")
