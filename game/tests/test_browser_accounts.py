"""Accounts in a real browser (a password reset from the mailed link), and `run.py screenshots`."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import ConsoleMessage, expect

from testing.browser import NewContext, chromium_path, screenshot
from testing.live import LiveServer
from testing.screenshots import readme_pictures
from testing.wait import until

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _mailed_link(server: LiveServer) -> str:
    """The reset link in the mail the server wrote to its output (the console backend, EMAIL_URL unset)."""
    pattern = re.compile(rf"{re.escape(server.url)}/accounts/password/reset/[\w-]+/[\w-]+/")
    found = until(
        lambda: pattern.search(server.log_path.read_text()),  # the mail thread writes it when it has sent it
        timeout=20,
        message=lambda: f"a reset link in the server's output:\n{server.log_path.read_text()[-3000:]}",
    )
    return found.group(0)


def test_a_forgotten_password_is_reset_from_the_mailed_link(server: LiveServer, new_context: NewContext) -> None:
    page = new_context().new_page()
    refusals: list[str] = []
    page.on("console", lambda message: _note_refusal(message, refusals))
    page.goto(server.url + "/accounts/signup/")
    page.fill("#id_username", "rosa")
    page.fill("#id_email", "rosa@example.com")
    page.fill("#id_password1", "rosa plays tictac 7")
    page.fill("#id_password2", "rosa plays tictac 7")
    page.click("#signup-submit")
    expect(page.locator("#account-name")).to_have_text("rosa")
    page.click("#sign-out")

    page.goto(server.url + "/accounts/login/")
    page.click("#forgot-password")
    page.fill("#id_email", "rosa@example.com")
    page.click("#reset-submit")
    expect(page.locator("#reset-sent")).to_be_visible()
    page.goto(_mailed_link(server))
    expect(page.locator("#new-password-form")).to_be_visible()
    assert "set-password" in page.url  # the token left the address bar
    page.fill("#id_new_password1", "a new secret for rosa 8")
    page.fill("#id_new_password2", "a new secret for rosa 8")
    page.click("#new-password-submit")
    page.click("#reset-sign-in")
    page.fill("#id_username", "rosa")
    page.fill("#id_password", "a new secret for rosa 8")
    page.click("#login-submit")
    expect(page.locator("#account-name")).to_have_text("rosa")
    screenshot(page, "password-reset-signed-in.png")
    assert refusals == []  # the Content-Security-Policy refused nothing on the way


def _note_refusal(message: ConsoleMessage, refusals: list[str]) -> None:
    if "Content Security Policy" in message.text:
        refusals.append(message.text)


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
