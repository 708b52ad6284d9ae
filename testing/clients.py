"""Small test clients that speak docs/protocol.md: through WebsocketCommunicator
(in process) or a real WebSocket connection (to a live server); and the
helpers several test modules share to set a room up for them."""

from __future__ import annotations

import asyncio
import itertools
import json
import urllib.parse
import urllib.request
from typing import Any

import websockets
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.sessions.backends.db import SessionStore
from websockets.asyncio.client import ClientConnection

from game.actions import rooms
from testing.live import Browser, LiveServer
from tictac.asgi import application

ORIGIN = b"http://localhost"
TIMEOUT = 10


make_room = database_sync_to_async(rooms.create_room)

_unused_addresses = (f"10.9.{high}.{low}" for high, low in itertools.product(range(256), range(1, 255)))


def unused_address() -> str:
    """A client address no test of this run has used, so that no per-address budget starts part-spent."""
    return next(_unused_addresses)


@database_sync_to_async
def new_session_key() -> str:
    """A stored session, as the room page would have given a visitor."""
    session = SessionStore()
    session["visitor"] = True
    session.create()
    assert session.session_key is not None
    return session.session_key


class ProtocolClient:
    """One browser tab's WebSocket to a room; subclasses bring the transport."""

    session_key: str | None
    state: dict[str, Any] | None = None

    async def send_text(self, text: str) -> None:
        raise NotImplementedError

    async def receive_text(self) -> str:
        raise NotImplementedError

    async def send(self, message: dict[str, Any]) -> None:
        await self.send_text(json.dumps(message))

    async def receive(self) -> dict[str, Any]:
        message: dict[str, Any] = json.loads(await self.receive_text())
        if message["type"] == "state":
            self.state = message
        return message

    async def next_state(self, **expected_game: Any) -> dict[str, Any]:
        """Read until a state whose game matches ``expected_game`` (skipping chat and older states)."""
        while True:
            message = await self.receive()
            if message["type"] != "state":
                continue
            if all(message["game"][key] == value for key, value in expected_game.items()):
                return message

    async def until_offline(self, mark: str) -> dict[str, Any]:
        """Read states until one shows ``mark``'s player offline, and return it."""
        state = await self.next_state()
        while state["players"][mark] is None or state["players"][mark]["online"]:
            state = await self.next_state()
        return state

    async def next_message(self, kind: str) -> dict[str, Any]:
        while True:
            message = await self.receive()
            if message["type"] == kind:
                return message

    async def error(self, message: dict[str, Any] | str) -> dict[str, Any]:
        """Send ``message`` and return the error it must cause."""
        if isinstance(message, str):
            await self.send_text(message)
        else:
            await self.send(message)
        reply = await self.next_message("error")
        return reply

    async def fresh_state(self) -> dict[str, Any]:
        """Ask for the state (``sync``) and return it, or anything newer.

        A ping right behind the sync marks where the reply ends: the server
        answers one socket's messages in order, so the last state before the
        pong is the sync's answer or a later broadcast, never an older one.
        """
        await self.send({"type": "sync"})
        await self.send({"type": "ping"})
        latest = None
        while True:
            message = await self.receive()
            if message["type"] == "state":
                latest = message
            elif message["type"] == "pong" and latest is not None:
                return latest
            elif message["type"] == "error" and message["code"] == "rate_limited":
                # A sync or ping refused for its rate is never answered: say so rather than wait in vain.
                # (Other errors answer what the caller sent before.)
                raise AssertionError(f"fresh_state's sync or ping may have been refused: {message}")

    async def join(self, name: str | None = None) -> dict[str, Any]:
        await self.send({"type": "join"} if name is None else {"type": "join", "name": name})
        while True:
            message = await self.receive()
            if message["type"] == "error":
                raise AssertionError(f"join refused: {message}")
            if message["type"] == "state" and message["you"]["mark"] is not None:
                return message


