"""A room's chat: lines saved with a bound on how many are kept, and the newest read back."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from channels.db import database_sync_to_async

from game.models import (
    ChatMessage,
    Room,
)
from game.storage.compiled_reads import CompiledRead

CHAT_KEPT = 50


def _chat_line(message: ChatMessage) -> dict[str, Any]:
    """A stored chat line as the protocol's ``chat`` message."""
    return {
        "type": "chat",
        "name": message.name,
        "mark": message.mark or None,
        "text": message.text,
        "at": message.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def save_chat(room: Room, name: str, mark: str | None, text: str) -> dict[str, Any]:
    """Keep a chat line (the room's last CHAT_KEPT come with its page) and return its ``chat`` message."""
    message = ChatMessage.objects.create(room=room, name=name, mark=mark or "", text=text)
    if message.pk % 10 == 0:  # prune now and then, not on every line
        oldest_kept = (
            ChatMessage.objects.filter(room=room)
            .order_by("-id")
            .values_list("id", flat=True)[CHAT_KEPT - 1 : CHAT_KEPT]
        )
        if oldest_kept:
            ChatMessage.objects.filter(room=room, id__lt=oldest_kept[0]).delete()
    return _chat_line(message)


_NEWEST_CHAT = CompiledRead(
    ChatMessage,
    lambda room_id: ChatMessage.objects.filter(room_id=room_id).order_by("-id")[:CHAT_KEPT],
    ("room",),
    (1,),
)


def recent_chat(room: Room) -> list[dict[str, Any]]:
    """The room's last CHAT_KEPT chat messages, oldest first (every room page shows them)."""
    return [_chat_line(message) for message in reversed(_NEWEST_CHAT.all(room.pk))]


asave_chat = database_sync_to_async(save_chat)
