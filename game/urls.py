from django.urls import path, re_path

from . import views
from .models import ROOM_CODE_PATTERN

app_name = "game"

urlpatterns = [
    path("", views.lobby, name="lobby"),
    path("rooms/", views.create_room, name="create_room"),
    path("play/", views.quick_play, name="quick_play"),
    path("join/", views.join_by_code, name="join_by_code"),
    re_path(rf"^rooms/(?P<code>{ROOM_CODE_PATTERN})/$", views.room, name="room"),
    re_path(rf"^api/rooms/(?P<code>{ROOM_CODE_PATTERN})/$", views.room_api, name="room_api"),
    path("healthz", views.healthz, name="healthz"),
    path("metrics", views.metrics, name="metrics"),
]
