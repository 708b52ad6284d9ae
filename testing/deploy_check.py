"""``python3 run.py deploy-check``: ``docker compose up`` proven on this machine.

It runs what an operator runs (README, Production) on a real Docker engine and
checks what they would look for, step by step, printing PASS or FAIL for each
and the total time:

1. the engine: Debian's ``docker.io`` (and ``docker-compose``) are installed
   with apt-get when missing, and ``dockerd`` is started when none runs (and
   stopped again at the end);
2. stand-ins for the public images, which Docker Hub would give but this
   machine cannot reach: a Debian 12 base made with ``debootstrap --variant=
   minbase`` and ``docker import`` (kept in ``.cache/deploy-check/`` and in the
   engine between runs), and on it, from Debian's own packages, Python 3.11
   with pip, redis-server, PostgreSQL 15 and nginx (``deploy/standins/``);
   ``docker-compose.yml`` is pointed at them through its ``TICTAC_*_IMAGE``
   variables, which default to the public images;
3. the Dockerfile builds, installing ``requirements.txt`` with
   ``--require-hashes``;
4. ``up --scale web=2`` starts everything healthy; ``migrate`` ran once and
   the demo room exists;
5. the lobby is served through nginx, by both web containers in turn;
6. ``/healthz`` is ok, and ``/metrics`` answers a worker's scraper with the
   token, refuses it without, and is not passed on by nginx;
7. a game through nginx over WebSockets, its two players served by different
   web containers (each says which: ``X-Served-By``, on only when
   ``TICTAC_SERVED_BY`` is set, tictac/served_by.py);
8. the container serving one player is stopped mid-game: the player
   reconnects through nginx to the other, and the board, the clocks and the
   chat are as they were; the game then goes on to its end;
9. ``down -v`` leaves no container, network or volume of the project.

Everything runs as the compose project ``tictac-deploy-check`` on a free port,
so an operator's own ``docker compose`` project is left alone. Needs root (or
a user of the docker group with the engine installed and running).

Steps 1 and 2 are ``testing/deploy_engine.py``; the browser's visits and the
players' sockets through nginx are ``testing/deploy_clients.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import signal
import sys
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

import websockets

from testing.deploy_clients import Player, Visitor, initial_chat
from testing.deploy_engine import ROOT, STANDINS, CheckError, Engine, build_standins, ensure_base_image, run, wait_until
from tictac.processes import free_port

COMPOSE_FILE = ROOT / "docker-compose.yml"
PROJECT = "tictac-deploy-check"


@dataclass
class StepResult:
    name: str
    passed: bool
    seconds: float
    detail: str


@dataclass
class Report:
    results: list[StepResult] = field(default_factory=list)

    @contextmanager
    def step(self, name: str) -> Iterator[list[str]]:
        """Time a step; it passes unless it raises. Lines appended to the yielded list are its detail."""
        print(f"\n-- {name} …", flush=True)
        details: list[str] = []
        started = time.monotonic()
        try:
            yield details
        except Exception as error:  # whatever went wrong, the step says so and the run goes to its clean-up
            details.append(f"{type(error).__name__}: {error}")
            self._record(name, False, started, details)
            raise
        self._record(name, True, started, details)

    def _record(self, name: str, passed: bool, started: float, details: list[str]) -> None:
        result = StepResult(name, passed, time.monotonic() - started, "; ".join(details))
        self.results.append(result)
        print(f"{'PASS' if passed else 'FAIL'} {name} ({result.seconds:.0f} s)", flush=True)
        for line in details:
            print(f"     {line}", flush=True)

    @property
    def passed(self) -> bool:
        return bool(self.results) and all(result.passed for result in self.results)


# -- compose ------------------------------------------------------------------------------------


@dataclass
class Deployment:
    """The compose project under check: its command, environment and port."""

    compose: list[str]
    port: int
    metrics_token: str
    env: dict[str, str]

    @classmethod
    def new(cls, compose: list[str]) -> Deployment:
        port = free_port()
        token = secrets.token_urlsafe(16)
        env = {
            **os.environ,
            **{variable: tag for variable, (tag, _) in STANDINS.items()},
            "TICTAC_HTTP_PORT": str(port),
            "TICTAC_METRICS_TOKEN": token,
            "TICTAC_SERVED_BY": "1",
            "COMPOSE_PROJECT_NAME": PROJECT,
        }
        return cls(compose, port, token, env)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __call__(self, *args: str, timeout: float = 1800) -> str:
        return run(*self.compose, "-f", str(COMPOSE_FILE), "-p", PROJECT, *args, env=self.env, timeout=timeout)

    def containers(self, service: str | None = None, *, every: bool = False) -> list[Container]:
        """The project's containers (of one service), running ones only unless ``every``."""
        filters = ["--filter", f"label=com.docker.compose.project={PROJECT}"]
        if service is not None:
            filters += ["--filter", f"label=com.docker.compose.service={service}"]
        ids = run("docker", "ps", "-q", *(["-a"] if every else []), *filters).split()
        return [Container.inspect(container_id) for container_id in ids]


