"""The quick-play waiting page's socket, at ``ws/play/<pool key>/``: a seek in a pool while it is open.

While the socket is open its session waits in the pool (game.realtime.seeks). The
process whose seek found a partner makes the room with the pool's board and
clock, seats both sessions on random sides, publishes the room's state, and
tells every socket of both seeks, on whichever process it is, to go there.
Who seeks comes from the session cookie, never from what the socket writes;
a socket only pings.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from game.actions import identities, rooms
from game.domain.pools import Pool
from game.realtime import budgets
from game.realtime.broadcast import announce
from game.realtime.metrics import MESSAGES_REFUSED
from game.realtime.seeks import REFRESH_EVERY_SECONDS, Outcome, Seeker, seeks
from game.storage import session_lifetime
from game.web.access import socket_address
from game.web.lobby_consumer import ListeningConsumer
from game.web.socket_session import session_from_headers
from game.web.sockets import CLOSE_INTERNAL_ERROR, CLOSE_TOO_MANY_SOCKETS, akeep_session

logger = logging.getLogger(__name__)

# Close codes of this socket (docs/protocol.md); each follows an `error` message that says why.
CLOSE_NO_SESSION = 4401
CLOSE_UNKNOWN_POOL = 4404
CLOSE_REPLACED = 4409
CLOSE_PAIRED = 1000

# How long a socket whose seek left the pool waits for word of its pairing before it hangs up.
PAIRED_WORD_GRACE_SECONDS = 5


class SeekConsumer(ListeningConsumer):
    """One waiting page's socket: its session's seek in the pool its path names."""

    pool: Pool | None = None
    """The pool this socket waits in, once its seek is in it (None before, and once it stops)."""
    identity: identities.Identity
    seeker: Seeker
    _refreshing: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        # Accepted first, so that every refusal below reaches the page as a message and a close code.
        await self.accept()
        try:
            pool = Pool.parse(self.scope["url_route"]["kwargs"]["key"])
        except ValueError:
            await self._refuse(CLOSE_UNKNOWN_POOL, "unknown_pool", "There is no such quick-play pool.")
            return
        try:
            session = session_from_headers(self.scope["headers"])
            self.identity = await identities.aidentify(session)
            if self.identity.session_key is None:
                await self._refuse(CLOSE_NO_SESSION, "no_session", "Press quick play in the lobby first.")
                return
            address = socket_address(self.scope) or None
            if address and not await budgets.spend("seek_connects_per_address", address):
                await self._refuse(CLOSE_TOO_MANY_SOCKETS, "rate_limited", "Too many quick-play pages: wait a minute.")
                return
            if (room := await rooms.aquick_play_room(self.identity)) is not None:
                await self.seek_paired({"room": room.code})  # already paired: back to that game
                return
            assert self.identity.session_hash is not None
            typed: str | None = session.get(session_lifetime.PLAYER_NAME_KEY)  # read by aidentify: no query here
            name = typed or self.identity.player_name or self.identity.user_name
            self.seeker = Seeker(self.identity.session_hash, self.identity.user_id, name, address)
            outcome = await seeks().seek(pool.key, self.seeker, self.channel_name)
        except Exception:
            logger.exception("seek failed", extra={"pool": self.scope["url_route"]["kwargs"]["key"]})
            await self.close(code=CLOSE_INTERNAL_ERROR)
            return
        await self._tell(outcome.replaced, {"type": "seek.replaced"})
        if outcome.status == "refused":
            await self._refuse(CLOSE_TOO_MANY_SOCKETS, "too_many_seeks", _REFUSALS[outcome.refusal])
        elif outcome.status == "paired":
            await self._start_game(pool, outcome)
        else:
            self.pool = pool
            await self._send_seeking(outcome.waiting)
            self._refreshing = asyncio.ensure_future(self._keep_seeking())

    async def _start_game(self, pool: Pool, outcome: Outcome) -> None:
        """Make the paired sessions' room, publish it, and send every socket of both seeks there."""
        assert outcome.mine is not None
        assert outcome.partner is not None
        everyone = (*outcome.mine.channels, *outcome.partner.channels)
        try:
            room, game = await rooms.astart_paired_game(
                _paired(outcome.mine),
                _paired(outcome.partner),
                size=pool.size,
                win_length=pool.win_length,
                time_control=pool.time_control,
            )
        except Exception:
            # Both seeks are out of the pool: their pages reconnect (1011) and seek again.
            logger.exception("could not start a paired game", extra={"pool": pool.key})
            await self._tell(everyone, {"type": "seek.failed"})
            return
        await announce(room, game, layer=self.channel_layer)
        await self._tell(everyone, {"type": "seek.paired", "room": room.code})

    async def _tell(self, channels: tuple[str, ...], message: dict[str, Any]) -> None:
        """Send ``message`` to each channel: a socket of this process or of another one."""
        for channel in channels:
            try:
                await self.channel_layer.send(channel, message)
            except Exception:  # that socket's page finds its game when it reconnects (quick_play_room)
                logger.warning("could not reach a seeking socket", exc_info=True)

    async def _keep_seeking(self) -> None:
        """Refresh this socket's seek while it waits, telling the page how many wait in the pool."""
        while self.pool is not None:
            await asyncio.sleep(REFRESH_EVERY_SECONDS)
            pool = self.pool
            if pool is None:
                return
            try:
                waiting = await seeks().refresh(pool.key, self.seeker.session, self.channel_name)
            except Exception:  # Redis away a moment: the seek lives until its TTL, try again next time
                logger.warning("could not refresh a seek", exc_info=True)
                continue
            if waiting is None:
                # Paired by another process, whose word is on its way; if none comes (it was lost, or the
                # seek expired) the page reconnects, and finds its game or seeks again.
                await asyncio.sleep(PAIRED_WORD_GRACE_SECONDS)
                if self.pool is not None:
                    self.pool = self._refreshing = None  # this task ends here: nothing to cancel
                    await self.close(code=CLOSE_INTERNAL_ERROR)
                return
            await self._send_seeking(waiting)

    async def _send_seeking(self, waiting: int) -> None:
        assert self.pool is not None
        await self.send(text_data=json.dumps({"type": "seeking", "pool": self.pool.key, "waiting": waiting}))

    async def _refuse(self, code: int, error: str, message: str) -> None:
        MESSAGES_REFUSED.labels(error).inc()
        await self.send(text_data=json.dumps({"type": "error", "code": error, "message": message}))
        await self.close(code=code)

    async def _stop_seeking(self) -> Pool | None:
        """This socket no longer waits: the pool it waited in, if it did."""
        pool, self.pool = self.pool, None
        if self._refreshing is not None:
            self._refreshing.cancel()
            self._refreshing = None
        return pool

    async def disconnect(self, code: int) -> None:
        pool = await self._stop_seeking()
        if pool is None:
            return
        try:
            await seeks().leave(pool.key, self.seeker.session, self.channel_name)
        except Exception:  # its seek expires with the TTL
            logger.warning("seek removal failed", exc_info=True)

    # --- Messages from the process that paired this socket's seek ---------------------------------

    async def seek_paired(self, event: dict[str, Any]) -> None:
        """Paired (or already seated): the session took a seat, so it is kept; the page goes to the room."""
        await self._stop_seeking()
        code = event["room"]
        await akeep_session(self.identity.session_key)
        await self.send(text_data=json.dumps({"type": "paired", "room": code, "url": f"/rooms/{code}/"}))
        await self.close(code=CLOSE_PAIRED)

    async def seek_replaced(self, event: dict[str, Any]) -> None:
        """The session now seeks in another pool (another tab): this page stops waiting."""
        await self._stop_seeking()
        await self._refuse(CLOSE_REPLACED, "seek_replaced", "You are looking for a game in another tab.")

    async def seek_failed(self, event: dict[str, Any]) -> None:
        """Paired, but the room could not be made: the page reconnects and seeks again."""
        await self._stop_seeking()
        await self.close(code=CLOSE_INTERNAL_ERROR)


_REFUSALS = {
    "address": "Too many people are looking for a game from your network right now: try again soon.",
    "sockets": "This game search is open in too many tabs.",
}


def _paired(seeker: Seeker) -> rooms.PairedSeeker:
    return rooms.PairedSeeker(seeker.session, seeker.user_id, seeker.name)
