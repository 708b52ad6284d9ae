"""tictac's uvicorn WebSocket protocol: a socket keeps no handshake once it is answered, and works as before."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn
import websockets

from testing.wait import auntil
from tictac.processes import free_port
from tictac.servers.uvicorn_websockets import WebSocketsSansIOProtocol


async def echo_once(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Accept, then send back every text message until the client leaves."""
    assert scope["type"] == "websocket"
    assert (await receive())["type"] == "websocket.connect"
    await send({"type": "websocket.accept"})
    while (message := await receive())["type"] == "websocket.receive":
        await send({"type": "websocket.send", "text": message["text"]})


@pytest.fixture
async def server() -> AsyncIterator[uvicorn.Server]:
    config = uvicorn.Config(
        echo_once,
        host="127.0.0.1",
        port=free_port(),
        ws=WebSocketsSansIOProtocol,
        lifespan="off",
        log_level="warning",
    )
    serving = uvicorn.Server(config)
    task = asyncio.create_task(serving.serve())

    async def started() -> bool:
        return serving.started  # uvicorn says so only with this flag

    await auntil(started, interval=0.01, message="uvicorn to start serving")
    yield serving
    serving.should_exit = True
    await task


async def test_a_socket_keeps_no_handshake_once_answered_and_still_works(server: uvicorn.Server) -> None:
    url = f"ws://127.0.0.1:{server.config.port}/"
    async with websockets.connect(url) as client:
        await client.send("hello")
        assert await asyncio.wait_for(client.recv(), 10) == "hello"
        [protocol] = [each for each in server.server_state.connections if isinstance(each, WebSocketsSansIOProtocol)]
        # The echo came after the accept, so the handshake was answered by then.
        assert protocol.handshake_complete
        assert protocol.request is None
        assert protocol.response is None
        await client.send("still here")
        assert await asyncio.wait_for(client.recv(), 10) == "still here"
