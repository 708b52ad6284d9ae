"""The baseline: the naive broadcast consumer the Channels tutorials teach.

It keeps no state and checks nothing: every text frame a socket sends is
``group_send``-ed to its room's group, and every group message is written
to the socket. The benchmark plays the same games through it (the clients
keep the board themselves), so the difference to tictac is the price of
validation, persistence and presence.

Serve it like tictac, with the same server, settings and channel layer:
``daphne bench.naive_asgi:application``, with ``bench.baseline_settings``
(tictac's settings plus the baseline page). HTTP goes to Django's own ASGI
handler: tictac's URLs (for /healthz) and the baseline page
(``bench/baseline.py``: a minimal view rendering a template with a
session), which the crowd loads instead of tictac's room page.
"""

import os
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.baseline_settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.urls import path  # noqa: E402

from tictac.servers import daphne_compat  # noqa: E402

NAIVE_PATH = "ws/naive/<str:room>/"


class NaiveBroadcastConsumer(AsyncWebsocketConsumer):
    """Relays every text frame to everyone in the room, the sender included."""

    group: str

    async def connect(self) -> None:
        self.group = f"naive.{self.scope['url_route']['kwargs']['room']}"
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data is not None:
            await self.channel_layer.group_send(self.group, {"type": "relay", "text": text_data})

    async def relay(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event["text"])


# The same server behaviour as tictac under daphne (close codes), so only the consumer differs.
daphne_compat.install()

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter([path(NAIVE_PATH, NaiveBroadcastConsumer.as_asgi())]))
        ),
    }
)
