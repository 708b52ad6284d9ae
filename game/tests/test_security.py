"""Safe to run in public: headers, /metrics access, sign-in lockouts, idle sessions, error pages, socket origins."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import redis.exceptions
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.template import loader
from django.test import Client, RequestFactory, override_settings
from django.utils import timezone

from game.actions import rooms
from game.storage import session_lifetime
from game.web.access import client_address
from tictac.errors import RedisUnavailableMiddleware
from tictac.origin import AllowedHostsOnly

ROOT = Path(__file__).resolve().parents[2]
DAY = 24 * 60 * 60
YEAR = 365 * DAY


# --- headers -----------------------------------------------------------------


@pytest.mark.django_db
def test_every_page_has_a_strict_content_security_policy_and_a_permissions_policy(client: Client) -> None:
    room = rooms.create_room(name="Headers")
    for path in ("/", f"/rooms/{room.code}/", "/rooms/nosuchroom/", "/admin/login/"):
        response = client.get(path)
        policy = dict(part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";"))
        assert policy["default-src"] == "'self'", path
        assert policy["frame-ancestors"] == "'none'", path
        assert policy["object-src"] == "'none'", path
        assert "unsafe-inline" not in response["Content-Security-Policy"], path
        assert "script-src" not in policy  # scripts fall back to default-src 'self'
        assert "camera=()" in response["Permissions-Policy"], path
        assert "geolocation=()" in response["Permissions-Policy"], path


@pytest.mark.django_db
def test_the_pages_run_no_inline_script_the_policy_would_block(client: Client) -> None:
    room = rooms.create_room(name="Inline")
    for path in ("/", f"/rooms/{room.code}/", "/rooms/nosuchroom/"):
        html = client.get(path).content.decode()
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert " src=" in tag or 'type="application/json"' in tag, (path, tag)
        assert not re.search(r"\son[a-z]+\s*=", html), path  # no inline event handlers
        assert not re.search(r"\sstyle\s*=", html), path  # no inline style attributes
        assert "<style" not in html, path


def _hsts_header(**env: str) -> str:
    """The Strict-Transport-Security header of an HTTPS response, in a fresh process with ``env``."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    environment.update(
        DJANGO_SETTINGS_MODULE="tictac.settings",
        DJANGO_HTTPS="1",
        DJANGO_ALLOWED_HOSTS="testserver",
        DJANGO_SECRET_KEY="x" * 50,
        DJANGO_LOG_LEVEL="ERROR",
        **env,
    )
    script = (
        "from django.test import Client; print(Client().get('/nowhere/', secure=True)['Strict-Transport-Security'])"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip().splitlines()[-1]


@pytest.mark.slow  # a manage.py process per header
def test_hsts_is_sent_over_https_without_preload_or_subdomains_unless_asked() -> None:
    assert _hsts_header() == "max-age=31536000"
    asked = _hsts_header(DJANGO_HSTS_PRELOAD="1", DJANGO_HSTS_INCLUDE_SUBDOMAINS="1")
    assert asked == "max-age=31536000; includeSubDomains; preload"


# --- /metrics ----------------------------------------------------------------


@pytest.mark.django_db
def test_metrics_are_served_to_loopback_by_default(client: Client) -> None:
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="::1").status_code == 200


@pytest.mark.django_db
def test_metrics_are_refused_to_any_other_address_even_one_claiming_loopback(client: Client) -> None:
    response = client.get("/metrics", REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR="127.0.0.1")
    assert response.status_code == 403
    assert b"tictac_" not in response.content


@pytest.mark.django_db
@override_settings(METRICS_TOKEN="s3cret-token", METRICS_ALLOW=[])
def test_metrics_need_the_bearer_token_when_no_address_is_allowed(client: Client) -> None:
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403
    wrong = client.get("/metrics", REMOTE_ADDR="203.0.113.5", HTTP_AUTHORIZATION="Bearer guess")
    assert wrong.status_code == 403
    right = client.get("/metrics", REMOTE_ADDR="203.0.113.5", HTTP_AUTHORIZATION="Bearer s3cret-token")
    assert right.status_code == 200
    assert b"tictac_open_sockets" in right.content


@pytest.mark.django_db
@override_settings(METRICS_ALLOW=["10.0.0.0/8"])
def test_metrics_allow_list_takes_networks(client: Client) -> None:
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403


def test_the_client_address_is_the_connections_unless_proxies_are_trusted() -> None:
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.4")
    assert client_address(request) == "10.0.0.2"
    with override_settings(TRUSTED_PROXY_COUNT=1):
        assert client_address(request) == "198.51.100.4"  # what the one proxy saw, not what the client wrote
    with override_settings(TRUSTED_PROXY_COUNT=3):
        assert client_address(request) == "10.0.0.2"  # fewer hops than proxies: the header is not to be trusted


# --- sign-in lockouts (game/web/lockouts.py) ----------------------------------------


