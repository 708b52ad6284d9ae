from django.urls import path, re_path

from game.models import ROOM_CODE_PATTERN
from game.web import lobby_consumer, pool_consumer, room_consumer, tournament_consumer

websocket_urlpatterns = [
    re_path(rf"^ws/rooms/(?P<code>{ROOM_CODE_PATTERN})/$", room_consumer.RoomConsumer.as_asgi()),
    path("ws/lobby/", lobby_consumer.LobbyConsumer.as_asgi()),
    path("ws/play/<str:key>/", pool_consumer.SeekConsumer.as_asgi()),
    path("ws/tournaments/<int:tournament_id>/", tournament_consumer.TournamentConsumer.as_asgi()),
]
