"""This process's socket jobs (game/realtime/local_sockets.py): each its own task, and a failure in one
is logged without stopping it or the others. Against the test Redis; no sockets opened, the
jobs run on stand-ins with what they read of a consumer."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from channels.layers import InMemoryChannelLayer

from game.realtime.local_sockets import LocalSockets
from game.realtime.presence import presence
from game.storage.layer_internals import LayerInternalsError

TIMEOUT = 5


@dataclass(eq=False)
class StandIn:
    """What the jobs read of a room socket."""

    channel_name: str = field(default_factory=lambda: f"specific.{uuid.uuid4().hex}")
    identity: Any = field(default_factory=lambda: SimpleNamespace(session_hash=uuid.uuid4().hex))
    address: str | None = None
    room: Any = None
    send_waiting_since: float | None = None
    channel_layer: Any = None
    pending_when_hung_up: int | None = None
    hung_up_event: asyncio.Event = field(default_factory=asyncio.Event)

    async def hang_up_backlogged(self, pending: int) -> None:
        self.pending_when_hung_up = pending
        self.hung_up_event.set()


@pytest.fixture
async def sockets() -> AsyncIterator[LocalSockets]:
    """A process's local sockets, with jobs a hundred times quicker than in production."""
    local = LocalSockets(check_every=0.01, heartbeat_every=0.05)
    yield local
    added = [(code, socket) for code in local.room_codes() for socket in local.in_room(code)]
    jobs = list(local.jobs.values())
    local.reset()
    await asyncio.gather(*jobs, return_exceptions=True)
    for code, socket in added:  # what the heartbeat put in presence
        await presence().remove(code, socket.channel_name, socket.identity.session_hash)


@pytest.fixture
def room_code() -> str:
    return f"jobs-{uuid.uuid4().hex[:8]}"


async def present(room_code: str, socket: StandIn) -> bool:
    return socket.identity.session_hash in (await presence().snapshot(room_code)).sessions


async def test_a_job_whose_step_fails_is_logged_carries_on_and_the_heartbeat_keeps_refreshing_presence(
    sockets: LocalSockets, room_code: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The issue's case: a channel layer renamed what the hang-up check reads, and a slow client
    appears. The hang-up job fails on every round; the heartbeat must not notice."""
    layer = InMemoryChannelLayer()
    del layer.channels  # as a release that renamed it would leave it
    slow = StandIn(send_waiting_since=time.monotonic() - 60, channel_layer=layer)
    failures = 0
    failed_twice = asyncio.Event()
    heartbeat_after_a_failure = asyncio.Event()
    hang_up, keep_present = sockets.hang_up_the_backlogged, sockets.keep_present

    async def counted_hang_up() -> None:
        nonlocal failures
        try:
            await hang_up()
        except LayerInternalsError:
            failures += 1
            if failures == 2:
                failed_twice.set()
            raise

    async def watched_heartbeat() -> None:
        await keep_present()
        if failures:
            heartbeat_after_a_failure.set()

    sockets.hang_up_the_backlogged = counted_hang_up
    sockets.keep_present = watched_heartbeat
    with caplog.at_level(logging.ERROR, logger="game.realtime.local_sockets"):
        sockets.add(room_code, slow)
        await asyncio.wait_for(failed_twice.wait(), TIMEOUT)
        await asyncio.wait_for(heartbeat_after_a_failure.wait(), TIMEOUT)
    assert await present(room_code, slow)
    logged = [record for record in caplog.records if getattr(record, "job", None) == "hang-ups"]
    assert len(logged) >= 2
    assert logged[0].exc_info is not None
    assert isinstance(logged[0].exc_info[1], LayerInternalsError)
    assert not any(job.done() for job in sockets.jobs.values())


async def test_a_job_stuck_in_its_step_does_not_hold_up_the_heartbeat(sockets: LocalSockets, room_code: str) -> None:
    """The resync can wait up to 45 s for Redis's subscriptions to come back; presence expires in 30."""
    stuck = asyncio.Event()
    heartbeat_while_stuck = asyncio.Event()
    keep_present = sockets.keep_present

    async def resync_that_never_returns() -> None:
        stuck.set()
        await asyncio.Event().wait()

    async def watched_heartbeat() -> None:
        await keep_present()
        if stuck.is_set():
            heartbeat_while_stuck.set()

    sockets.resync_when_redis_returns = resync_that_never_returns
    sockets.keep_present = watched_heartbeat
    socket = StandIn()
    sockets.add(room_code, socket)
    await asyncio.wait_for(stuck.wait(), TIMEOUT)
    await asyncio.wait_for(heartbeat_while_stuck.wait(), TIMEOUT)
    assert await present(room_code, socket)


async def test_a_socket_stuck_with_a_backlog_is_hung_up(sockets: LocalSockets, room_code: str, settings: Any) -> None:
    settings.TICTAC = {**settings.TICTAC, "MAX_PENDING_MESSAGES": 2}
    layer = InMemoryChannelLayer()
    stuck, reading = StandIn(channel_layer=layer), StandIn(channel_layer=layer)
    for socket in (stuck, reading):
        for _ in range(3):
            await layer.send(socket.channel_name, {"type": "room.chat"})
    stuck.send_waiting_since = time.monotonic() - 60  # and reading's send is not waiting
    sockets.add(room_code, stuck)
    sockets.add(room_code, reading)
    await asyncio.wait_for(stuck.hung_up_event.wait(), TIMEOUT)
    assert stuck.pending_when_hung_up == 3
    assert not reading.hung_up_event.is_set()


async def test_each_job_is_its_own_task_and_all_end_once_the_process_has_no_sockets(
    sockets: LocalSockets, room_code: str
) -> None:
    socket = StandIn()
    sockets.add(room_code, socket)
    jobs = sockets.jobs
    assert sorted(jobs) == ["hang-ups", "heartbeat", "resync", "room heartbeat"]
    assert len(set(jobs.values())) == 4
    sockets.discard(room_code, socket)
    _, still_running = await asyncio.wait(jobs.values(), timeout=TIMEOUT)
    assert not still_running
    assert all(job.exception() is None for job in jobs.values())
    sockets.add(room_code, socket)
    assert not any(job.done() for job in sockets.jobs.values())  # started again


async def test_reset_forgets_every_socket_and_stops_the_jobs(sockets: LocalSockets, room_code: str) -> None:
    sockets.add(room_code, StandIn())
    jobs = list(sockets.jobs.values())
    sockets.reset()
    assert len(sockets) == 0
    assert sockets.room_codes() == []
    assert sockets.jobs == {}
    await asyncio.gather(*jobs, return_exceptions=True)
    assert all(job.cancelled() for job in jobs)
