from django.urls import path, re_path

from . import consumers, pool_consumer, tournament_consumer
from .models import ROOM_CODE_PATTERN

websocket_urlpatterns = [
    re_path(rf"^ws/rooms/(?P<code>{ROOM_CODE_PATTERN})/$", consumers.RoomConsumer.as_asgi()),
    path("ws/lobby/", consumers.LobbyConsumer.as_asgi()),
    path("ws/play/<str:key>/", pool_consumer.SeekConsumer.as_asgi()),
    path("ws/tournaments/<int:tournament_id>/", tournament_consumer.TournamentConsumer.as_asgi()),
]
