"""Redis's own counters, read with ``INFO``: its CPU, its commands by name, its bytes in and out.

Shared by ``bench.costs`` (per unit) and every bench phase (Redis commands per move, issue 24).
"""

from __future__ import annotations

import socket


class RedisStats:
    """``INFO`` over a socket of its own, with this reader's own bytes and commands left out of the counts."""

    REQUEST = b"INFO all\r\n"  # one section list for Redis 6 and 7

    def __init__(self, port: int) -> None:
        self.connection = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.bytes_in = 0
        self.bytes_out = 0
        self.version = ""

    def read(self) -> dict[str, float]:
        self.connection.sendall(self.REQUEST)
        self.bytes_in += len(self.REQUEST)
        reply = self._reply()
        info: dict[str, str] = {}
        for line in reply.decode().splitlines():
            name, _, value = line.partition(":")
            if value:
                info[name] = value
        self.version = info["redis_version"]
        counters = {
            "redis_cpu_ms": (float(info["used_cpu_sys"]) + float(info["used_cpu_user"])) * 1000,
            # Held, not spent: a phase's difference is what it left in Redis (presence, subscriptions).
            "redis_memory_bytes": float(info["used_memory"]),
            # The reply to this INFO is counted by the next one: what this reader sent and got so far.
            "redis_in_bytes": float(info["total_net_input_bytes"]) - self.bytes_in,
            "redis_out_bytes": float(info["total_net_output_bytes"]) - self.bytes_out,
        }
        self.bytes_out += len(reply) + len(f"${len(reply)}\r\n\r\n")
        commands = 0.0
        for name, value in info.items():
            if name.startswith("cmdstat_") and name != "cmdstat_info":
                calls = float(value.split(",", 1)[0].removeprefix("calls="))
                counters[f"redis_command:{name.removeprefix('cmdstat_')}"] = calls
                commands += calls
        counters["redis_commands"] = commands
        return counters

    def _reply(self) -> bytes:
        """One RESP bulk string: ``$<length>\\r\\n<bytes>\\r\\n``."""
        data = b""
        while b"\r\n" not in data:
            data += self.connection.recv(65536)
        header, _, data = data.partition(b"\r\n")
        length = int(header[1:])
        while len(data) < length + 2:
            data += self.connection.recv(65536)
        return data[:length]

    def close(self) -> None:
        self.connection.close()