def _log_in(client: Client, username: str, password: str, address: str) -> int:
    response = client.post(
        "/admin/login/?next=/admin/", {"username": username, "password": password}, REMOTE_ADDR=address
    )
    return response.status_code


def _sign_in(username: str, password: str, address: str) -> int:
    """A player's sign-in from ``address``, in a browser of its own; the status code."""
    response = Client().post("/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=address)
    return response.status_code


@pytest.mark.django_db
def test_a_strangers_wrong_passwords_from_five_addresses_never_lock_the_owner_out() -> None:
    User.objects.create_user("alice", password="right-horse-battery")
    statuses = [_sign_in("alice", "wrong", f"198.51.100.{attempt}") for attempt in range(5)]
    assert statuses == [200] * 5  # each address failed once: nobody is locked
    assert _sign_in("alice", "right-horse-battery", "203.0.113.5") == 302  # alice, from her own address


@pytest.mark.django_db
def test_five_wrong_passwords_from_one_address_lock_that_address_and_username_only() -> None:
    User.objects.create_user("alice", password="right-horse-battery")
    User.objects.create_user("bob", password="staple-correct-horse")
    statuses = [_sign_in("alice", "wrong", "198.51.100.7") for _ in range(5)]
    assert statuses == [200, 200, 200, 200, 429]  # the form again, then the lockout
    assert _sign_in("alice", "right-horse-battery", "198.51.100.7") == 429
    assert _sign_in("bob", "staple-correct-horse", "198.51.100.7") == 302  # another account from there
    assert _sign_in("alice", "right-horse-battery", "198.51.100.8") == 302  # alice from elsewhere


@pytest.mark.django_db
def test_the_admin_locks_an_address_after_five_failures_whatever_the_usernames() -> None:
    User.objects.create_superuser("host", "host@example.com", "right-horse-battery")
    User.objects.create_user("carol", password="staple-correct-horse")
    client = Client()
    statuses = [_log_in(client, f"guess{attempt}", "wrong", "198.51.100.7") for attempt in range(5)]
    assert statuses == [200, 200, 200, 200, 429]
    assert _log_in(client, "host", "right-horse-battery", "198.51.100.7") == 429
    assert _log_in(Client(), "host", "right-horse-battery", "198.51.100.8") == 302  # another address may
    # The players' sign-in is not the admin's: five guesses at five usernames lock none of them there.
    assert _sign_in("carol", "staple-correct-horse", "198.51.100.7") == 302


@pytest.mark.django_db
def test_failures_at_the_players_sign_in_count_for_the_admins_rule_of_that_address() -> None:
    User.objects.create_superuser("host", "host@example.com", "right-horse-battery")
    for attempt in range(5):
        _sign_in(f"guess{attempt}", "wrong", "198.51.100.7")  # one failure per username: no player lockout
    assert _log_in(Client(), "host", "right-horse-battery", "198.51.100.7") == 429
    # The admin's owner, from their own address, is not locked by what a stranger's address did.
    assert _log_in(Client(), "host", "right-horse-battery", "203.0.113.5") == 302


# --- idle sessions -----------------------------------------------------------


def _clear_sessions_at(moment: datetime.datetime) -> None:
    with mock.patch("django.contrib.sessions.backends.db.timezone.now", return_value=moment):
        call_command("clearsessions")


@pytest.mark.django_db
def test_an_idle_visitors_session_expires_within_a_day_and_is_cleared(client: Client) -> None:
    room = rooms.create_room(name="Idle")
    before = timezone.now()
    response = client.get(f"/rooms/{room.code}/")
    assert response.cookies["sessionid"]["max-age"] == DAY
    row = Session.objects.get(session_key=response.cookies["sessionid"].value)
    assert before < row.expire_date <= timezone.now() + datetime.timedelta(seconds=DAY)
    _clear_sessions_at(timezone.now() + datetime.timedelta(seconds=DAY + 1))
    assert not Session.objects.filter(session_key=row.session_key).exists()


@pytest.mark.django_db
def test_a_kept_session_lives_the_full_age_and_its_next_page_renews_the_cookie(client: Client) -> None:
    room = rooms.create_room(name="Kept")
    key = client.get(f"/rooms/{room.code}/").cookies["sessionid"].value
    session_lifetime.keep(key)  # it took a seat or chatted
    assert Session.objects.get(session_key=key).expire_date > timezone.now() + datetime.timedelta(days=364)
    renewed = client.get(f"/rooms/{room.code}/")
    assert renewed.cookies["sessionid"].value == key
    assert renewed.cookies["sessionid"]["max-age"] == YEAR
    assert "sessionid" not in client.get(f"/rooms/{room.code}/").cookies  # once, not on every view
    _clear_sessions_at(timezone.now() + datetime.timedelta(days=2))
    assert Session.objects.filter(session_key=key).exists()


@pytest.mark.django_db
def test_keeping_an_unknown_or_expired_session_does_nothing() -> None:
    session_lifetime.keep("no-such-session-key")
    assert not Session.objects.exists()


# --- error pages -------------------------------------------------------------


@pytest.mark.django_db
def test_an_unknown_room_gets_the_sites_404_page_with_a_way_to_the_lobby(client: Client) -> None:
    response = client.get("/rooms/nosuchroom/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "game/app.css" in html  # the site's look (base.html)
    assert '<a class="btn btn-primary" href="/">Back to the lobby</a>' in html
    assert "/rooms/nosuchroom/" in html


def test_the_500_page_renders_without_a_request_in_the_sites_look() -> None:
    html = loader.get_template("500.html").render({})
    assert "game/app.css" in html
    assert "Something went wrong" in html
    assert 'href="/">Back to the lobby</a>' in html
    assert "Redis" not in html


def test_a_view_failing_for_want_of_redis_answers_503_and_logs_it_plainly(caplog: pytest.LogCaptureFixture) -> None:
    middleware = RedisUnavailableMiddleware(lambda request: None)  # type: ignore[arg-type,return-value]
    try:
        try:
            raise ConnectionRefusedError(111, "Connection refused")
        except ConnectionRefusedError as refused:
            raise redis.exceptions.ConnectionError("Error 111 connecting") from refused
    except redis.exceptions.ConnectionError as error:
        failure = error
    with caplog.at_level(logging.ERROR, logger="tictac.redis"):
        response = middleware.process_exception(RequestFactory().get("/"), failure)
    assert response is not None
    assert response.status_code == 503
    assert "can't reach Redis" in response.content.decode()
    assert "Redis is not answering at" in caplog.text
    assert middleware.process_exception(RequestFactory().get("/"), ValueError("other")) is None


# --- WebSocket origins ---------------------------------------------------------


async def _handshake(path: str, origin: bytes | None) -> tuple[list[dict[str, Any]], list[str]]:
    """What a socket opened with ``origin`` is sent, and the paths the application behind the check saw."""
    seen: list[str] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["path"])
        await receive()
        await send({"type": "websocket.accept"})

    headers = [(b"origin", origin)] if origin is not None else []
    # Raw, not a Socket: the check is wrapped round a stand-in application, not tictac's.
    communicator = WebsocketCommunicator(AllowedHostsOnly(inner), path, headers=headers)
    await communicator.connect(timeout=5)
    sent = [{"type": "websocket.accept"}]  # connect() read it
    with contextlib.suppress(asyncio.TimeoutError):
        sent.append(await communicator.receive_output(timeout=0.5))
    if sent[-1]["type"] == "websocket.close":
        await communicator.send_input({"type": "websocket.disconnect", "code": sent[-1]["code"]})  # the answer
    await communicator.wait(timeout=5)
    return sent, seen


async def test_a_refused_socket_is_held_open_until_its_client_answers_the_close() -> None:
    # Dropped at once, the connection could end before a browser read the 4403, which it would
    # then report as 1006 (a network failure) and try again.
    async def inner(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("a refused socket reached the application")

    communicator = WebsocketCommunicator(
        AllowedHostsOnly(inner), "/ws/lobby/", headers=[(b"origin", b"http://evil.example")]
    )
    await communicator.connect(timeout=5)
    assert (await communicator.receive_output(timeout=5))["code"] == 4403
    assert await communicator.receive_nothing(timeout=0.3)
    assert not communicator.future.done()
    await communicator.send_input({"type": "websocket.disconnect", "code": 4403})
    await communicator.wait(timeout=5)


@pytest.mark.parametrize("path", ["/ws/rooms/abcd1234/", "/ws/lobby/"])
@pytest.mark.parametrize("origin", [b"http://evil.example", b"https://localhost.evil.example", b"null", None])
async def test_a_socket_from_another_sites_page_is_closed_with_4403_and_reaches_nothing(
    path: str, origin: bytes | None
) -> None:
    sent, seen = await _handshake(path, origin)
    assert sent == [{"type": "websocket.accept"}, {"type": "websocket.close", "code": 4403, "reason": None}]
    assert seen == []


@pytest.mark.parametrize("origin", [b"http://localhost", b"http://127.0.0.1:8123", b"https://[::1]:8443"])
async def test_a_socket_from_an_allowed_host_on_any_port_reaches_the_application(origin: bytes) -> None:
    sent, seen = await _handshake("/ws/lobby/", origin)
    assert sent == [{"type": "websocket.accept"}]
    assert seen == ["/ws/lobby/"]


@override_settings(ALLOWED_HOSTS=[], DEBUG=True)
async def test_with_debug_on_and_no_allowed_hosts_localhost_may_connect_as_channels_allows() -> None:
    sent, seen = await _handshake("/ws/lobby/", b"http://localhost:8000")
    assert seen == ["/ws/lobby/"]
    sent, seen = await _handshake("/ws/lobby/", b"http://example.com")
    assert sent[-1]["code"] == 4403
    assert seen == []
