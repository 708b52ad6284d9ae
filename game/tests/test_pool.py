"""Quick play's pool: POST /play/, the waiting page, its socket and the seeks in Redis (in process)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client

import game.realtime.seeks
import game.web.pool_consumer
from game.actions import identities, rooms, seating, write
from game.domain.pools import DEFAULT, Pool
from game.models import Game, Player, Room, session_hash
from game.realtime.presence import RedisPresence, presence
from game.realtime.seeks import SEEK_TTL_SECONDS, MemorySeeks, RedisSeeks, Seeker, SeekStore, seeks
from game.storage import session_lifetime
from testing.clients import Socket, unused_address

BLITZ = Pool.parse("3x3-budget:60+2")


@pytest.fixture(autouse=True)
def empty_pools() -> None:
    """Every test starts with no seek in Redis (an earlier test's may still be there, unexpired)."""
    store = presence()
    assert isinstance(store, RedisPresence)
    client = store.shards.blocking_client(RedisSeeks(store.shards).shard)
    for key in client.scan_iter("tictac:seeks:*"):
        client.delete(key)


@database_sync_to_async
def seeker_session(name: str | None = None) -> str:
    """A stored idle session, as POST /play/ leaves it: with the name typed there, if any."""
    session = SessionStore()
    session["visitor"] = True
    if name:
        session[session_lifetime.PLAYER_NAME_KEY] = name
    session_lifetime.start_idle(session)
    session.create()
    assert session.session_key is not None
    return session.session_key


@pytest.fixture
async def seek(transactional_db: None) -> AsyncIterator[Callable[..., Awaitable[Socket]]]:
    """Open seek sockets (connected, nothing read); every one is closed after the test."""
    opened: list[Socket] = []

    async def open_(pool: Pool | str, session_key: str | None, forwarded_for: str | None = None) -> Socket:
        key = pool.key if isinstance(pool, Pool) else pool
        socket = Socket(f"/ws/play/{key}/", session_key, forwarded_for=forwarded_for)
        await socket.connect()
        opened.append(socket)
        return socket

    yield open_
    for socket in opened:
        await socket.close()


async def refused_with(socket: Socket) -> tuple[str, int]:
    """The error code a refused seek socket is told, and the close code that follows it."""
    error = await socket.next_message("error")
    return error["code"], await socket.close_code()


count_rows = database_sync_to_async(lambda: (Room.objects.count(), Player.objects.count(), Game.objects.count()))


async def test_two_seekers_of_one_pool_are_seated_against_each_other_in_a_room_with_the_pools_clock(
    seek: Callable[..., Awaitable[Socket]],
) -> None:
    alice_key, bob_key = await seeker_session("alice"), await seeker_session("bob")
    alice = await seek(DEFAULT, alice_key)
    assert await alice.receive() == {"type": "seeking", "pool": DEFAULT.key, "waiting": 1}
    bob = await seek(DEFAULT, bob_key)
    told_bob, told_alice = await bob.next_message("paired"), await alice.next_message("paired")
    assert told_alice == told_bob
    code = told_bob["room"]
    assert told_bob["url"] == f"/rooms/{code}/"
    assert await alice.close_code() == await bob.close_code() == 1000

    @database_sync_to_async
    def the_room() -> tuple[Room, Game]:
        room = Room.objects.get(code=code)
        return room, write.current_game(room)

    room, game = await the_room()
    assert (room.name, room.size, room.win_length, room.time_control) == ("Quick play", 3, 3, "move:15")
    assert game.status == "playing"
    assert game.player_x is not None
    assert game.player_o is not None
    seated = {game.player_x.session_hash: game.player_x.name, game.player_o.session_hash: game.player_o.name}
    assert seated == {session_hash(alice_key): "alice", session_hash(bob_key): "bob"}
    assert game.deadline is not None  # the pool's clock runs for X's first move
    # A seat keeps the session for its full age, as any seat does.
    kept = await database_sync_to_async(
        lambda: [SessionStore(key).get("_session_expiry") for key in (alice_key, bob_key)]
    )()
    assert kept == [None, None]


async def test_a_seeker_in_another_pool_is_not_paired(seek: Callable[..., Awaitable[Socket]]) -> None:
    alice = await seek(DEFAULT, await seeker_session())
    assert (await alice.receive())["type"] == "seeking"
    bob = await seek(BLITZ, await seeker_session())
    assert await bob.receive() == {"type": "seeking", "pool": BLITZ.key, "waiting": 1}
    assert await count_rows() == (0, 0, 0)


async def test_one_session_seeking_in_two_tabs_is_never_paired_with_itself_and_both_tabs_go_to_the_game(
    seek: Callable[..., Awaitable[Socket]],
) -> None:
    key = await seeker_session("alice")
    first, second = await seek(DEFAULT, key), await seek(DEFAULT, key)
    assert (await first.receive())["waiting"] == 1
    assert (await second.receive())["waiting"] == 1  # one seek, shared by the tabs
    assert await count_rows() == (0, 0, 0)
    bob = await seek(DEFAULT, await seeker_session("bob"))
    code = (await bob.next_message("paired"))["room"]
    assert (await first.next_message("paired"))["room"] == (await second.next_message("paired"))["room"] == code


async def test_a_lone_seek_makes_no_room_player_or_game(seek: Callable[..., Awaitable[Socket]]) -> None:
    socket = await seek(DEFAULT, await seeker_session("alone"))
    assert (await socket.receive())["type"] == "seeking"
    await socket.send({"type": "ping"})
    assert (await socket.receive())["type"] == "pong"  # the socket is served, and still only waits
    assert await count_rows() == (0, 0, 0)


async def test_a_closed_seek_socket_leaves_the_pool_so_nobody_is_paired_with_it(
    seek: Callable[..., Awaitable[Socket]],
) -> None:
    gone = await seek(DEFAULT, await seeker_session("gone"))
    assert (await gone.receive())["type"] == "seeking"
    await gone.close()
    later = await seek(DEFAULT, await seeker_session("later"))
    assert await later.receive() == {"type": "seeking", "pool": DEFAULT.key, "waiting": 1}
    assert await count_rows() == (0, 0, 0)


async def test_seeking_in_another_pool_replaces_the_sessions_seek_and_stops_its_other_tab(
    seek: Callable[..., Awaitable[Socket]],
) -> None:
    key = await seeker_session()
    first = await seek(DEFAULT, key)
    assert (await first.receive())["type"] == "seeking"
    second = await seek(BLITZ, key)
    assert (await second.receive())["type"] == "seeking"
    assert await refused_with(first) == ("seek_replaced", 4409)
    # The replaced seek is out of its pool: a newcomer there waits.
    newcomer = await seek(DEFAULT, await seeker_session())
    assert await newcomer.receive() == {"type": "seeking", "pool": DEFAULT.key, "waiting": 1}


async def test_two_seekers_with_one_name_are_seated_with_the_second_numbered(
    seek: Callable[..., Awaitable[Socket]],
) -> None:
    first = await seek(DEFAULT, await seeker_session("sam"))
    await first.receive()
    second = await seek(DEFAULT, await seeker_session("sam"))
    code = (await second.next_message("paired"))["room"]
    names = await database_sync_to_async(
        lambda: sorted(
            player.name
            for player in (write.current_game(Room.objects.get(code=code)).player(mark) for mark in "XO")
            if player is not None
        )
    )()
    assert names == ["sam", "sam 2"]


async def test_a_session_already_in_a_quick_play_game_is_sent_back_to_it_by_the_seek_socket(
    seek: Callable[..., Awaitable[Socket]],
) -> None:
    alice_key = await seeker_session("alice")
    await (await seek(DEFAULT, alice_key)).receive()
    code = (await (await seek(DEFAULT, await seeker_session("bob"))).next_message("paired"))["room"]
    again = await seek(BLITZ, alice_key)
    assert await again.receive() == {"type": "paired", "room": code, "url": f"/rooms/{code}/"}


async def test_a_seek_socket_without_a_session_or_with_an_unknown_pool_is_refused(
    seek: Callable[..., Awaitable[Socket]],
) -> None:
    assert await refused_with(await seek(DEFAULT, None)) == ("no_session", 4401)
    assert await refused_with(await seek(DEFAULT, "no-such-session-key")) == ("no_session", 4401)
    for key in ("3x3-none", "3x3", "3x9-move:15", "nonsense"):
        assert await refused_with(await seek(key, await seeker_session())) == ("unknown_pool", 4404)
    assert await count_rows() == (0, 0, 0)


async def test_seeks_from_one_address_are_capped_over_every_session(
    seek: Callable[..., Awaitable[Socket]], tight: dict[str, Any], settings: Any, address: str
) -> None:
    settings.TRUSTED_PROXY_COUNT = 1  # the address is the proxy's X-Forwarded-For
    tight["MAX_SEEKS_PER_ADDRESS"] = 2
    # Two seekers from one address who want different pools wait together ...
    for pool in (DEFAULT, BLITZ):
        assert (await (await seek(pool, await seeker_session(), address)).receive())["type"] == "seeking"
    # ... a third is refused, from that address alone.
    third = await seek(Pool.parse("7x4-budget:180+2"), await seeker_session(), address)
    assert await refused_with(third) == ("too_many_seeks", 4429)
    elsewhere = await seek(Pool.parse("7x4-budget:180+2"), await seeker_session(), unused_address())
    assert (await elsewhere.receive())["type"] == "seeking"


async def test_seek_connects_from_one_address_are_budgeted(
    seek: Callable[..., Awaitable[Socket]], tight: dict[str, Any], settings: Any, address: str
) -> None:
    settings.TRUSTED_PROXY_COUNT = 1
    tight["BUDGETS"]["seek_connects_per_address"] = (2, 60)
    key = await seeker_session()
    for _ in range(2):
        socket = await seek(DEFAULT, key, address)
        assert (await socket.receive())["type"] == "seeking"
        await socket.close()
    assert await refused_with(await seek(DEFAULT, key, address)) == ("rate_limited", 4429)


# --- The store itself, in Redis and in one process ------------------------------------------------


@pytest.fixture(params=["redis", "memory"])
def store(request: pytest.FixtureRequest) -> SeekStore:
    if request.param == "memory":
        return MemorySeeks()
    return seeks()


async def test_a_new_seek_pairs_with_the_oldest_seek_of_another_session_and_account(store: SeekStore) -> None:
    first = Seeker("first", user_id=1, name="a")
    same_account = Seeker("same-account", user_id=1, name="b")
    assert (await store.seek(DEFAULT.key, first, "channel-1")).status == "waiting"
    # Another session of the same account is not an opponent.
    assert (await store.seek(DEFAULT.key, same_account, "channel-2")).waiting == 2
    paired = await store.seek(DEFAULT.key, Seeker("third", user_id=2, name="c"), "channel-3")
    assert paired.status == "paired"
    assert paired.partner == Seeker("first", 1, "a", None, ("channel-1",))
    assert paired.mine == Seeker("third", 2, "c", None, ("channel-3",))
    paired = await store.seek(DEFAULT.key, Seeker("fourth", user_id=None, name=None), "channel-4")
    assert paired.partner is not None
    assert paired.partner.session == "same-account"
    assert await store.refresh(DEFAULT.key, "fourth", "channel-4") is None  # paired: out of the pool


async def test_a_seek_stays_while_one_of_its_sockets_does(store: SeekStore) -> None:
    seeker = Seeker("two-tabs", user_id=None, name=None)
    await store.seek(DEFAULT.key, seeker, "tab-1")
    await store.seek(DEFAULT.key, seeker, "tab-2")
    await store.leave(DEFAULT.key, "two-tabs", "tab-1")
    assert await store.refresh(DEFAULT.key, "two-tabs", "tab-2") == 1
    await store.leave(DEFAULT.key, "two-tabs", "tab-2")
    assert (await store.seek(DEFAULT.key, Seeker("next", None, None), "next-1")).status == "waiting"


async def test_a_seek_not_refreshed_within_its_ttl_is_dead_and_one_refreshed_is_not(
    store: SeekStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    start = 1_800_000_000_000
    ttl_ms = SEEK_TTL_SECONDS * 1000
    monkeypatch.setattr(game.realtime.seeks, "_now_ms", lambda: start)
    await store.seek(DEFAULT.key, Seeker("stale", None, None), "stale-1")
    await store.seek(BLITZ.key, Seeker("refreshed", None, None), "refreshed-1")
    monkeypatch.setattr(game.realtime.seeks, "_now_ms", lambda: start + ttl_ms - 1)
    assert await store.refresh(BLITZ.key, "refreshed", "refreshed-1") == 1
    # Its process died: "stale" is never refreshed again, and is not an opponent once its TTL is over.
    monkeypatch.setattr(game.realtime.seeks, "_now_ms", lambda: start + ttl_ms + 1)
    late = await store.seek(DEFAULT.key, Seeker("late", None, None), "late-1")
    assert (late.status, late.waiting) == ("waiting", 1)
    paired = await store.seek(BLITZ.key, Seeker("another", None, None), "another-1")
    assert paired.partner is not None
    assert paired.partner.session == "refreshed"


async def test_a_waiting_socket_keeps_its_seek_and_hears_how_many_wait(
    seek: Callable[..., Awaitable[Socket]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(game.web.pool_consumer, "REFRESH_EVERY_SECONDS", 0.01)
    first = await seek(DEFAULT, await seeker_session())
    assert (await first.receive())["waiting"] == 1
    second = await seek(BLITZ, await seeker_session())
    assert (await second.receive())["waiting"] == 1
    third = await seek(BLITZ, await seeker_session())
    code = (await third.next_message("paired"))["room"]
    assert (await second.next_message("paired"))["room"] == code
    # first's refreshes go on while it waits, each saying how many wait in its pool.
    assert await first.next_message("seeking") == {"type": "seeking", "pool": DEFAULT.key, "waiting": 1}


# --- POST /play/ and the waiting page ---------------------------------------------------------------


@pytest.mark.django_db
def test_quick_play_sends_the_visitor_to_wait_in_the_pool_asked_for_and_remembers_their_name(client: Client) -> None:
    response = client.post("/play/", {"name": "dora"})
    assert response.status_code == 302
    assert response["Location"] == f"/play/{DEFAULT.key}/"
    assert client.post("/play/", {"pool": BLITZ.key})["Location"] == f"/play/{BLITZ.key}/"
    assert client.get("/").context["player_name"] == "dora"
    # A seek makes no row, and the session stays an idle visitor's until it takes a seat.
    assert (Room.objects.count(), Player.objects.count(), Game.objects.count()) == (0, 0, 0)
    assert client.session.get_expiry_age() <= django_settings.TICTAC_IDLE_SESSION_SECONDS


@pytest.mark.django_db
def test_quick_play_refuses_a_pool_that_does_not_exist(client: Client) -> None:
    for key in ("3x3-none", "huge", "99x99-move:15"):
        response = client.post("/play/", {"pool": key})
        assert response.status_code == 400
        assert "no such quick-play pool" in response.content.decode()


@pytest.mark.django_db
def test_the_waiting_page_names_its_pool_and_needs_the_session_quick_play_gave(client: Client) -> None:
    assert client.get(f"/play/{DEFAULT.key}/")["Location"] == "/"
    client.post("/play/")
    page = client.get(f"/play/{BLITZ.key}/")
    assert page.status_code == 200
    assert "Looking for an opponent — 3×3 · 1+2" in page.content.decode()
    assert f'data-ws-path="/ws/play/{BLITZ.key}/"' in page.content.decode()
    assert client.get("/play/3x3-none/").status_code == 404
    assert client.get("/play/nonsense/").status_code == 404


@pytest.mark.django_db
def test_quick_play_sends_a_session_that_sits_in_a_quick_play_game_back_to_it(client: Client) -> None:
    client.post("/play/", {"name": "erin"})
    other = SessionStore()
    other.create()
    assert other.session_key is not None
    assert client.session.session_key is not None
    mine = rooms.PairedSeeker(session_hash(client.session.session_key), None, "erin")
    theirs = rooms.PairedSeeker(session_hash(other.session_key), None, "fred")
    room, _ = rooms.start_paired_game(mine, theirs, size=3, win_length=3, time_control="move:15")
    assert client.post("/play/", {"pool": BLITZ.key})["Location"] == f"/rooms/{room.code}/"


@pytest.mark.django_db
def test_a_room_a_host_named_quick_play_is_not_where_quick_play_sends_its_players(client: Client) -> None:
    client.post("/play/", {"name": "erin"})
    assert client.session.session_key is not None
    host = get_user_model().objects.create_user("host")
    hosts_room = rooms.create_room(name=rooms.QUICK_PLAY_NAME, host_id=host.pk, time_control="move:15")
    seating.join(hosts_room, identities.Identity(session_key=client.session.session_key), "erin")
    assert client.post("/play/", {"pool": BLITZ.key})["Location"] == f"/play/{BLITZ.key}/"


@pytest.mark.django_db
def test_quick_play_is_budgeted_per_session(client: Client, tight: dict[str, Any], address: str) -> None:
    tight["BUDGETS"]["seeks_per_session"] = (2, 3600)
    client = Client(REMOTE_ADDR=address)
    assert [client.post("/play/").status_code for _ in range(3)] == [302, 302, 429]
    assert "many quick games lately" in client.post("/play/").content.decode()
    assert Client(REMOTE_ADDR=address).post("/play/").status_code == 302  # a new session has its own


@pytest.mark.django_db
def test_quick_play_is_budgeted_per_address_with_a_cookie_or_without(tight: dict[str, Any], address: str) -> None:
    tight["BUDGETS"]["seeks_per_address"] = (3, 3600)
    keeper = Client(REMOTE_ADDR=address)  # keeps its cookie: one session
    assert [keeper.post("/play/").status_code for _ in range(2)] == [302, 302]
    assert Client(REMOTE_ADDR=address).post("/play/").status_code == 302  # no cookie: a new session
    assert keeper.post("/play/").status_code == 429
    refused = Client(REMOTE_ADDR=address)
    assert refused.post("/play/").status_code == 429
    assert "sessionid" not in refused.cookies  # refused before a session is made for it
    assert Client(REMOTE_ADDR=unused_address()).post("/play/").status_code == 302
