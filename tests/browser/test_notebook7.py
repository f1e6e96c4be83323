"""login_form() and the countdown in Notebook 7, with the browser's clock off."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest

from galileo_magic.sandbox import SandboxServer
from galileo_magic.sandbox import seed as demo

from .conftest import canaries, cell_text, leaks, open_notebook, run_cell, save_notebook

pytestmark = pytest.mark.browser

BROWSER_AHEAD = timedelta(hours=2)


def test_notebook7_login_form_with_browser_clock_two_hours_ahead(
    start_jupyter: Any, page: Any, sandbox: SandboxServer
) -> None:
    server = start_jupyter(
        "notebook",
        [
            'import galileo_magic\ngalileo_magic.login_form("nb_token")',
            'print("ORG", nb_token.organization, nb_token.organization_id)',
        ],
    )
    # Without the sync on render, a browser this far ahead shows "expired".
    page.clock.install(time=datetime.now() + BROWSER_AHEAD)
    open_notebook(page, server)

    run_cell(page, 0)
    page.locator(".galileo-login").wait_for()
    password = page.get_by_label("Password", exact=True)
    password.fill(demo.DEMO_PASSWORD)
    password.press("Tab")
    select = page.get_by_label("Organization", exact=True)
    select.locator(f"option[value='{demo.SHARED_ORG_ID}']").wait_for(state="attached")
    assert password.input_value() == ""
    select.select_option(demo.SHARED_ORG_ID)
    page.get_by_role("button", name="Get token").click()

    remaining = page.locator(".galileo-countdown-remaining")
    remaining.wait_for()
    page.wait_for_function(
        "() => /^\\d\\d:\\d\\d$/.test("
        "document.querySelector('.galileo-countdown-remaining').textContent)"
    )
    minutes, secs = (int(n) for n in remaining.inner_text().split(":"))
    assert 55 * 60 < minutes * 60 + secs <= 60 * 60
    title = page.locator(".galileo-countdown-title").inner_text()
    assert re.search(rf"nb_token .* {demo.SHARED_ORG_SLUG}$", title)

    run_cell(page, 1)
    assert cell_text(page, 1, "ORG").split() == [
        "ORG",
        demo.SHARED_ORG_SLUG,
        demo.SHARED_ORG_ID,
    ]
    saved = save_notebook(page, server)
    assert leaks(saved, canaries(sandbox)) == []
    assert page.errors.unexpected() == []
