from django.urls import path, re_path

from game.models import ROOM_CODE_PATTERN
from game.web import (
    analysis_views,
    lobby_views,
    operator_views,
    qr_views,
    rating_views,
    replay_views,
    room_views,
    tournament_views,
)

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
    path("games/<int:game_id>/analysis.json", analysis_views.game_analysis, name="game_analysis"),
    path("healthz", operator_views.healthz, name="healthz"),
    path("metrics", operator_views.metrics, name="metrics"),
]

# Arena tournaments (a host makes them in the admin).
urlpatterns += [
    path("tournaments/", tournament_views.tournament_list, name="tournaments"),
    path("tournaments/<int:tournament_id>/", tournament_views.tournament_page, name="tournament"),
    path("tournaments/<int:tournament_id>.json", tournament_views.tournament_json, name="tournament_json"),
    path("tournaments/<int:tournament_id>/join/", tournament_views.join, name="tournament_join"),
    path("tournaments/<int:tournament_id>/withdraw/", tournament_views.withdraw, name="tournament_withdraw"),
]

# Accounts' pages are in tictac/urls.py (Django's auth views); these read ratings.
urlpatterns += [
    path("players/<str:username>/", rating_views.profile, name="profile"),
    path("leaderboard/", rating_views.leaderboard, name="leaderboard"),
]
