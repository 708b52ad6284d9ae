"""Arena tournaments' pages: the list, a tournament's page and JSON, joining (budgeted), and where the lobby and a
tournament's rooms show them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client

from game.actions import arena_rounds, identities, rooms, tournaments, write
from game.models import Player, TournamentEntry
from game.tournament_models import Tournament
from testing.clients import unused_address

pytestmark = pytest.mark.django_db


def _tournament(name: str = "Evening arena", starts_in: timedelta = timedelta(0), minutes: int = 30) -> Tournament:
    return tournaments.create_tournament(
        name, starts_at=write.now() + starts_in, duration=timedelta(minutes=minutes), time_control="budget:60+2"
    )


def test_the_list_shows_coming_running_and_finished_tournaments(client: Client) -> None:
    _tournament("Later", starts_in=timedelta(hours=1))
    _tournament("Now")
    _tournament("Before", starts_in=timedelta(hours=-2))
    page = client.get("/tournaments/")
    assert page.status_code == 200
    sections = {key: [row["tournament"].name for row in rows] for key, _, rows in page.context["sections"]}
    assert sections == {"coming": ["Later"], "running": ["Now"], "finished": ["Before"]}
    assert "3×3 · 3 in a row · 1 min + 2 s" in page.content.decode()


def test_the_json_gives_the_tournament_and_its_standings(client: Client) -> None:
    tournament = _tournament()
    client.post(f"/tournaments/{tournament.pk}/join/", {"name": "alice"})
    answer = client.get(f"/tournaments/{tournament.pk}.json").json()
    assert {key: answer[key] for key in ("id", "name", "status", "joined", "url")} == {
        "id": tournament.pk,
        "name": "Evening arena",
        "status": "started",
        "joined": 1,
        "url": f"/tournaments/{tournament.pk}/",
    }
    assert answer["starts_at"] == tournament.starts_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert answer["ends_at"] == tournament.ends_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert answer["time_control"] == {"kind": "budget", "seconds": 60, "increment": 2}
    assert [
        (player["name"], player["score"], player["games"], player["streak"], player["rank"])
        for player in answer["players"]
    ] == [("alice", 0, 0, 0, 1)]
    assert "you" not in answer
    missing = client.get("/tournaments/987654.json")
    assert (missing.status_code, missing.json()["error"]) == (404, "not_found")
    assert client.get("/tournaments/987654/").status_code == 404


def test_joining_gives_a_visitor_a_session_and_an_entry_and_sends_them_back_to_the_page(client: Client) -> None:
    tournament = _tournament()
    response = client.post(f"/tournaments/{tournament.pk}/join/", {"name": "dora"})
    assert response.status_code == 302
    assert response["Location"] == f"/tournaments/{tournament.pk}/"
    assert client.cookies["sessionid"].value
    entry = TournamentEntry.objects.get(tournament=tournament)
    assert (entry.name, entry.active, entry.player.name) == ("dora", True, "dora")
    page = client.get(f"/tournaments/{tournament.pk}/")
    assert page.context["message"]["you"] == {"name": "dora", "rank": 1, "active": True, "playing": False}
    assert f'data-ws-path="/ws/tournaments/{tournament.pk}/"' in page.content.decode()
    # Withdrawing keeps the entry; the page offers the join button again.
    assert client.post(f"/tournaments/{tournament.pk}/withdraw/").status_code == 302
    assert not TournamentEntry.objects.get(pk=entry.pk).active
    assert client.get(f"/tournaments/{tournament.pk}/").context["message"]["you"]["active"] is False


def test_joining_a_finished_tournament_or_with_a_bad_name_changes_nothing(client: Client) -> None:
    over = _tournament(starts_in=timedelta(hours=-1))
    response = client.post(f"/tournaments/{over.pk}/join/", {"name": "late"})
    assert response.status_code == 409
    assert "This tournament is over." in response.content.decode()
    running = _tournament()
    assert client.post(f"/tournaments/{running.pk}/join/", {"name": "x" * 40}).status_code == 400
    assert (TournamentEntry.objects.count(), Player.objects.count()) == (0, 0)
    assert "sessionid" not in client.cookies


def test_joining_is_budgeted_per_session(tight: dict[str, Any], address: str) -> None:
    tight["BUDGETS"]["tournament_joins_per_session"] = (2, 3600)
    tournament = _tournament()
    client = Client(REMOTE_ADDR=address)
    codes = [client.post(f"/tournaments/{tournament.pk}/join/").status_code for _ in range(3)]
    assert codes == [302, 302, 429]
    assert "pressed join many times" in client.post(f"/tournaments/{tournament.pk}/join/").content.decode()
    assert Client(REMOTE_ADDR=address).post(f"/tournaments/{tournament.pk}/join/").status_code == 302


def test_joining_is_budgeted_per_address_with_a_cookie_or_without(tight: dict[str, Any], address: str) -> None:
    tight["BUDGETS"]["tournament_joins_per_address"] = (2, 3600)
    tournament = _tournament()
    path = f"/tournaments/{tournament.pk}/join/"
    assert [Client(REMOTE_ADDR=address).post(path).status_code for _ in range(2)] == [302, 302]
    refused = Client(REMOTE_ADDR=address)
    assert refused.post(path).status_code == 429
    assert "sessionid" not in refused.cookies  # refused before a session is made for it
    assert TournamentEntry.objects.count() == 2
    assert Client(REMOTE_ADDR=unused_address()).post(path).status_code == 302


def test_the_lobby_shows_a_running_tournament_with_a_join_button(client: Client) -> None:
    tournament = _tournament("Lobby arena")
    _tournament("Not yet", starts_in=timedelta(hours=1))
    page = client.get("/")
    assert [shown["name"] for shown in page.context["tournaments"]] == ["Lobby arena"]
    html = page.content.decode()
    assert f'action="/tournaments/{tournament.pk}/join/"' in html
    assert "Not yet" not in html


def test_a_tournament_rooms_page_leads_back_to_the_tournament_instead_of_a_rematch(client: Client) -> None:
    tournament = _tournament()
    for name in ("alice", "bob"):
        entry = tournaments.join(tournament, identities.Identity(session_key=name * 8), name)
        tournaments.mark_present(tournament.pk, [entry.player_id])
    (new,) = arena_rounds.run_round(tournament.pk, "test").paired
    page = client.get(f"/rooms/{new.room.code}/")
    assert page.context["tournament"] == {
        "id": tournament.pk,
        "name": "Evening arena",
        "url": f"/tournaments/{tournament.pk}/",
    }
    html = page.content.decode()
    assert f'id="back-to-tournament" href="/tournaments/{tournament.pk}/"' in html
    assert "after-game in-tournament" in html
    ordinary = rooms.create_room(name="plain")
    assert client.get(f"/rooms/{ordinary.code}/").context["tournament"] is None


def test_a_host_sets_up_a_tournament_in_the_admin_and_ends_it_early(admin_client: Client) -> None:
    form = admin_client.get("/admin/game/tournament/add/")
    assert form.status_code == 200
    starts = form.context["adminform"].form.initial["starts_at"]
    fields = {
        "name": "Admin arena",
        "size": "3",
        "win_length": "3",
        "time_control": "move:15",
        "starts_at_0": starts.strftime("%Y-%m-%d"),
        "starts_at_1": starts.strftime("%H:%M:%S"),
        "duration": "00:30:00",
        "away_seconds": "30",
        "entries-TOTAL_FORMS": "0",
        "entries-INITIAL_FORMS": "0",
    }
    refused = admin_client.post("/admin/game/tournament/add/", {**fields, "time_control": "none"})
    assert refused.status_code == 200  # the form again, with why
    assert "clocked" in refused.content.decode()
    assert admin_client.post("/admin/game/tournament/add/", fields).status_code == 302
    tournament = Tournament.objects.get(name="Admin arena")
    assert tournament.ends_at == tournament.starts_at + timedelta(minutes=30)
    assert tournaments.read_standings(tournament).status == "started"
    response = admin_client.post(
        "/admin/game/tournament/", {"action": "end_now", "_selected_action": [tournament.pk]}, follow=True
    )
    assert response.status_code == 200
    tournament.refresh_from_db()
    assert tournaments.read_standings(tournament).status == "finished"
