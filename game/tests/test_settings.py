"""Production settings: what `manage.py check --deploy` and the cookies say."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    environment.update(DJANGO_SETTINGS_MODULE="tictac.settings", **env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=environment, capture_output=True, text=True, check=False
    )


@pytest.mark.slow  # a manage.py process per check
def test_check_deploy_is_clean_under_production_settings() -> None:
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_DEBUG="0",
        DJANGO_HTTPS="1",
        DJANGO_ALLOWED_HOSTS="tictac.example.com",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.slow  # a manage.py process per check
def test_check_deploy_flags_plain_http_settings() -> None:
    result = _manage("check", "--deploy", "--fail-level", "WARNING", DJANGO_DEBUG="0")
    assert result.returncode != 0
    assert "security.W004" in result.stderr  # no HSTS without DJANGO_HTTPS


@pytest.mark.slow  # a manage.py process per check
def test_without_a_configured_key_each_install_gets_its_own_random_key(tmp_path: Path) -> None:
    key_file = tmp_path / "secret"
    script = "from django.conf import settings; print(settings.SECRET_KEY)"
    first = _manage("shell", "-c", script, DJANGO_SECRET_KEY_FILE=str(key_file))
    again = _manage("shell", "-c", script, DJANGO_SECRET_KEY_FILE=str(key_file))
    other = _manage("shell", "-c", script, DJANGO_SECRET_KEY_FILE=str(tmp_path / "other"))
    assert first.stdout.strip() == again.stdout.strip()  # every process on this machine agrees
    assert first.stdout.strip() != other.stdout.strip()  # and no two installs share one
    assert len(first.stdout.strip()) >= 50
    assert key_file.stat().st_mode & 0o777 == 0o600


def test_the_csrf_cookie_is_samesite_lax(db: None) -> None:
    # The session cookie's flags are checked where the room page sets it (test_views).
    assert Client().get("/").cookies["csrftoken"]["samesite"] == "Lax"


_HOSTS = (
    "from django.conf import settings; "
    "print('shards', settings.REDIS_URLS); "
    "print('shards', [host['address'] for host in settings.CHANNEL_LAYERS['default']['CONFIG']['hosts']])"
)


def _shards(printed: str) -> list[str]:
    """What ``_HOSTS`` printed: the settings' shards, then the channel layer's hosts."""
    return [line.removeprefix("shards ") for line in printed.splitlines() if line.startswith("shards ")]


@pytest.mark.slow  # a manage.py process
def test_redis_url_with_one_url_is_one_shard() -> None:
    result = _manage("shell", "-c", _HOSTS, REDIS_URL="redis://10.0.0.1:6379/0")
    assert _shards(result.stdout) == ["['redis://10.0.0.1:6379/0']"] * 2, result.stderr


@pytest.mark.slow  # a manage.py process
def test_redis_url_naming_several_gives_the_channel_layer_one_host_per_shard_in_order() -> None:
    urls = "redis://10.0.0.2:6379/0, redis://10.0.0.1:6380/0"
    for layer in ("pubsub", "core"):
        result = _manage("shell", "-c", _HOSTS, REDIS_URL=urls, TICTAC_CHANNEL_LAYER=layer)
        expected = "['redis://10.0.0.2:6379/0', 'redis://10.0.0.1:6380/0']"
        assert _shards(result.stdout) == [expected] * 2, result.stderr


@pytest.mark.slow  # a manage.py process
def test_redis_url_naming_one_server_twice_is_refused() -> None:
    result = _manage("shell", "-c", _HOSTS, REDIS_URL="redis://10.0.0.1:6379/0,redis://10.0.0.1:6379/0")
    assert result.returncode != 0
    assert "REDIS_URL must name" in result.stderr
