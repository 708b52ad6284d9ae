from django.urls import path, re_path

from game.models import ROOM_CODE_PATTERN
from game.web import lobby_views, operator_views, qr_views, rating_views, replay_views, room_views

app_name = "game"

urlpatterns = [
    path("", lobby_views.lobby, name="lobby"),
    path("rooms/", lobby_views.create_room, name="create_room"),
    path("play/", lobby_views.quick_play, name="quick_play"),
    path("play/computer/", lobby_views.play_computer, name="play_computer"),
    path("play/<str:key>/", lobby_views.seek, name="seek"),
    path("join/", lobby_views.join_by_code, name="join_by_code"),
    re_path(rf"^rooms/(?P<code>{ROOM_CODE_PATTERN})/$", room_views.room, name="room"),
    re_path(rf"^api/rooms/(?P<code>{ROOM_CODE_PATTERN})/$", room_views.room_api, name="room_api"),
    re_path(rf"^rooms/(?P<code>{ROOM_CODE_PATTERN})/qr/play\.svg$", qr_views.play_qr, name="play_qr"),
    re_path(rf"^rooms/(?P<code>{ROOM_CODE_PATTERN})/qr/watch\.svg$", qr_views.watch_qr, name="watch_qr"),
    re_path(rf"^rooms/(?P<code>{ROOM_CODE_PATTERN})/games/$", replay_views.room_games, name="room_games"),
    path("games/<int:game_id>/", replay_views.replay, name="replay"),
    path("games/<int:game_id>.txt", replay_views.game_text, name="game_text"),
    path("games/<int:game_id>.json", replay_views.game_json, name="game_json"),
    path("healthz", operator_views.healthz, name="healthz"),
    path("metrics", operator_views.metrics, name="metrics"),
]

# Accounts' pages are in tictac/urls.py (Django's auth views); these read ratings.
urlpatterns += [
    path("players/<str:username>/", rating_views.profile, name="profile"),
    path("leaderboard/", rating_views.leaderboard, name="leaderboard"),
]
