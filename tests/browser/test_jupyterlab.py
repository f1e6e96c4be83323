"""The login form and the countdown in JupyterLab 4, in a real Chromium."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
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
timed = CountdownWidget(soon, variable="timed", refresh_margin=300)
timed.schedule(now + timedelta(seconds=45))
display(timed)
"""
URL_PASSWORD = "canary-url-pw-77"


def seconds(text: str) -> int:
    """``59:58`` or ``1:00:00`` as seconds."""
    total = 0
    for part in text.strip().split(":"):
        total = total * 60 + int(part)
    return total


def kernel_message(frame: Any) -> dict[str, Any]:
    """The kernel message in a websocket frame, or {} for any other frame.

    JupyterLab speaks JSON text or the v1 binary protocol: a count, that many
    offsets, then the channel, header, parent header, metadata and content.
    """
    if isinstance(frame, str):
        try:
            message = json.loads(frame)
        except ValueError:
            return {}
        return message if isinstance(message, dict) else {}
    data = bytes(frame)
    count = int.from_bytes(data[:8], "little")
    if count < 6 or len(data) < 8 * (count + 1):
        return {}
    offsets = [
        int.from_bytes(data[8 * i : 8 * i + 8], "little") for i in range(1, count + 1)
    ]
    parts = [data[offsets[i] : offsets[i + 1]] for i in range(count - 1)]
    try:
        header, parent, _, content = (json.loads(part) for part in parts[1:5])
    except ValueError:
        return {}
    return {"header": header, "parent_header": parent, "content": content}


def msg_type(message: dict[str, Any]) -> str:
    return str((message.get("header") or {}).get("msg_type", ""))


def wait_for_message(
    page: Any, frames: list[Any], wanted: Callable[[dict[str, Any]], bool], what: str
) -> dict[str, Any]:
    for _ in range(100):
        for frame in list(frames):
            message = kernel_message(frame)
            if message and wanted(message):
                return message
        page.wait_for_timeout(100)
    raise AssertionError(f"no kernel message {what} on the websocket")


def is_sync_reply(message: dict[str, Any]) -> bool:
    """The kernel's answer to the countdown's clock sync on render."""
    data = (message.get("content") or {}).get("data") or {}
    custom = data.get("content") if isinstance(data, dict) else None
    return (
        msg_type(message) == "comm_msg"
        and isinstance(custom, dict)
        and "server_now_ms" in custom
    )


def comm_messages(frames: list[Any], comm_id: str) -> list[dict[str, Any]]:
    """The comm messages, either way, of one widget model."""
    messages = [kernel_message(frame) for frame in frames]
    return [
        m
        for m in messages
        if msg_type(m) == "comm_msg" and m["content"].get("comm_id") == comm_id
    ]


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
    # The clock sync on render, then the kernel idle after it: only then is
    # the websocket quiet, and any countdown message after it would be a tick.
    reply = wait_for_message(page, frames, is_sync_reply, "answering the sync")
    countdown, sync = reply["content"]["comm_id"], reply["parent_header"]["msg_id"]

    def idle_after_sync(message: dict[str, Any]) -> bool:
        return (
            msg_type(message) == "status"
            and message["content"].get("execution_state") == "idle"
            and message["parent_header"].get("msg_id") == sync
        )

    wait_for_message(page, frames, idle_after_sync, "idle after the sync")
    # The filter sees this model's messages: the sync request and its answer.
    assert len(comm_messages(frames, countdown)) >= 2
    frames.clear()
    first = seconds(remaining.inner_text())
    page.wait_for_timeout(3000)
    later = seconds(remaining.inner_text())
    assert 2 <= first - later <= 4, (first, later)
    assert comm_messages(frames, countdown) == []
    page.locator(".galileo-countdown").screenshot(path=str(DOCS / "countdown.png"))

    run_cell(page, 1)
    line = cell_text(page, 1, "ORG")
    assert line.split()[1:] == [demo.SHARED_ORG_SLUG, demo.SHARED_ORG_ID]
    run_cell(page, 2)
    page.locator(".galileo-countdown.galileo-warning").first.wait_for()
    page.locator(".galileo-countdown.galileo-expired").wait_for()
    # Inside the margin, yet the timer's own schedule is what is shown.
    note = page.locator(".galileo-countdown-refresh", has_text="refreshes in")
    note.wait_for()
    assert 30 <= seconds(note.inner_text().split()[-1]) <= 45

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
    console = page.get_by_label("Console URL", exact=True)
    console.fill(f"http://ada:{URL_PASSWORD}@127.0.0.1:9")
    console.press("Tab")
    page.get_by_text("console URL must not hold a user name or password").wait_for()
    console.fill(sandbox.url)
    console.press("Tab")
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
    assert leaks(saved, canaries(sandbox, URL_PASSWORD)) == []

    # A reload draws the saved outputs again from the live kernel's models.
    page.reload()
    open_notebook(page, server)
    remaining.wait_for()
    after = seconds(remaining.inner_text())
    assert 0 <= before - after <= 60, (before, after)
    assert page.errors.unexpected() == []
