"""The login form and the countdown in JupyterLab 4, in a real Chromium."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from galileo_magic.sandbox import SandboxServer
from galileo_magic.sandbox import seed as demo

from .conftest import (
    DOCS,
    WRONG_PASSWORD,
    canaries,
    cell_text,
    leaks,
    open_notebook,
    run_cell,
    save_notebook,
)

pytestmark = pytest.mark.browser

CHECK_ORGANIZATION = """\
import requests
answer = requests.get(
    galileo_token.api_url + "/current_user", headers=galileo_token.headers, timeout=10
)
print("ORG", galileo_token.organization, answer.json()["organization_id"])
"""
LOOKS = """\
from datetime import datetime, timedelta, timezone
from galileo_magic import GalileoToken
from galileo_magic.widgets import CountdownWidget
now = datetime.now(timezone.utc)
soon = GalileoToken("not-a-secret-soon-0000", now + timedelta(seconds=90))
gone = GalileoToken("not-a-secret-gone-0000", now - timedelta(seconds=5))
display(CountdownWidget(soon, variable="soon", refresh_margin=300))
display(CountdownWidget(gone, variable="gone"))
"""


def seconds(text: str) -> int:
    """``59:58`` or ``1:00:00`` as seconds."""
    total = 0
    for part in text.strip().split(":"):
        total = total * 60 + int(part)
    return total


def comm_frames(frames: list[Any]) -> list[Any]:
    return [f for f in frames if "comm_msg" in str(f)]


def wait_for_frame(page: Any, frames: list[Any], marker: str) -> None:
    for _ in range(100):
        if any(marker in str(frame) for frame in frames):
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"no websocket frame with {marker!r}")


def test_jupyterlab_api_key_login_with_organization_dropdown(
    start_jupyter: Any, page: Any, sandbox: SandboxServer
) -> None:
    server = start_jupyter(
        "lab",
        ["%load_ext galileo_magic\n%galileo_token", CHECK_ORGANIZATION, LOOKS],
    )
    frames: list[Any] = []

    def record(payload: Any) -> None:
        frames.append(payload)

    def watch(ws: Any) -> None:
        ws.on("framesent", record)
        ws.on("framereceived", record)

    page.on("websocket", watch)
    open_notebook(page, server)

    run_cell(page, 0)
    form = page.locator(".galileo-login")
    form.wait_for()
    page.get_by_label("API key", exact=True).check()
    page.get_by_label("Galileo API key").fill(demo.DEMO_API_KEY)
    page.get_by_label("Galileo API key").press("Tab")
    select = page.get_by_label("Organization", exact=True)
    select.locator(f"option[value='{demo.SHARED_ORG_ID}']").wait_for(state="attached")
    options = select.locator("option").all_inner_texts()
    assert any(demo.DEMO_ORG_SLUG in o for o in options)
    assert page.get_by_label("Galileo API key").input_value() == ""
    select.select_option(demo.SHARED_ORG_ID)
    form.screenshot(path=str(DOCS / "login-form.png"))

    page.get_by_role("button", name="Get token").click()
    remaining = page.locator(".galileo-countdown-remaining")
    remaining.wait_for()
    wait_for_frame(page, frames, '"server_now_ms": ')  # the sync on render
    frames.clear()
    first = seconds(remaining.inner_text())
    page.wait_for_timeout(3000)
    later = seconds(remaining.inner_text())
    assert 2 <= first - later <= 4, (first, later)
    assert comm_frames(frames) == []
    page.locator(".galileo-countdown").screenshot(path=str(DOCS / "countdown.png"))

    run_cell(page, 1)
    line = cell_text(page, 1, "ORG")
    assert line.split()[1:] == [demo.SHARED_ORG_SLUG, demo.SHARED_ORG_ID]
    run_cell(page, 2)
    page.locator(".galileo-countdown.galileo-warning").wait_for()
    page.locator(".galileo-countdown.galileo-expired").wait_for()

    saved = save_notebook(page, server)
    state = json.loads(saved)["metadata"]["widgets"]
    assert "LoginForm" in json.dumps(state) or "galileo-login" in saved
    assert leaks(saved, canaries(sandbox)) == []
    assert page.errors.unexpected() == []


def test_jupyterlab_wrong_password_keeps_form_then_password_login(
    start_jupyter: Any, page: Any, sandbox: SandboxServer
) -> None:
    server = start_jupyter(
        "lab",
        [
            "%load_ext galileo_magic\n%galileo_token --login --var tok",
            'print("ORG", tok.organization, tok.expired)',
        ],
    )
    open_notebook(page, server)

    run_cell(page, 0)
    page.locator(".galileo-login").wait_for()
    assert page.get_by_label("Console URL", exact=True).input_value() == sandbox.url
    assert (
        page.get_by_label("Email or user name", exact=True).input_value()
        == demo.DEMO_EMAIL
    )
    assert page.get_by_label("Email and password", exact=True).is_checked()
    password = page.get_by_label("Password", exact=True)
    password.fill(WRONG_PASSWORD)
    password.press("Enter")
    error = page.locator(".galileo-login-error")
    error.wait_for()
    assert re.search("Incorrect username or password", error.inner_text())
    assert "Traceback" not in error.inner_text()
    assert password.input_value() == ""
    assert page.locator(".galileo-countdown").count() == 0

    password.fill(demo.DEMO_PASSWORD)
    password.press("Enter")
    remaining = page.locator(".galileo-countdown-remaining")
    remaining.wait_for()
    before = seconds(remaining.inner_text())
    assert page.locator(".galileo-login").count() == 0

    run_cell(page, 1)
    assert cell_text(page, 1, "ORG").split() == ["ORG", "default", "False"]

    saved = save_notebook(page, server)
    assert leaks(saved, canaries(sandbox)) == []

    # A reload draws the saved outputs again from the live kernel's models.
    page.reload()
    open_notebook(page, server)
    remaining.wait_for()
    after = seconds(remaining.inner_text())
    assert 0 <= before - after <= 60, (before, after)
    assert page.errors.unexpected() == []
