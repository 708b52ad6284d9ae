"""The room's socket: a player's or a spectator's, at ``ws/rooms/<code>/``."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import replace
from typing import Any

from django.conf import settings

from game.actions import chat, computer, endings, identities, moves, offers, rematch, seating, write
from game.domain import protocol
from game.domain.state_order import HOLD_SECONDS, StateOrder, StateStamp
from game.messages.state import RoomState, add_you
from game.models import FINISHED_STATUSES, Room
from game.realtime import budgets, room_states
from game.realtime.broadcast import announce
from game.realtime.computer_turns import client_of, computer_players
from game.realtime.local_sockets import local_sockets
from game.realtime.message_limits import SocketLimits, message_limits
from game.realtime.metrics import MESSAGE_SECONDS, MESSAGES_REFUSED, MOVES_ACCEPTED, OPEN_SOCKETS, SOCKETS_HUNG_UP
from game.realtime.presence import presence
from game.realtime.referee import referee
from game.realtime.shards import room_group
from game.web.access import socket_address
from game.web.socket_session import session_from_headers
from game.web.sockets import (
    CLOSE_INTERNAL_ERROR,
    CLOSE_KICKED,
    CLOSE_ROOM_CLOSED,
    CLOSE_TOO_BIG,
    CLOSE_TOO_FAR_BEHIND,
    CLOSE_TOO_MANY_SOCKETS,
    CLOSE_UNKNOWN_ROOM,
    SocketConsumer,
    akeep_session,
    countdowns_out_of_step,
    frame_size,
    logger,
    too_many_sockets,
)


class RoomConsumer(SocketConsumer):
    """One socket in a room, at ``ws/rooms/<code>/``."""

    room: Room | None = None
    connected_room: Room | None = None
    """The room this socket joined, kept once it has left: an action it started still ends there (announce)."""
    identity: identities.Identity
    address: str | None = None
    """The client's IP address (game.web.access), for the per-address limits."""
    session_kept = False
    limits: SocketLimits
    shown: StateOrder[tuple[str, dict[str, int | None]]]
    """The states this socket has shown: an older one never replaces a newer, none is skipped."""
    _gap_timer: asyncio.TimerHandle | None = None
    _releasing: asyncio.Future[None] | None = None
    seats: dict[str, int | None]
    # When the send in progress started, if one is (see local_sockets).
    send_waiting_since: float | None = None

    async def connect(self) -> None:
        code = self._room_code()
        # Accepted first, so that every refusal below reaches the page as a close code.
        await self.accept()
        try:
            room = await write.aget_room(code)
            if room is None:
                await self.close(code=CLOSE_UNKNOWN_ROOM)
                return
            if not room.is_open:
                await self.close(code=CLOSE_ROOM_CLOSED)
                return
            self.identity = await identities.aidentify(session_from_headers(self.scope["headers"]))
            self.seats = {}
            self.shown = StateOrder()
            self.address = socket_address(self.scope) or None
            self.limits = message_limits.for_socket(self.identity.session_key, self.address)
            if self.address and not await budgets.spend("connect_per_address", self.address):
                self._log_refusal("too_many_connects", "connect")
                await self.close(code=CLOSE_TOO_MANY_SOCKETS)
                return
            counts = await presence().add(room.code, self.channel_name, self.identity.session_hash, self.address)
            if too_many_sockets(counts):
                await presence().remove(room.code, self.channel_name, self.identity.session_hash, self.address)
                self._log_refusal("too_many_sockets", "connect")
                await self.close(code=CLOSE_TOO_MANY_SOCKETS)
                return
            await self.channel_layer.group_add(room_group(room.code), self.channel_name)
            self.room = self.connected_room = room
            state = await self._with_countdowns_in_step(room, await room_states.read(room))
        except Exception:
            logger.exception("connect failed", extra={"room": code})
            await self.close(code=CLOSE_INTERNAL_ERROR)
            return
        OPEN_SOCKETS.inc()
        local_sockets.add(room.code, self)
        referee.ensure_running(local_sockets.room_codes)
        await self._publish(state)

    async def _with_countdowns_in_step(self, room: Room, state: RoomState) -> RoomState:
        """``state``, or a newer one if a seated player came or went and their absence countdown had to follow."""
        if not countdowns_out_of_step(state.message):
            return state
        seen = await presence().snapshot(room.code)
        game = await endings.anote_presence(room, seen.sessions)
        return state if game is None else await room_states.read(room, game)

    async def dispatch(self, message: dict[str, Any]) -> None:
        # A socket out of its room (refused, or hung up) sends nothing more;
        # it only waits for its disconnect.
        if self.room is None and message["type"] not in ("websocket.connect", "websocket.disconnect"):
            return
        await super().dispatch(message)

    async def disconnect(self, code: int) -> None:
        await self._leave()

    async def hang_up_backlogged(self, pending: int) -> None:
        """Its client reads too slowly for its room: free its place, then close with 1013.

        Called (by local_sockets) while this consumer is stuck in a send with
        its backlog over the limit, so the close frame goes straight to the
        server rather than through this consumer's own queue.
        """
        if self.room is None:
            return
        SOCKETS_HUNG_UP.labels("too_far_behind").inc()
        logger.warning(
            "socket too far behind: hung up",
            extra={
                "room": self._room_code(),
                "session": self._session_hash(),
                "pending": pending,
                "code": CLOSE_TOO_FAR_BEHIND,
            },
        )
        await self._leave()
        await self.base_send({"type": "websocket.close", "code": CLOSE_TOO_FAR_BEHIND})

    async def send(self, text_data: str | None = None, bytes_data: bytes | None = None, close: bool = False) -> None:
        # Under a server with backpressure this waits while the client is not reading.
        self.send_waiting_since = time.monotonic()
        try:
            await super().send(text_data, bytes_data, close)
        finally:
            self.send_waiting_since = None

    async def _leave(self) -> None:
        """Take this socket out of its room and tell the others it left."""
        room = self.room
        if room is None:
            return
        self.room = None
        if self._gap_timer is not None:
            self._gap_timer.cancel()
        OPEN_SOCKETS.dec()
        local_sockets.discard(room.code, self)
        try:
            await self.channel_layer.group_discard(room_group(room.code), self.channel_name)
            await presence().remove(room.code, self.channel_name, self.identity.session_hash, self.address)
            # This socket is closed: the others alone hear that it left.
            state = await self._with_countdowns_in_step(room, await room_states.read(room))
            await self._publish(state, to_self=False)
        except Exception:
            logger.exception("disconnect cleanup failed", extra={"room": room.code})
        if not local_sockets.serves(room.code):
            room_states.forget(room)  # else every room this process ever served stays in its caches

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.room is None:
            return
        if frame_size(text_data, bytes_data) > settings.TICTAC["MAX_FRAME_BYTES"]:
            await self.close(code=CLOSE_TOO_BIG)
            return
        started = time.perf_counter()
        kind = "unparsed"
        try:
            if not await self.limits.allow():
                raise protocol.ProtocolError("rate_limited", "Too many messages: slow down.")
            if text_data is None:
                raise protocol.ProtocolError("bad_message", "Send JSON in text frames.")
            message = protocol.parse(text_data)
            kind = type(message).__name__.lower()
            await self._handle(message)
        except (protocol.ProtocolError, write.ActionRefused) as refusal:
            self._log_refusal(refusal.code, kind)
            await self._send_error(refusal.code, refusal.message)
        except Exception:
            logger.exception("message failed", extra={"room": self._room_code(), "session": self._session_hash()})
            self._log_refusal("unavailable", kind)
            await self._send_error("unavailable", "The server could not do that just now; try again.")
        MESSAGE_SECONDS.labels(kind).observe(time.perf_counter() - started)

    def _session_hash(self) -> str | None:
        """The session as logs name it (never the cookie itself): the start of the keyed hash its
        Player is stored under, so that a log line can be matched to a Player."""
        session_hash = self.identity.session_hash
        return session_hash[:12] if session_hash else None

    def _room_code(self) -> str:
        """The room this socket asked for (it may have left it since)."""
        code: str = self.scope["url_route"]["kwargs"]["code"]
        return code

    def _log_refusal(self, code: str, kind: str) -> None:
        MESSAGES_REFUSED.labels(code).inc()
        logger.info(
            "refused %s: %s",
            kind,
            code,
            extra={"room": self._room_code(), "session": self._session_hash(), "code": code, "message_type": kind},
        )

    async def _handle(self, message: protocol.ClientMessage) -> None:
        room = self.room
        assert room is not None
        player_id = self.identity.player_id
        match message:
            case protocol.Move(cell=cell, id=move_id):
                try:
                    game = await moves.aplay_move(room, player_id, cell, move_id)
                except write.AlreadyPlayed:
                    await self.push_state(await room_states.read(room))
                    return
                MOVES_ACCEPTED.inc()
                state = await room_states.read(room, game, reuse_presence=True)
                await self._publish(state, lobby=game.status in FINISHED_STATUSES)
            case protocol.Join(name=name):
                game, player = await seating.ajoin(room, self.identity, name)
                await self._keep_session()
                self.identity = replace(self.identity, player_id=player.id, player_name=player.name)
                state = await room_states.read(room, game)
                # Even a re-attach that changed nothing answers the joining socket.
                await self._send_state(state.encode(), state.seats, state.stamp, force=True)
                await self._publish(state)
            case protocol.Resign():
                await self._publish(await room_states.read(room, await moves.aresign(room, self.identity.player_id)))
            case protocol.Rematch():
                game = await rematch.arequest_rematch(room, self.identity.player_id)
                # The first request changes nothing the lobby shows; the second starts the next game.
                lobby = game.status not in FINISHED_STATUSES
                await self._publish(await room_states.read(room, game, reuse_presence=True), lobby=lobby)
            case protocol.Chat(text=text):
                if self.identity.session_key is None:
                    raise write.ActionRefused("no_session", "Open the room page first: chatting needs a session.")
                if self.address and not await budgets.spend("chat_per_address", self.address):
                    raise write.ActionRefused("rate_limited", "Too much chat from your network: wait a minute.")
                line = await chat.asave_chat(room, self.identity.player_name or "Spectator", self._mark(), text)
                await self._keep_session()
                await self.channel_layer.group_send(
                    room_group(room.code), {"type": "room.chat", "message": json.dumps(line)}
                )
            case protocol.Claim(result=result):
                # The opponent's worker may have died without a goodbye: presence
                # knows they are gone before any countdown does, so ask it first.
                seen = await presence().snapshot(room.code)
                if (noticed := await endings.anote_presence(room, seen.sessions)) is not None:
                    await self._publish(await room_states.read(room, noticed))
                await self._publish(await room_states.read(room, await endings.aclaim(room, player_id, result)))
            case protocol.OfferDraw():
                await self._publish(await room_states.read(room, await offers.aoffer_draw(room, player_id)))
            case protocol.Takeback():
                await self._publish(await room_states.read(room, await offers.arequest_takeback(room, player_id)))
            case protocol.AddComputer(level=level):
                computer_players.refuse_if_full(room.code, client=self._computer_client(), size=room.size)
                if self.address and not await budgets.spend("computer_games_per_address", self.address):
                    raise write.ActionRefused("too_many_bots", budgets.TOO_MANY_COMPUTER_GAMES)
                game = await computer.aadd_computer(room, self.identity, level)
                computer_players.playing_in(room.code, client=self._computer_client(), size=room.size)
                await self._publish(await room_states.read(room, game))
            case protocol.Answer(accept=accept):
                game = await offers.aanswer_offer(room, player_id, accept=accept)
                await self._publish(await room_states.read(room, game), lobby=game.status in FINISHED_STATUSES)
            case protocol.Sync():
                state = await room_states.read(room)
                await self._send_state(state.encode(), state.seats, state.stamp, force=True)
            case protocol.Ping():
                await self.send(text_data='{"type":"pong"}')

    async def _keep_session(self) -> None:
        """This visitor took part: their session lives its full age, not an idle visitor's day."""
        if not self.session_kept and self.identity.session_key is not None:
            await akeep_session(self.identity.session_key)
            self.session_kept = True

    def _computer_client(self) -> str | None:
        """Whom the computer's searches in this room count against (computer_turns), if this socket plays in it."""
        if self._mark() is None:
            return None
        return client_of(self.address, self.identity.session_hash)

    def _mark(self) -> str | None:
        player_id = self.identity.player_id
        if player_id is None:
            return None
        return next((mark for mark, seat in self.seats.items() if seat == player_id), None)

    async def _publish(self, state: RoomState, *, lobby: bool = True, to_self: bool = True) -> None:
        """Send a state to this socket at once, then announce it (broadcast.announce): to everyone in
        the room, the lobby and the computer.

        The state describes something already committed, so a broadcast that
        fails (Redis away) is not this socket's error: the others get the
        state when Redis is back (see local_sockets).
        """
        assert self.connected_room is not None
        await announce(
            self.connected_room,
            state=state,
            lobby=lobby,
            first=self._show_own if to_self else None,
            client=self._computer_client() if self.room is not None else None,  # none once it has left
            layer=self.channel_layer,
        )

    async def _show_own(self, state: RoomState) -> None:
        await self._send_state(state.encode(), state.seats, state.stamp)

    async def push_state(self, state: RoomState) -> None:
        """Send ``state`` to this socket (used to resync after a Redis outage)."""
        await self._send_state(state.encode(), state.seats, state.stamp, force=True)

    async def _send_state(
        self, encoded: str, seats: dict[str, int | None], stamp: StateStamp, *, force: bool = False
    ) -> None:
        await self._show(self.shown.offer(stamp, (encoded, seats), force=force))
        if not self.shown.holding and self._gap_timer is not None:  # the gap was filled
            self._gap_timer.cancel()
            self._gap_timer = None
        elif self.shown.holding and self._gap_timer is None:
            self._gap_timer = asyncio.get_running_loop().call_later(HOLD_SECONDS, self._gap_timed_out)

    def _gap_timed_out(self) -> None:
        """The states of a gap never came (a change that was not published): show what is held."""
        self._gap_timer = None
        logger.info("a state never came: showing the held ones", extra={"room": self._room_code()})
        if self.room is not None:
            self._releasing = asyncio.ensure_future(self._show(self.shown.release()))

    async def _show(self, states: list[tuple[str, dict[str, int | None]]]) -> None:
        for encoded, seats in states:
            self.seats = seats
            await self.send(text_data=add_you(encoded, self._mark()))

    async def _send_error(self, code: str, message: str) -> None:
        await self.send(text_data=json.dumps({"type": "error", "code": code, "message": message}))

    # --- Group messages -----------------------------------------------------

    async def room_state(self, event: dict[str, Any]) -> None:
        room = self.room
        assert room is not None  # dispatch passes group messages only to a socket in its room
        stamp: StateStamp = tuple(event["stamp"])
        room_states.note_received(room, event)
        if self.shown.misses_a_presence_change(stamp):
            # The room as it is now, in its place: a move or more may be on their way before it.
            fresh = await room_states.read(room)
            await self._send_state(fresh.encode(), fresh.seats, fresh.stamp)
            return
        await self._send_state(event["state"], event["seats"], stamp)

    async def room_heartbeat(self, event: dict[str, Any]) -> None:
        """A process's heartbeat through the room's group (local_sockets): passed on to the page, which
        takes its silence for connection trouble; first, if the room is ahead of what this socket has shown
        (a state was missed, as one published while it subscribed), the room's fresh state."""
        room = self.room
        assert room is not None  # dispatch passes group messages only to a socket in its room
        number, version = int(event["number"]), int(event["version"])
        shown = self.shown.last
        if shown is None or (number, version) > shown[:2]:
            try:
                fresh = await local_sockets.state_at_least(room, (number, version))
            except Exception:  # the next heartbeat tries again
                logger.warning("catching up after a heartbeat failed", extra={"room": room.code}, exc_info=True)
            else:
                await self._send_state(fresh.encode(), fresh.seats, fresh.stamp)
        await self.send(text_data=json.dumps({"type": "heartbeat", "number": number, "version": version}))

    async def room_chat(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event["message"])

    async def room_closed(self, event: dict[str, Any]) -> None:
        """The host closed the room: show the last state, then hang up for good."""
        if self.room is not None:
            # The state published when this socket leaves must not reopen the room in the lobby.
            self.room.is_open = False
        await self._send_state(event["state"], event["seats"], tuple(event["stamp"]), force=True)
        await self.close(code=CLOSE_ROOM_CLOSED)

    async def room_kicked(self, event: dict[str, Any]) -> None:
        """The host freed a seat: its holder's sockets are told and closed."""
        if self.identity.player_id != event["player_id"]:
            return
        await self._send_error("kicked", "The host freed your seat.")
        await self.close(code=CLOSE_KICKED)
