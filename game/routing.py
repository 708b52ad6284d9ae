from django.urls import path, re_path

from game.models import ROOM_CODE_PATTERN
from game.web import consumers, pool_consumer

websocket_urlpatterns = [
    re_path(rf"^ws/rooms/(?P<code>{ROOM_CODE_PATTERN})/$", consumers.RoomConsumer.as_asgi()),
    path("ws/lobby/", consumers.LobbyConsumer.as_asgi()),
    path("ws/play/<str:key>/", pool_consumer.SeekConsumer.as_asgi()),
]