@dataclass
class Container:
    id: str
    name: str
    hostname: str
    address: str
    state: str
    health: str | None
    exit_code: int

    @classmethod
    def inspect(cls, container_id: str) -> Container:
        info = json.loads(run("docker", "inspect", container_id))[0]
        networks = info["NetworkSettings"]["Networks"]
        health = info["State"].get("Health")
        return cls(
            id=info["Id"][:12],
            name=info["Name"].lstrip("/"),
            hostname=info["Config"]["Hostname"],
            address=next((network["IPAddress"] for network in networks.values() if network["IPAddress"]), ""),
            state=info["State"]["Status"],
            health=health["Status"] if health else None,
            exit_code=info["State"]["ExitCode"],
        )


# -- the check ----------------------------------------------------------------------------------


class Check:
    def __init__(self, report: Report, engine: Engine) -> None:
        self.report = report
        self.engine = engine
        self.deployment: Deployment | None = None
        self.names: dict[str, str] = {}

    def name_of(self, hostname: str) -> str:
        """A web container's name, from the hostname its answers carry."""
        return self.names.get(hostname, f"unknown container {hostname}")

    def run(self) -> None:
        with self.report.step("the Docker engine") as details:
            self.engine.ensure(details)
        self.deployment = deployment = Deployment.new(self.engine.compose)
        with self.report.step("stand-in images from Debian") as details:
            ensure_base_image(details)
            build_standins(details)
        with self.report.step("the Dockerfile builds with the hash-locked requirements") as details:
            output = deployment("build")
            installed = re.search(r"Successfully installed (.*)", output)
            if installed:
                count = len(installed.group(1).split())
                details.append(f"pip install --require-hashes -r requirements.txt: {count} packages, each hash checked")
            else:
                details.append("pip's layer was cached: built before from this requirements.txt on this base")
        self.up_and_migrate(deployment)
        self.lobby(deployment)
        self.health_and_metrics(deployment)
        asyncio.run(self.game(deployment))

    def up_and_migrate(self, deployment: Deployment) -> None:
        with self.report.step("up --scale web=2: migrate ran once, the demo room exists") as details:
            deployment("up", "-d", "--scale", "web=2")
            wait_until(
                "two healthy web containers",
                lambda: len([c for c in deployment.containers("web") if c.health == "healthy"]) == 2,
            )
            wait_until(
                "a healthy proxy",
                lambda: any(c.health == "healthy" for c in deployment.containers("proxy")),
            )
            migrations = deployment.containers("migrate", every=True)
            if len(migrations) != 1 or migrations[0].state != "exited" or migrations[0].exit_code != 0:
                raise CheckError(f"migrate: {[(c.name, c.state, c.exit_code) for c in migrations]}")
            log = run("docker", "logs", migrations[0].id)
            details.append(f"{migrations[0].name} exited 0 ({log.count('Applying ')} migrations applied)")
            for web in deployment.containers("web"):
                self.names[web.hostname] = web.name
            details.append("web: " + ", ".join(f"{name} ({host})" for host, name in sorted(self.names.items())))
            demo = Visitor(deployment.url).get("/api/rooms/demo/")
            if demo.status != 200 or demo.json()["room"]["code"] != "demo":
                raise CheckError(f"GET /api/rooms/demo/ answered {demo.status}")
            details.append("GET /api/rooms/demo/ through nginx: 200")

    def lobby(self, deployment: Deployment) -> None:
        with self.report.step("the lobby through nginx, from both web containers") as details:
            served: set[str] = set()
            # Each nginx worker process takes turns on its own, so a few more than two requests.
            for count in range(1, 13):
                answer = Visitor(deployment.url).get("/")
                if answer.status != 200 or b'id="create-room"' not in answer.body:
                    raise CheckError(f"GET / answered {answer.status} without the lobby's form")
                served.add(answer.served_by)
                if count >= 4 and served >= set(self.names):
                    break
            details.append(f"{count} × GET / → 200, served by {', '.join(sorted(map(self.name_of, served)))}")
            if set(self.names) - served:
                raise CheckError("nginx did not spread the requests over both web containers")

    def health_and_metrics(self, deployment: Deployment) -> None:
        with self.report.step("/healthz ok; /metrics with the token only") as details:
            health = Visitor(deployment.url).get("/healthz")
            report = health.json()
            if health.status != 200 or report.get("status") != "ok":
                raise CheckError(f"/healthz: {health.status} {report}")
            details.append(f"/healthz through nginx: 200 {json.dumps(report)}")
            through_nginx = Visitor(deployment.url).get(
                "/metrics", {"Authorization": f"Bearer {deployment.metrics_token}"}
            )
            if through_nginx.status != 404:
                raise CheckError(f"/metrics through nginx answered {through_nginx.status}, not 404")
            details.append("/metrics through nginx: 404 (never passed on), token or not")
            for web in deployment.containers("web"):
                # As a scraper asks each worker, at its own address; under a host name it serves
                # (DJANGO_ALLOWED_HOSTS), or Django answers 400 whatever the token.
                direct = Visitor(f"http://{web.address}:8000")
                host = {"Host": "localhost"}
                refused = direct.get("/metrics", host)
                wrong = direct.get("/metrics", {**host, "Authorization": "Bearer not-the-token"})
                allowed = direct.get("/metrics", {**host, "Authorization": f"Bearer {deployment.metrics_token}"})
                if refused.status != 403 or wrong.status != 403:
                    raise CheckError(f"{web.name}/metrics without the token: {refused.status}, {wrong.status}")
                if allowed.status != 200 or b"# TYPE" not in allowed.body:
                    raise CheckError(f"{web.name}/metrics with the token: {allowed.status}")
                details.append(f"{web.name} ({web.address}:8000) /metrics: no token 403, wrong token 403, token 200")

    async def game(self, deployment: Deployment) -> None:
        x_visitor, o_visitor = Visitor(deployment.url), Visitor(deployment.url)
        with self.report.step("a game through nginx over WebSockets, the players on two containers") as details:
            x_visitor.get("/")
            made = x_visitor.post_form(
                "/rooms/",
                {"name": "deploy check", "player_name": "alice", "time_control": "budget:180+2", "side": "x"},
            )
            match = re.search(r"/rooms/([A-Za-z0-9_-]+)/$", urllib.parse.urlparse(made.url).path)
            if made.status != 200 or match is None:
                raise CheckError(f"POST /rooms/ answered {made.status} at {made.url}: {made.body[:300]!r}")
            code = match.group(1)
            details.append(f"alice made room {code} (budget:180+2) by POST /rooms/ with the page's Origin")
            o_visitor.get(f"/rooms/{code}/")
            x = await Player.connect(x_visitor, code)
            o = await self.connect_elsewhere(o_visitor, code, avoid=x.served_by)
            details.append(f"X (alice) on {self.name_of(x.served_by)}, O (bob) on {self.name_of(o.served_by)}")
            await x.join("alice")
            await o.join("bob")
            await x.until(lambda state: state["game"]["status"] == "playing")
            # Both first moves at once: a missed first move would abort the game.
            for player, cell, moves in ((x, 0, 1), (o, 4, 2), (x, 3, 3)):
                await player.move(cell)
                for each in (x, o):
                    await each.until(lambda state, moves=moves: state["game"]["moves"] == moves)
            for player, text in ((x, "good luck from web 1"), (o, "and from the other")):
                await player.send({"type": "chat", "text": text})
                for each in (x, o):
                    await each.until_chat(text)
            clock = o.state["game"]["clock"]
            if clock is None or clock["running"] != "O":
                raise CheckError(f"the clock after three moves: {clock}")
            details.append(f"moves X0 O4 X3 and two chat lines seen by both; clock {clock_text(clock)}")
        with self.report.step("a web container stopped mid-game: its player reconnects, nothing lost") as details:
            before = o.state
            stopped = next(c for c in deployment.containers("web") if c.hostname == o.served_by)
            stop_started = time.monotonic()
            run("docker", "stop", stopped.id)
            details.append(f"docker stop {stopped.name} (O's): {time.monotonic() - stop_started:.1f} s")
            try:
                while True:
                    await o.receive()
            except websockets.ConnectionClosed as closed:
                details.append(f"O's socket closed ({closed.rcvd.code if closed.rcvd else 'no close frame'})")
            reconnect_started = time.monotonic()
            o = await Player.connect(o_visitor, code)
            if o.served_by == stopped.hostname or o.served_by not in self.names:
                raise CheckError(f"O reconnected to {self.name_of(o.served_by)}")
            after = await o.join("bob")
            details.append(
                f"O reconnected through nginx to {self.name_of(o.served_by)} and re-joined"
                f" in {time.monotonic() - reconnect_started:.1f} s"
            )
            kept = ("board", "moves", "history", "turn", "status")
            for key in kept:
                if after["game"][key] != before["game"][key]:
                    raise CheckError(f"game.{key} was {before['game'][key]}, now {after['game'][key]}")
            clock_keys = ("X", "O", "running", "since", "deadline")
            if any(after["game"]["clock"][key] != before["game"]["clock"][key] for key in clock_keys):
                raise CheckError(f"the clock was {before['game']['clock']}, now {after['game']['clock']}")
            details.append(f"board {''.join(c or '.' for c in after['game']['board'])}, moves, turn kept")
            details.append(f"clock kept: {clock_text(after['game']['clock'])}")
            chat = [line["text"] for line in initial_chat(o_visitor.get(f"/rooms/{code}/").body)]
            if chat[-2:] != ["good luck from web 1", "and from the other"]:
                raise CheckError(f"the room page's chat after the stop: {chat}")
            details.append(f"chat kept (the room page's #initial-chat): {chat[-2:]}")
            await o.move(8)
            await x.until(lambda state: state["game"]["moves"] == 4)
            await x.move(6)
            await x.until(lambda state: state["game"]["status"] != "playing")
            final = await o.until(lambda state: state["game"]["status"] != "playing")
            if final["game"]["status"] != "won" or final["game"]["winner"] != "X":
                raise CheckError(f"the game ended {final['game']['status']}, winner {final['game']['winner']}")
            details.append("then O8 and X6 through the one left: X won on 0-3-6, both saw it")
            health = Visitor(deployment.url).get("/healthz")
            if health.status != 200:
                raise CheckError(f"/healthz after the stop: {health.status}")
            await x.close()
            await o.close()

    async def connect_elsewhere(self, visitor: Visitor, code: str, avoid: str) -> Player:
        """A socket on another container than ``avoid``: nginx takes turns, so a few tries find one."""
        for _ in range(10):
            player = await Player.connect(visitor, code)
            if player.served_by != avoid:
                return player
            await player.close()
        raise CheckError(f"ten sockets in a row landed on {self.name_of(avoid)}")

    def down(self) -> None:
        if self.deployment is None:
            return
        with self.report.step("down -v leaves nothing behind") as details:
            self.deployment("down", "-v", "--remove-orphans", timeout=300)
            label = f"label=com.docker.compose.project={PROJECT}"
            left = {
                "containers": run("docker", "ps", "-aq", "--filter", label).split(),
                "networks": run("docker", "network", "ls", "-q", "--filter", label).split(),
                "volumes": run("docker", "volume", "ls", "-q", "--filter", label).split(),
            }
            if any(left.values()):
                raise CheckError(f"left behind: {left}")
            details.append("no container, network or volume of the project is left")


