"""Data migrations, run on rows as they stood before them."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor


@pytest.mark.django_db(transaction=True)
def test_rooms_quick_play_made_are_marked_as_such_and_a_hosts_room_of_that_name_is_not() -> None:
    before, after = [("game", "0010_referee_indexes")], [("game", "0011_room_quick_play")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    host = old.get_model("auth", "User").objects.create(username="host")
    Room = old.get_model("game", "Room")
    Room.objects.create(code="pool-made", name="Quick play")
    Room.objects.create(code="host-made", name="Quick play", host=host)
    Room.objects.create(code="ordinary", name="Friday")

    executor = MigrationExecutor(connection)  # the graph as it now stands in the database
    executor.migrate(after)
    new = executor.loader.project_state(after).apps
    marked = dict(new.get_model("game", "Room").objects.values_list("code", "quick_play"))
    assert marked == {"pool-made": True, "host-made": False, "ordinary": False}
    executor.loader.build_graph()
    MigrationExecutor(connection).migrate(executor.loader.graph.leaf_nodes())
