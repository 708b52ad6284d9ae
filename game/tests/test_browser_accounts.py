"""`run.py screenshots`: the README's pictures come from a demo in Chromium, every one of them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from testing.browser import chromium_path
from testing.screenshots import readme_pictures

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_the_readme_names_pictures_from_docs_screenshots() -> None:
    # Against a reader that finds nothing, which the test below would then pass.
    assert {"lobby.png", "created-room.png", "profile.png", "computer.png"} <= set(readme_pictures())


def test_run_py_screenshots_writes_every_picture_the_readme_shows(tmp_path: Path) -> None:
    if chromium_path() is None:
        pytest.skip("no Chromium on this machine (apt-get install chromium)")
    out = tmp_path / "pictures"
    finished = subprocess.run(
        [sys.executable, "run.py", "screenshots", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    assert finished.returncode == 0, finished.stdout[-4000:] + finished.stderr[-4000:]
    for name in readme_pictures():
        picture = out / name
        assert picture.is_file(), f"{name} was not written"
        assert picture.read_bytes()[:8] == PNG_SIGNATURE, f"{name} is not a PNG"
