"""A small test client that speaks docs/protocol.md through WebsocketCommunicator."""

from __future__ import annotations

import json
from typing import Any

from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.sessions.backends.db import SessionStore

from tictac.asgi import application

ORIGIN = b"http://localhost"
TIMEOUT = 5


@database_sync_to_async
def new_session_key() -> str:
    """A stored session, as the room page would have given a visitor."""
    session = SessionStore()
    session["visitor"] = True
    session.create()
    assert session.session_key is not None
    return session.session_key


class Socket:
    """One browser tab's WebSocket to a room."""

    def __init__(self, path: str, session_key: str | None = None, origin: bytes | None = ORIGIN) -> None:
        headers = []
        if origin is not None:
            headers.append((b"origin", origin))
        if session_key is not None:
            headers.append((b"cookie", f"sessionid={session_key}".encode()))
        self.session_key = session_key
        self.communicator = WebsocketCommunicator(application, path, headers=headers)
        self.state: dict[str, Any] | None = None

    @classmethod
    async def open(cls, code: str, session_key: str | None = None) -> Socket:
        """Connect to room ``code`` and read the state the server sends on accept."""
        socket = cls(f"/ws/rooms/{code}/", session_key)
        connected, _ = await socket.communicator.connect(timeout=TIMEOUT)
        assert connected
        await socket.next_state()
        return socket

    async def send(self, message: dict[str, Any]) -> None:
        await self.communicator.send_json_to(message)

    async def receive(self) -> dict[str, Any]:
        message: dict[str, Any] = await self.communicator.receive_json_from(timeout=TIMEOUT)
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

    async def next_message(self, kind: str) -> dict[str, Any]:
        while True:
            message = await self.receive()
            if message["type"] == kind:
                return message

    async def error(self, message: dict[str, Any] | str) -> dict[str, Any]:
        """Send ``message`` and return the error it must cause."""
        if isinstance(message, str):
            await self.communicator.send_to(text_data=message)
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

    async def join(self, name: str | None = None) -> dict[str, Any]:
        await self.send({"type": "join"} if name is None else {"type": "join", "name": name})
        while True:
            message = await self.receive()
            if message["type"] == "error":
                raise AssertionError(f"join refused: {message}")
            if message["type"] == "state" and message["you"]["mark"] is not None:
                return message

    async def close(self) -> None:
        await self.communicator.disconnect()


def dumps(message: dict[str, Any]) -> str:
    return json.dumps(message)
