"""What ships for `docker compose up`, read without an engine; and the X-Served-By hook the deploy check reads.

`python3 run.py deploy-check` (testing/deploy_check.py) runs the compose file on a real engine with
stand-in images; these say, in a second, that an operator who sets none of its variables gets the
public images and the port the README names, and that every variable the check sets exists.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from testing import deploy_clients, deploy_engine
from tictac.served_by import ServedBy

ROOT = Path(__file__).resolve().parents[2]
PUBLIC_IMAGES = {
    "redis": "redis:7-alpine",
    "postgres": "postgres:15-alpine",
    "proxy": "nginx:1.27-alpine",
}
BUILT_SERVICES = ("migrate", "web", "clearsessions")
VARIABLE = re.compile(r"\$\{(\w+)(?::-([^}]*))?\}")


def resolved(value: Any, environment: dict[str, str]) -> Any:
    """``value`` with its ``${NAME:-default}`` variables replaced as compose does (strings at any depth)."""
    if isinstance(value, str):
        return VARIABLE.sub(lambda match: environment.get(match[1]) or match[2] or "", value)
    if isinstance(value, dict):
        return {key: resolved(item, environment) for key, item in value.items()}
    if isinstance(value, list):
        return [resolved(item, environment) for item in value]
    return value


def compose_services(environment: dict[str, str]) -> dict[str, Any]:
    services: dict[str, Any] = resolved(yaml.safe_load((ROOT / "docker-compose.yml").read_text()), environment)[
        "services"
    ]
    return services


def test_without_variables_the_compose_file_runs_the_public_images_on_port_8000() -> None:
    services = compose_services({})
    assert {name: services[name]["image"] for name in PUBLIC_IMAGES} == PUBLIC_IMAGES
    for name in BUILT_SERVICES:
        assert services[name]["build"] == {"context": ".", "args": {"BASE_IMAGE": "python:3.11-slim"}}
    assert services["proxy"]["ports"] == ["8000:80"]
    assert services["web"]["environment"]["TICTAC_SERVED_BY"] == "0"


def test_the_dockerfile_builds_on_python_3_11_slim_unless_given_another_base() -> None:
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    instructions = [line for line in lines if line and not line.startswith("#")]
    assert instructions[:2] == ["ARG BASE_IMAGE=python:3.11-slim", "FROM ${BASE_IMAGE}"]


def test_the_deploy_checks_variables_put_a_stand_in_in_place_of_every_public_image() -> None:
    environment = {variable: tag for variable, (tag, _) in deploy_engine.STANDINS.items()}
    environment["TICTAC_HTTP_PORT"] = "18000"
    services = compose_services(environment)
    standins = {tag for tag, _ in deploy_engine.STANDINS.values()}
    used = {services[name]["image"] for name in PUBLIC_IMAGES}
    used |= {services[name]["build"]["args"]["BASE_IMAGE"] for name in BUILT_SERVICES}
    assert used == standins
    assert services["proxy"]["ports"] == ["18000:80"]
    for _, folder in deploy_engine.STANDINS.values():
        assert (deploy_engine.STANDINS_DIR / folder / "Dockerfile").is_file()


def test_the_room_pages_chat_is_read_from_its_json_script() -> None:
    page = b'<p>x</p><script id="initial-chat" type="application/json">[{"text": "gg"}]</script>'
    assert deploy_clients.initial_chat(page) == [{"text": "gg"}]
    with pytest.raises(deploy_engine.CheckError):
        deploy_clients.initial_chat(b"<p>no chat here</p>")


async def answer_with(scope_type: str, message: dict[str, Any]) -> list[dict[str, Any]]:
    """What ServedBy passes on when the application sends ``message`` for a connection of ``scope_type``."""
    sent: list[dict[str, Any]] = []

    async def application(scope: Any, receive: Any, send: Any) -> None:
        await send(message)

    async def receive() -> dict[str, Any]:
        raise AssertionError("not read")

    async def send(event: Any) -> None:
        sent.append(event)

    await ServedBy(application, name="web-7")({"type": scope_type}, receive, send)  # type: ignore[arg-type]
    return sent


async def test_served_by_names_the_worker_on_a_page_and_on_a_socket_handshake() -> None:
    page = await answer_with("http", {"type": "http.response.start", "status": 200, "headers": [(b"a", b"1")]})
    socket = await answer_with("websocket", {"type": "websocket.accept"})
    assert page[0]["headers"] == [(b"a", b"1"), (b"x-served-by", b"web-7")]
    assert socket[0]["headers"] == [(b"x-served-by", b"web-7")]


async def test_served_by_leaves_every_other_message_as_it_is() -> None:
    body = {"type": "http.response.body", "body": b"hello"}
    text = {"type": "websocket.send", "text": "{}"}
    assert await answer_with("http", body) == [body]
    assert await answer_with("websocket", text) == [text]


def test_served_by_is_off_unless_asked_for() -> None:
    from django.conf import settings

    from tictac.asgi import application

    assert settings.SERVED_BY is False
    assert not isinstance(application, ServedBy)