class Socket(ProtocolClient):
    """A socket to the ASGI application in this process."""

    def __init__(
        self,
        path: str,
        session_key: str | None = None,
        origin: bytes | None = ORIGIN,
        forwarded_for: str | None = None,
    ) -> None:
        headers = []
        if origin is not None:
            headers.append((b"origin", origin))
        if session_key is not None:
            headers.append((b"cookie", f"sessionid={session_key}".encode()))
        if forwarded_for is not None:  # as a proxy in front would say who the client is
            headers.append((b"x-forwarded-for", forwarded_for.encode()))
        self.session_key = session_key
        self.communicator = WebsocketCommunicator(application, path, headers=headers)

    @classmethod
    async def open(cls, code: str, session_key: str | None = None, forwarded_for: str | None = None) -> Socket:
        """Connect to room ``code`` and read the state the server sends on accept."""
        socket = cls(f"/ws/rooms/{code}/", session_key, forwarded_for=forwarded_for)
        await socket.connect()
        await socket.next_state()
        return socket

    async def connect(self) -> None:
        """Connect, without reading: tictac accepts every socket first, so that a refusal
        reaches the page as a close code (a browser hides an HTTP 403 from it)."""
        connected, _ = await self.communicator.connect(timeout=TIMEOUT)
        assert connected

    async def close_code(self) -> int:
        """Read until the server closes this socket; the code it closed with."""
        while True:
            output = await self.communicator.receive_output(timeout=TIMEOUT)
            if output["type"] == "websocket.close":
                return int(output["code"])

    async def send_text(self, text: str) -> None:
        await self.communicator.send_to(text_data=text)

    async def receive_text(self) -> str:
        text: str = await self.communicator.receive_from(timeout=TIMEOUT)
        return text

    async def close(self) -> None:
        await self.communicator.disconnect()


class LiveSocket(ProtocolClient):
    """A real WebSocket connection to a server process."""

    def __init__(self, connection: ClientConnection, session_key: str | None) -> None:
        self.connection = connection
        self.session_key = session_key

    @classmethod
    async def open(cls, ws_url: str, code: str, headers: dict[str, str], session_key: str | None = None) -> LiveSocket:
        connection = await websockets.connect(f"{ws_url}/ws/rooms/{code}/", additional_headers=headers)
        socket = cls(connection, session_key)
        await socket.next_state()
        return socket

    async def send_text(self, text: str) -> None:
        await self.connection.send(text)

    async def receive_text(self) -> str:
        text = await asyncio.wait_for(self.connection.recv(), TIMEOUT)
        assert isinstance(text, str)
        return text

    async def close(self) -> None:
        await self.connection.close()


async def chat_until_the_address_budget_is_spent(first: ProtocolClient, second: ProtocolClient) -> str:
    """Three lines of chat from two sockets of one address, then a fourth; the fourth's answer code."""
    for text in ("one", "two"):
        await first.send({"type": "chat", "text": text})
        await first.next_message("chat")
    await second.send({"type": "chat", "text": "three"})
    await second.next_message("chat")
    code: str = (await second.error({"type": "chat", "text": "four"}))["code"]
    return code


def new_room(
    server: LiveServer, browser: Browser | None = None, size: int = 3, win_length: int = 3, time_control: str = "none"
) -> str:
    """Create a room through the lobby form, as a person would: ``browser`` (a new one if none) sits in it as X."""
    browser = browser or Browser()
    browser.visit(server, "/")
    token = next(cookie.value for cookie in browser.jar if cookie.name == "csrftoken")
    fields = {"name": "live", "size": size, "win_length": win_length, "time_control": time_control}
    data = urllib.parse.urlencode({**fields, "csrfmiddlewaretoken": token}).encode()
    request = urllib.request.Request(server.url + "/rooms/", data=data, headers={"Referer": server.url + "/"})
    with browser.opener.open(request, timeout=10) as response:
        room_url: str = response.url
    return room_url.rstrip("/").rsplit("/", 1)[1]


async def seated(browser: Browser, server: LiveServer, code: str, name: str) -> LiveSocket:
    browser.visit(server, f"/rooms/{code}/")
    socket = await LiveSocket.open(server.ws_url, code, browser.ws_headers(server), browser.session_key)
    await socket.join(name)
    return socket
