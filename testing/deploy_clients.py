"""What the deploy check talks to the stack with, through nginx: a browser's visits and a player's socket."""

from __future__ import annotations

import asyncio
import http.cookiejar
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

from testing.deploy_engine import CheckError

TIMEOUT = 20


@dataclass
class Answer:
    status: int
    url: str
    headers: dict[str, str]
    body: bytes

    @property
    def served_by(self) -> str:
        return self.headers.get("x-served-by", "?")

    def json(self) -> Any:
        return json.loads(self.body)


class Visitor:
    """A browser's cookies, through nginx: a session (``sessionid``) once a page set one."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path: str, headers: dict[str, str] | None = None) -> Answer:
        return self._open(urllib.request.Request(self.base_url + path, headers=headers or {}))

    def post_form(self, path: str, fields: dict[str, str]) -> Answer:
        """As a browser posts a form: with the CSRF token, and the page's Origin."""
        data = urllib.parse.urlencode({**fields, "csrfmiddlewaretoken": self.cookie("csrftoken")}).encode()
        headers = {"Origin": self.base_url, "Referer": self.base_url + "/"}
        return self._open(urllib.request.Request(self.base_url + path, data=data, headers=headers))

    def _open(self, request: urllib.request.Request) -> Answer:
        try:
            with self.opener.open(request, timeout=TIMEOUT) as response:
                headers = {key.lower(): value for key, value in response.headers.items()}
                return Answer(response.status, response.url, headers, response.read())
        except urllib.error.HTTPError as error:
            headers = {key.lower(): value for key, value in error.headers.items()}
            return Answer(error.code, request.full_url, headers, error.read())

    def cookie(self, name: str) -> str:
        value = next((cookie.value for cookie in self.jar if cookie.name == name), None)
        if value is None:
            raise CheckError(f"no {name} cookie was set")
        return value

    @property
    def ws_headers(self) -> dict[str, str]:
        return {"Origin": self.base_url, "Cookie": f"sessionid={self.cookie('sessionid')}"}


@dataclass
class Player:
    """One player's socket to a room through nginx, and the container that accepted it."""

    connection: ClientConnection
    served_by: str
    state: dict[str, Any] = field(default_factory=dict)
    chat: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    async def connect(cls, visitor: Visitor, code: str) -> Player:
        ws_url = visitor.base_url.replace("http://", "ws://", 1) + f"/ws/rooms/{code}/"
        connection = await websockets.connect(ws_url, additional_headers=visitor.ws_headers, open_timeout=TIMEOUT)
        served_by = connection.response.headers.get("X-Served-By", "?") if connection.response else "?"
        player = cls(connection, served_by)
        await player.until(lambda state: True)
        return player

    async def send(self, message: dict[str, Any]) -> None:
        await self.connection.send(json.dumps(message))

    async def receive(self) -> dict[str, Any]:
        message: dict[str, Any] = json.loads(await asyncio.wait_for(self.connection.recv(), TIMEOUT))
        if message["type"] == "state":
            self.state = message
        elif message["type"] == "chat":
            self.chat.append(message)
        elif message["type"] == "error":
            raise CheckError(f"the server refused a message: {message}")
        return message

    async def until(self, condition: Any) -> dict[str, Any]:
        """Read until a state for which ``condition(state)`` holds; that state."""
        while True:
            message = await self.receive()
            if message["type"] == "state" and condition(message):
                return message

    async def until_chat(self, text: str) -> None:
        while not any(line["text"] == text for line in self.chat):
            await self.receive()

    async def join(self, name: str) -> dict[str, Any]:
        await self.send({"type": "join", "name": name})
        return await self.until(lambda state: state["you"]["mark"] is not None)

    async def move(self, cell: int) -> None:
        await self.send({"type": "move", "cell": cell})

    async def close(self) -> None:
        await self.connection.close()


def initial_chat(page: bytes) -> list[dict[str, Any]]:
    """The chat lines a room page carries (``#initial-chat``)."""
    match = re.search(rb'<script id="initial-chat" type="application/json">(.*?)</script>', page, re.DOTALL)
    if match is None:
        raise CheckError("the room page has no #initial-chat")
    lines: list[dict[str, Any]] = json.loads(match.group(1))
    return lines