def clock_text(clock: dict[str, Any]) -> str:
    return f"X {clock['X'] / 1000:.1f} s, O {clock['O'] / 1000:.1f} s, {clock['running']} running"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="run.py deploy-check", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--keep", action="store_true", help="leave the project (and the engine) running after a failure, to look"
    )
    options = parser.parse_args(argv)
    # SIGTERM and SIGHUP take the same way out as Ctrl-C: through the clean-up below.
    for stop_signal in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(stop_signal, signal.default_int_handler)
    started = time.monotonic()
    report = Report()
    engine = Engine()
    check = Check(report, engine)
    interrupted = False
    try:
        check.run()
    except Exception as error:
        if report.passed:  # not in a step, which would have reported it
            report.results.append(StepResult("the check itself", False, 0, repr(error)))
            print(f"FAIL the check itself: {error!r}", flush=True)
    except KeyboardInterrupt:
        interrupted = True
        print("\nInterrupted: taking the project down", flush=True)
    finally:
        # A second Ctrl-C or SIGTERM must not cut the clean-up short.
        for stop_signal in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(stop_signal, signal.SIG_IGN)
        if options.keep and not report.passed and check.deployment is not None:
            print(f"\n--keep: still running at {check.deployment.url}; take it down with")
            print(f"  {' '.join(engine.compose)} -p {PROJECT} -f {COMPOSE_FILE} down -v")
        else:
            with suppress(Exception):
                check.down()  # reported by its step
            stopped = engine.stop()
            if stopped:
                print(f"\n{stopped}")
    total = time.monotonic() - started
    print("\n== deploy-check")
    for result in report.results:
        print(f"{'PASS' if result.passed else 'FAIL'} {result.name} ({result.seconds:.0f} s)")
    verdict = "INTERRUPTED" if interrupted else "PASSED" if report.passed else "FAILED"
    print(f"== {verdict} in {total / 60:.1f} min ({total:.0f} s)", flush=True)
    if interrupted:
        return 130
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
