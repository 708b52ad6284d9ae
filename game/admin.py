from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from game.actions import tournaments, write
from game.domain import rules
from game.models import Game, Move, Player, Room, Tournament, TournamentEntry
from game.web import host_actions


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin[Room]):
    list_display = ["code", "name", "size", "win_length", "host", "is_open", "quick_play", "created_at"]
    list_filter = ["is_open", "quick_play", "size", "win_length", "created_at"]
    search_fields = ["code", "name", "host__username"]
    readonly_fields = ["created_at"]
    actions = ["close_rooms", "open_rooms", "kick_x", "kick_o"]

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        return {"host": request.user.pk}

    def save_model(self, request: HttpRequest, obj: Room, form: Any, change: bool) -> None:
        closing = change and "is_open" in form.changed_data and not obj.is_open
        super().save_model(request, obj, form, change)
        write.current_game(obj)  # a new room starts with its first game
        if closing:
            host_actions.close_room(obj)
        elif change:
            host_actions.publish(obj)

    @admin.action(description="Close the selected rooms (their players are disconnected)")
    def close_rooms(self, request: HttpRequest, queryset: QuerySet[Room]) -> None:
        for room in queryset.filter(is_open=True):
            host_actions.close_room(room)

    @admin.action(description="Open the selected rooms")
    def open_rooms(self, request: HttpRequest, queryset: QuerySet[Room]) -> None:
        for room in queryset.filter(is_open=False):
            room.is_open = True
            room.save(update_fields=["is_open"])
            host_actions.publish(room)

    @admin.action(description="Free seat X in the current game")
    def kick_x(self, request: HttpRequest, queryset: QuerySet[Room]) -> None:
        self._kick(request, queryset, rules.X)

    @admin.action(description="Free seat O in the current game")
    def kick_o(self, request: HttpRequest, queryset: QuerySet[Room]) -> None:
        self._kick(request, queryset, rules.O)

    def _kick(self, request: HttpRequest, queryset: QuerySet[Room], mark: rules.Mark) -> None:
        freed = sum(host_actions.kick(room, mark) for room in queryset)
        self.message_user(request, f"Freed seat {mark} in {freed} room(s).")


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    """Games and moves are history: the admin shows them but never edits them."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ListedInline(admin.TabularInline[Any, Any]):
    """Rows shown under their parent as they are (a game's moves, a tournament's entries): none added or
    deleted here, each field read-only (subclasses set ``readonly_fields = fields``)."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class MoveInline(ListedInline):
    model = Move
    fields = ("number", "cell", "mark", "player", "created_at")
    readonly_fields = fields


@admin.register(Game)
class GameAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "room", "number", "status", "winner", "move_count", "player_x", "player_o", "updated_at"]
    list_filter = ["status", "winner", "room__size", "created_at"]
    search_fields = ["room__code", "room__name", "player_x__name", "player_o__name"]
    list_select_related = ["room", "player_x", "player_o"]
    inlines = [MoveInline]


@admin.register(Move)
class MoveAdmin(ReadOnlyAdmin):
    list_display = ["game", "number", "cell", "mark", "player", "created_at"]
    list_filter = ["mark", "created_at"]
    search_fields = ["game__room__code", "player__name"]
    list_select_related = ["game__room", "player"]


@admin.register(Player)
class PlayerAdmin(admin.ModelAdmin[Player]):
    list_display = ["name", "user", "created_at"]
    search_fields = ["name", "user__username"]
    # The session's hash is no use to a person and is never shown.
    exclude = ["session_hash"]
    readonly_fields = ["created_at"]


class TournamentEntryInline(ListedInline):
    model = TournamentEntry
    fields = ("name", "player", "active", "joined_at")
    readonly_fields = fields


@admin.register(Tournament)
class TournamentAdmin(admin.ModelAdmin[Tournament]):
    """Hosts run arenas here: a name, the board, a clock, when it starts and for how long."""

    list_display = ["name", "starts_at", "ends_at", "size", "win_length", "time_control", "rated", "host"]
    list_filter = ["rated", "size", "starts_at"]
    search_fields = ["name", "host__username"]
    fields = ["name", "size", "win_length", "time_control", "rated"]
    fields += ["starts_at", "duration", "ends_at", "away_seconds", "host"]
    readonly_fields = ["ends_at", "created_at"]
    inlines = [TournamentEntryInline]
    actions = ["end_now"]

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        return {"host": request.user.pk, "starts_at": write.now()}

    @admin.action(description="End the selected tournaments now (games being played still count)")
    def end_now(self, request: HttpRequest, queryset: QuerySet[Tournament]) -> None:
        for tournament in queryset:
            tournaments.end_now(tournament)
