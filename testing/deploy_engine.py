"""What the deploy check (``testing/deploy_check.py``) runs on: a Docker engine and stand-in images.

The engine: Debian's ``docker.io`` (and ``docker-compose``) are installed with
apt-get when missing, and ``dockerd`` is started when none runs (and stopped
again at the end). The stand-ins for the public images, which Docker Hub would
give but this machine cannot reach: a Debian 12 base made with ``debootstrap
--variant=minbase`` and ``docker import`` (kept in ``.cache/deploy-check/``
and in the engine between runs), and on it, from Debian's own packages, Python
3.11 with pip, redis-server, PostgreSQL 15 and nginx (``deploy/standins/``).
Also what every step shares: :class:`CheckError`, :func:`run`, :func:`wait_until`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

from testing.wait import until
from tictac.processes import dies_with_parent

ROOT = Path(__file__).resolve().parent.parent
STANDINS_DIR = ROOT / "deploy" / "standins"
CACHE = ROOT / ".cache" / "deploy-check"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
BASE_IMAGE = "tictac-standin/debian:bookworm"
BASE_TARBALL = CACHE / "debian-bookworm-minbase.tar"
# compose variable → the stand-in's tag and folder under deploy/standins/. The tags say what is
# inside (Debian's versions), not the public tags they stand in for.
STANDINS = {
    "TICTAC_PYTHON_IMAGE": ("tictac-standin/python:3.11", "python"),
    "TICTAC_REDIS_IMAGE": ("tictac-standin/redis:7.0", "redis"),
    "TICTAC_POSTGRES_IMAGE": ("tictac-standin/postgres:15", "postgres"),
    "TICTAC_NGINX_IMAGE": ("tictac-standin/nginx:1.22", "nginx"),
}
# A proxy that inspects TLS on the way out (this machine's does) signs with a CA of the machine's;
# the stand-ins trust what the machine trusts, or pip could not reach the package index.
LOCAL_CAS = Path("/usr/local/share/ca-certificates")


class CheckError(Exception):
    """A step found something wrong; its message says what."""


def run(*command: str, env: dict[str, str] | None = None, timeout: float = 1800) -> str:
    """Run a command; its output (stdout) when it succeeds, else CheckError with the end of what it said."""
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout, check=False)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-25:])
        raise CheckError(f"{' '.join(command)} exited {result.returncode}:\n{tail}")
    return result.stdout


def apt_install(packages: list[str], details: list[str]) -> None:
    """Install Debian packages (as root), saying so in ``details``."""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise CheckError(f"{', '.join(packages)} missing, and only root on Debian can install them here")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run("apt-get", "update", "-qq", env=env)
    run("apt-get", "install", "-y", "-qq", *packages, env=env)
    details.append(f"installed {' '.join(packages)} with apt-get")


def wait_until(what: str, condition: Any, timeout: float = 120, interval: float = 1) -> Any:
    """Poll ``condition()`` until it returns something true; that value, or CheckError naming ``what``."""
    try:
        return until(condition, timeout=timeout, interval=interval, message=what)
    except AssertionError as missed:  # a step fails with a CheckError, as the others do
        raise CheckError(str(missed)) from None


# -- the engine ---------------------------------------------------------------------------------


class Engine:
    """The Docker engine and a compose command: installed and started when missing, stopped if started here."""

    def __init__(self) -> None:
        self.daemon: subprocess.Popen[bytes] | None = None
        self.compose: list[str] = []
        self.compose_name = ""

    def ensure(self, details: list[str]) -> None:
        missing = []
        if not self._engine_answers() and shutil.which("dockerd") is None:
            missing.append("docker.io")
        if not self._compose_v2() and shutil.which("docker-compose") is None:
            missing.append("docker-compose")
        if missing:
            apt_install(missing, details)
        if self._engine_answers():
            details.append("a Docker engine was already running: used as it is, and left running")
        else:
            self._start_daemon(details)
        self.compose, self.compose_name = self._compose_command()
        version = run("docker", "version", "--format", "{{.Server.Version}}").strip()
        details.append(f"engine {version}; compose: {self.compose_name}")

    @staticmethod
    def _engine_answers() -> bool:
        if shutil.which("docker") is None:
            return False
        return subprocess.run(["docker", "info"], capture_output=True, check=False).returncode == 0

    @staticmethod
    def _compose_v2() -> bool:
        if shutil.which("docker") is None:
            return False
        return subprocess.run(["docker", "compose", "version"], capture_output=True, check=False).returncode == 0

    def _compose_command(self) -> tuple[list[str], str]:
        """``docker compose`` (v2) when the engine's CLI has it, else Debian's ``docker-compose`` (v1)."""
        if self._compose_v2():
            version = run("docker", "compose", "version", "--short").strip()
            return ["docker", "compose"], f"docker compose v{version.lstrip('v')}"
        if shutil.which("docker-compose") is None:
            raise CheckError("neither `docker compose` nor `docker-compose` is installed")
        version = run("docker-compose", "version", "--short").strip()
        return ["docker-compose"], f"docker-compose {version} (Debian's v1)"

    def _start_daemon(self, details: list[str]) -> None:
        if os.geteuid() != 0:
            raise CheckError("no Docker engine answers, and only root can start dockerd")
        CACHE.mkdir(parents=True, exist_ok=True)
        log = (CACHE / "dockerd.log").open("wb")
        # A session of its own, so that a Ctrl-C reaches this check (which then stops it in order)
        # and not dockerd; and told to stop if this check dies unawares.
        daemon = self.daemon = subprocess.Popen(
            ["dockerd"],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=dies_with_parent(),
        )

        def answers() -> bool:
            if daemon.poll() is not None:
                raise CheckError(f"dockerd exited; see {CACHE / 'dockerd.log'}")
            return self._engine_answers()

        wait_until(f"dockerd to start; see {CACHE / 'dockerd.log'}", answers, timeout=60, interval=0.5)
        details.append(f"started dockerd (pid {daemon.pid}); it is stopped at the end")

    def stop(self) -> str | None:
        """Stop dockerd if this check started it (it stops its containerd with it)."""
        if self.daemon is None:
            return None
        self.daemon.terminate()
        try:
            self.daemon.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.daemon.kill()
            self.daemon.wait()
        return f"stopped the dockerd it started (pid {self.daemon.pid})"


# -- the stand-ins ------------------------------------------------------------------------------


def image_exists(tag: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", tag], capture_output=True, check=False).returncode == 0


def ensure_base_image(details: list[str]) -> None:
    """The Debian 12 base: from the engine, else from the cached tarball, else debootstrap (then cached)."""
    if image_exists(BASE_IMAGE):
        details.append(f"{BASE_IMAGE}: already in the engine")
        return
    if not BASE_TARBALL.exists():
        started = time.monotonic()
        make_base_tarball(details)
        details.append(f"debootstrap --variant=minbase bookworm: {time.monotonic() - started:.0f} s")
    else:
        details.append(f"{BASE_IMAGE}: from the cached {BASE_TARBALL.relative_to(ROOT)}")
    run("docker", "import", "--change", 'CMD ["bash"]', str(BASE_TARBALL), BASE_IMAGE)


def make_base_tarball(details: list[str]) -> None:
    if shutil.which("debootstrap") is None:
        apt_install(["debootstrap"], details)
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE) as directory:
        rootfs = Path(directory) / "rootfs"
        run("debootstrap", "--variant=minbase", "bookworm", str(rootfs), DEBIAN_MIRROR)
        (rootfs / "etc/apt/sources.list").write_text(
            f"deb {DEBIAN_MIRROR} bookworm main\n"
            f"deb {DEBIAN_MIRROR} bookworm-updates main\n"
            "deb http://deb.debian.org/debian-security bookworm-security main\n"
        )
        # Slimmer, as Debian's own docker images are: no fetched .debs nor package lists, no manuals.
        (rootfs / "etc/apt/apt.conf.d/docker-clean").write_text(
            'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb || true"; };\n'
        )
        (rootfs / "etc/dpkg/dpkg.cfg.d/docker-excludes").write_text(
            "path-exclude /usr/share/doc/*\npath-exclude /usr/share/man/*\npath-exclude /usr/share/locale/*\n"
        )
        for leftovers in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for path in (rootfs / leftovers).glob("*"):
                if path.is_file():
                    path.unlink()
        if LOCAL_CAS.is_dir():
            shutil.copytree(LOCAL_CAS, rootfs / LOCAL_CAS.relative_to("/"), dirs_exist_ok=True)
        partial = BASE_TARBALL.with_suffix(".partial")
        with tarfile.open(partial, "w") as tar:
            tar.add(rootfs, arcname=".")
        partial.rename(BASE_TARBALL)


def build_standins(details: list[str]) -> None:
    """Each stand-in on the base, one build at a time (the machine is small); a rebuild is cached layers."""
    for tag, folder in STANDINS.values():
        started = time.monotonic()
        run("docker", "build", "--build-arg", f"BASE={BASE_IMAGE}", "-t", tag, str(STANDINS_DIR / folder))
        details.append(f"{tag}: {time.monotonic() - started:.0f} s")
