"""``python -m bench.costs`` counts what it should: its readers leave themselves out, a phase's figure
leaves out the idle system's, and the capacity model adds a player's moves, visits and socket."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import psycopg
import pytest

from bench.capacity import HumanPace, Memory, per_player, sizing
from bench.cost_meters import DatabaseStats, Window, per_socket_second, per_unit
from bench.costs import POSTGRES_SETTINGS
from bench.redis_stats import RedisStats
from testing.postgres import EmbeddedPostgres, find_bin_dir
from tictac.embedded_redis import EmbeddedRedis


def _changes(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {key: after[key] - before.get(key, 0.0) for key in after if after[key] != before.get(key, 0.0)}


@pytest.fixture
def redis() -> Iterator[EmbeddedRedis]:
    """A Redis of its own: the session's carries other tests' commands."""
    with EmbeddedRedis() as server:
        yield server


def test_redis_readings_leave_out_their_own_info_commands_and_bytes(redis: EmbeddedRedis) -> None:
    stats = RedisStats(redis.port)
    first = stats.read()
    second = stats.read()
    third = stats.read()
    stats.close()
    changes = _changes(first, second) | _changes(second, third)
    assert {key: value for key, value in changes.items() if key != "redis_cpu_ms"} == {}


def test_a_publish_between_two_redis_readings_counts_one_command_and_its_bytes(redis: EmbeddedRedis) -> None:
    stats = RedisStats(redis.port)
    before = stats.read()
    request = b"PUBLISH room-1 hello\r\n"
    with socket.create_connection(("127.0.0.1", redis.port)) as client:
        client.sendall(request)
        reply = client.recv(16)
    after = stats.read()
    stats.close()
    changes = _changes(before, after)
    assert reply == b":0\r\n"
    assert changes["redis_commands"] == 1
    assert changes["redis_command:publish"] == 1
    assert changes["redis_in_bytes"] == len(request)
    assert changes["redis_out_bytes"] == len(reply)


@pytest.fixture(scope="module")
def postgres_with_statements() -> Iterator[EmbeddedPostgres]:
    if find_bin_dir() is None:
        pytest.skip("PostgreSQL is not installed here (apt-get install postgresql)")
    server = EmbeddedPostgres(POSTGRES_SETTINGS).start()
    yield server
    server.stop()


@pytest.mark.slow  # starts PostgreSQL
def test_a_database_reading_counts_a_write_transaction_and_not_itself(
    postgres_with_statements: EmbeddedPostgres,
) -> None:
    url = postgres_with_statements.create_database()
    with psycopg.connect(url, autocommit=True) as writer:
        writer.execute("CREATE TABLE scores (id serial PRIMARY KEY, points int)")
        writer.execute("SELECT pg_stat_force_next_flush()")
    # Opened first: a new connection's start-up is a transaction of its own too.
    writer = psycopg.connect(url)
    writer.execute("SELECT pg_stat_force_next_flush()")
    writer.commit()
    stats = DatabaseStats(url)
    before = stats.read()
    unchanged = stats.read()
    writer.execute("INSERT INTO scores (points) VALUES (3), (4)")
    writer.execute("SELECT pg_stat_force_next_flush()")
    writer.commit()
    after = stats.read()
    stats.close()
    writer.close()
    # WAL is the cluster's, written by its own processes too (a checkpoint, pruning a page): not the reader's.
    assert {key for key in _changes(before, unchanged) if not key.startswith("db_wal_")} == set()
    changes = _changes(unchanged, after)
    assert changes["db_transactions"] == 1
    assert changes["db_rows_inserted"] == changes["db_rows_written"] == changes["db_inserted:scores"] == 2
    assert changes["db_statement:INSERT"] == changes["db_write_statements"] == 1
    assert changes["db_wal_bytes"] > 0


def test_a_phase_per_unit_leaves_out_the_idle_rate_and_the_idle_sockets_rate() -> None:
    idle = Window(seconds=20, counters={"worker_cpu_ms": 40.0}, other_cpu_cores=0)
    phase = Window(seconds=10, counters={"worker_cpu_ms": 100.0}, other_cpu_cores=0)
    socket_rate = {"worker_cpu_ms": 0.01}
    # 100 ms, less 10 s × 2 ms/s idle and 1,000 socket-seconds × 0.01 ms: 70 ms over 7 moves.
    assert per_unit(phase, 7, idle, socket_rate, socket_seconds=1000) == {"worker_cpu_ms": 10.0}


def test_an_idle_socket_costs_what_the_sockets_add_to_the_idle_rate() -> None:
    idle = Window(seconds=10, counters={"redis_commands": 0.0, "worker_cpu_ms": 20.0}, other_cpu_cores=0)
    sockets = Window(seconds=60, counters={"redis_commands": 36_000.0, "worker_cpu_ms": 4_920.0}, other_cpu_cores=0)
    rate = per_socket_second(sockets, 1000, idle)
    assert rate == pytest.approx({"redis_commands": 0.6, "worker_cpu_ms": 0.08})


def test_a_player_at_human_pace_costs_its_moves_its_visits_and_its_socket() -> None:
    units = {
        "move": {"worker_cpu_ms": 8.0},
        "visitor_join": {"worker_cpu_ms": 30.0},
        "visitor_leave": {"worker_cpu_ms": 6.0},
        "idle_socket_minute": {"worker_cpu_ms": 6.0},
    }
    pace = HumanPace(seconds_between_moves=4, visits_per_hour=100)
    # A move every 8 s for 1 ms/s, a visit every 36 s for 1 ms/s, the socket 0.1 ms/s.
    assert per_player(units, pace)["worker_cpu_ms"] == pytest.approx(2.1)


def test_workers_and_shards_are_whole_processes_at_the_planned_utilisation() -> None:
    player = {
        "worker_cpu_ms": 1.0, "redis_cpu_ms": 0.01, "redis_commands": 1.0, "redis_in_bytes": 0.0,
        "redis_out_bytes": 0.0, "postgres_cpu_ms": 0.2, "db_transactions": 0.25, "db_write_statements": 0.3,
        "db_rows_written": 0.3, "db_wal_bytes": 100.0,
    }  # fmt: skip
    sized = sizing(player, 1000, HumanPace(utilisation=0.5), Memory(100, 40, 1000))
    assert sized["worker_cores_busy"] == 1.0
    assert sized["workers"] == 2
    assert sized["redis_shards"] == 1
    assert sized["worker_rss_mb"] == pytest.approx(100 + 500 * 40 / 1024)
    assert sized["db_rows_per_second"] == pytest.approx(300)
