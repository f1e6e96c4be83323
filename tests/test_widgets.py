"""The login form and the countdown, kernel side; where no widget manager runs.

The browser half of these widgets is proven in tests/browser. Here the form's
messages are sent as the browser sends them, against the real sandbox, and
the terminal cases run a real ``ipython`` process.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import ipywidgets
import nbformat
import pytest
from faultserver import FaultServer
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.display import display
from IPython.utils.capture import capture_output
from nbclient import NotebookClient
from terminal import IPYTHON, answer_key_prompt, spawn_ipython

import galileo_magic
from galileo_magic import ConfigurationError, GalileoToken
from galileo_magic.credentials import gather
from galileo_magic.magics import GalileoMagics
from galileo_magic.sandbox import SandboxServer
from galileo_magic.sandbox import seed as demo
from galileo_magic.widgets import FORM_LINE, CountdownWidget, LoginForm, LoginPanel

CANARY_PASSWORD = "canary-wrong-password-0d41aa"
VIEW = "application/vnd.jupyter.widget-view+json"


def magics_of(shell: InteractiveShell) -> GalileoMagics:
    return next(c for c in shell.configurables if isinstance(c, GalileoMagics))


def show_form(shell: InteractiveShell, variable: str = "galileo_token") -> LoginPanel:
    values = gather({})
    panel = magics_of(shell)._show_form(variable, values, auto_refresh=False)
    assert isinstance(panel, LoginPanel)
    return panel


def browser_says(form: LoginForm, **content: Any) -> None:
    """Deliver a custom message as the browser's form.js sends it."""
    form._handle_custom_msg(content, [])


def every_widget_state() -> str:
    return json.dumps(ipywidgets.Widget.get_manager_state(drop_defaults=False))


def in_a_kernel(shell: InteractiveShell, *, allow_stdin: bool) -> None:
    # The magic only reads the kernel's _allow_stdin to decide who can answer.
    kernel = SimpleNamespace(_allow_stdin=allow_stdin)
    shell.kernel = kernel  # type: ignore[attr-defined]


def test_login_form_prefills_without_secrets(
    shell: InteractiveShell, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GALILEO_CONSOLE_URL", sandbox.url)
    monkeypatch.setenv("GALILEO_USERNAME", demo.DEMO_EMAIL)
    Path(".env").write_text(f"GALILEO_PASSWORD={demo.DEMO_PASSWORD}\n")

    form = show_form(shell).form

    assert (form.console_url, form.username) == (sandbox.url, demo.DEMO_EMAIL)
    assert form.auth == "oauth2"
    assert form.held == ["password"]
    assert form.organizations_state == "listed"
    assert demo.DEMO_PASSWORD not in every_widget_state()


def test_login_form_api_key_login_stores_token_and_shows_countdown(
    shell: InteractiveShell, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GALILEO_CONSOLE_URL", sandbox.url)
    panel = show_form(shell)
    form = panel.form

    browser_says(form, type="credentials", auth="api-key", api_key=demo.DEMO_API_KEY)
    slugs = [row["slug"] for row in form.organizations]
    assert slugs == [demo.DEMO_ORG_SLUG, demo.SHARED_ORG_SLUG]
    assert form.held == ["api_key"]
    browser_says(form, type="submit", auth="api-key", organization=demo.SHARED_ORG_ID)

    token = shell.user_ns["galileo_token"]
    assert (token.organization_id, token.organization) == (
        demo.SHARED_ORG_ID,
        demo.SHARED_ORG_SLUG,
    )
    assert form.status == "done" and form.held == []
    (countdown,) = panel.children
    assert isinstance(countdown, CountdownWidget)
    state = every_widget_state()
    assert demo.DEMO_API_KEY not in state and token.access_token not in state


def test_login_form_wrong_password_shows_error_and_forgets_it(
    shell: InteractiveShell, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GALILEO_CONSOLE_URL", sandbox.url)
    form = show_form(shell, "tok").form

    browser_says(
        form,
        type="submit",
        auth="oauth2",
        username=demo.DEMO_EMAIL,
        password=CANARY_PASSWORD,
    )

    assert form.status == "error"
    assert "Incorrect username or password" in form.message
    assert "Traceback" not in form.message and CANARY_PASSWORD not in form.message
    assert form.held == [] and form._secrets == {}
    assert "tok" not in shell.user_ns
    assert CANARY_PASSWORD not in every_widget_state()


def test_login_form_without_organizations_endpoint_offers_free_text(
    shell: InteractiveShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FaultServer() as fault:
        monkeypatch.setenv("GALILEO_API_URL", fault.url("404"))
        form = show_form(shell).form
        browser_says(form, type="credentials", auth="api-key", api_key="k-canary-1")

    assert form.organizations_state == "unavailable"
    assert "type an id or a slug" in form.organizations_note
    assert "k-canary-1" not in form.organizations_note


def test_login_form_sign_out_brings_the_form_back(
    shell: InteractiveShell, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GALILEO_CONSOLE_URL", sandbox.url)
    panel = show_form(shell)
    browser_says(panel.form, type="submit", auth="api-key", api_key=demo.DEMO_API_KEY)
    countdown = panel.children[0]

    countdown._handle_custom_msg({"type": "logout"}, [])

    assert "galileo_token" not in shell.user_ns
    assert panel.children == (countdown, panel.form)
    assert panel.form.status == "idle"


def test_login_form_text_line_names_the_fix(shell: InteractiveShell) -> None:
    form = LoginForm(
        gather({}, environ={}, dotenv={}),
        variable="v",
        submit=lambda values: None,
        list_organizations=lambda values: [],
    )

    # Where no widget manager runs, text/plain is all that is shown.
    with capture_output() as captured:
        display(form)
        display(LoginPanel(form))

    shown = [output.data["text/plain"] for output in captured.outputs]
    assert shown == [FORM_LINE, FORM_LINE]
    assert "renders widgets" in shown[0]
    assert "set GALILEO_API_KEY, or GALILEO_USERNAME and GALILEO_PASSWORD" in shown[0]


def test_login_form_unexpected_error_shows_and_logs_its_type_only(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(values: Any) -> None:
        raise RuntimeError(f"the server said no to {values.api_key.reveal()}")

    form = LoginForm(
        gather({}, environ={}, dotenv={}),
        variable="v",
        submit=broken,
        list_organizations=lambda values: [],
    )

    browser_says(form, type="submit", auth="api-key", api_key="k-canary-4")

    assert form.status == "error"
    assert form.message.startswith("Unexpected RuntimeError in the login form")
    assert "k-canary-4" not in form.message + caplog.text
    assert "Traceback" not in caplog.text
    assert "the login form failed: RuntimeError" in caplog.text
    assert form._secrets == {}


def test_magic_console_kernel_gets_only_the_form_text_line(
    shell: InteractiveShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A known limit: jupyter console allows input but renders no widget.

    Such a kernel cannot be told from JupyterLab, so it gets the form, which
    it shows as its text line; no hidden prompt is offered there.
    """
    in_a_kernel(shell, allow_stdin=True)

    def no_prompt(prompt: str = "") -> str:
        raise AssertionError(f"prompted: {prompt}")

    monkeypatch.setattr("getpass.getpass", no_prompt)
    monkeypatch.setattr("builtins.input", no_prompt)
    with capture_output() as captured:
        shell.run_line_magic("galileo_token", "")

    (output,) = captured.outputs
    assert output.data["text/plain"] == FORM_LINE
    assert "galileo_token" not in shell.user_ns


def test_magic_shows_form_in_a_kernel_that_allows_input(
    shell: InteractiveShell,
) -> None:
    in_a_kernel(shell, allow_stdin=True)

    with capture_output() as captured:
        shell.run_line_magic("galileo_token", "")

    (output,) = captured.outputs
    assert VIEW in output.data and output.data["text/plain"] == FORM_LINE


def test_magic_without_stdin_in_a_kernel_is_usage_error(
    shell: InteractiveShell,
) -> None:
    in_a_kernel(shell, allow_stdin=False)

    with pytest.raises(UsageError, match="GALILEO_API_KEY"):
        shell.run_line_magic("galileo_token", "")


def test_magic_login_flag_shows_form_even_with_credentials(
    shell: InteractiveShell, sandbox_env: None
) -> None:
    in_a_kernel(shell, allow_stdin=False)

    with capture_output() as captured:
        shell.run_line_magic("galileo_token", "--login")

    assert captured.outputs[0].data["text/plain"] == FORM_LINE
    assert "galileo_token" not in shell.user_ns
    assert demo.DEMO_API_KEY not in every_widget_state()


def test_login_form_function_outside_a_kernel_raises(shell: InteractiveShell) -> None:
    with pytest.raises(ConfigurationError, match="fetch_token"):
        galileo_magic.login_form()


def test_login_form_function_refuses_an_empty_argument(
    shell: InteractiveShell, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GALILEO_CONSOLE_URL", sandbox.url)
    in_a_kernel(shell, allow_stdin=True)

    with capture_output() as captured:
        with pytest.raises(ConfigurationError, match=r"login_form\(console_url=''\)"):
            galileo_magic.login_form(console_url="")

    assert captured.outputs == []


def test_login_form_function_environment_beats_config(
    shell: InteractiveShell, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GALILEO_CONSOLE_URL", sandbox.url)
    shell.run_line_magic("config", "GalileoMagics.console_url = 'http://127.0.0.1:9'")
    shell.run_line_magic("config", "GalileoMagics.api_url = 'http://127.0.0.1:9'")
    in_a_kernel(shell, allow_stdin=True)

    with capture_output() as captured:
        galileo_magic.login_form()

    model_id = captured.outputs[0].data[VIEW]["model_id"]
    form = ipywidgets.widgets.widget._instances[model_id].form
    assert form.console_url == sandbox.url
    # No GALILEO_API_URL: the configured API URL, the lowest layer, applies.
    assert form.api_url == "http://127.0.0.1:9"


def test_login_form_function_loads_extension_and_uses_variable(
    shell: InteractiveShell, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GALILEO_CONSOLE_URL", sandbox.url)
    shell.run_line_magic("unload_ext", "galileo_magic")
    in_a_kernel(shell, allow_stdin=True)

    with capture_output() as captured:
        galileo_magic.login_form("my_token", username=demo.DEMO_EMAIL)

    model_id = captured.outputs[0].data[VIEW]["model_id"]
    panel = ipywidgets.widgets.widget._instances[model_id]
    assert panel.form.variable == "my_token"
    assert panel.form.username == demo.DEMO_EMAIL


URL_WITH_PASSWORD = "http://ada:canary-url-pw-77@127.0.0.1:9"


def test_login_form_refuses_a_url_holding_a_password(
    shell: InteractiveShell, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GALILEO_CONSOLE_URL", sandbox.url)
    form = show_form(shell).form

    browser_says(
        form, type="credentials", console_url=URL_WITH_PASSWORD, api_key="k-canary-2"
    )
    assert (form.console_url, form.status) == ("", "error")
    assert "console URL must not hold a user name or password" in form.message
    assert form.organizations_state == "unknown"  # nothing was asked of any URL
    form.set_state({"api_url": URL_WITH_PASSWORD})  # a state sync, not a message
    assert form.api_url == ""
    browser_says(form, type="submit", auth="api-key", console_url=URL_WITH_PASSWORD)

    assert "galileo_token" not in shell.user_ns
    assert form._secrets == {} and form.held == []
    for state in (json.dumps(form.get_state()), every_widget_state()):
        assert "canary-url-pw" not in state
    browser_says(form, type="credentials", console_url=sandbox.url, api_url="")
    assert (form.console_url, form.status, form.message) == (sandbox.url, "idle", "")


def test_login_form_prefill_drops_a_url_holding_a_password(
    shell: InteractiveShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GALILEO_CONSOLE_URL", URL_WITH_PASSWORD)
    monkeypatch.setenv("GALILEO_API_KEY", "k-canary-3")

    form = show_form(shell).form

    assert (form.console_url, form.status) == ("", "error")
    assert form.organizations_state == "unknown"
    assert "canary-url-pw" not in every_widget_state()


def test_countdown_sync_answers_with_the_server_clock() -> None:
    skew = timedelta(hours=1)
    expires = datetime.now(timezone.utc) + timedelta(hours=2)
    token = GalileoToken("not-a-secret-000000", expires, clock_skew=skew)
    view = CountdownWidget(token, variable="v")
    sent: list[Any] = []
    view.send = sent.append  # type: ignore[method-assign]

    view._handle_custom_msg({"type": "sync", "sent": 1234.5}, [])

    (reply,) = sent
    assert reply["sent"] == 1234.5
    server_now = datetime.fromtimestamp(reply["server_now_ms"] / 1000, timezone.utc)
    assert abs(server_now - token.server_now()) < timedelta(seconds=5)
    assert view.clock_skew_ms == skew.total_seconds() * 1000
    assert "not-a-secret" not in json.dumps(view.get_state())


def run_ipython(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # stdin is a pipe nobody writes to: a prompt would wait forever.
    return subprocess.run(
        [str(IPYTHON), "--no-banner", "--quick", "--colors=NoColor", "-c", code],
        stdin=subprocess.PIPE,
        capture_output=True,
        text=True,
        env={k: v for k, v in {**os.environ, **env}.items() if v is not None},
        timeout=120,
    )


def test_terminal_ipython_without_tty_fails_at_once_with_one_line() -> None:
    done = run_ipython("%load_ext galileo_magic\n%galileo_token --login", {})

    lines = [line for line in (done.stdout + done.stderr).splitlines() if line]
    assert any("UsageError: No Galileo credentials found" in line for line in lines)
    assert "Traceback" not in done.stdout + done.stderr


def test_terminal_ipython_prints_one_line_countdown(sandbox: SandboxServer) -> None:
    env = {"GALILEO_CONSOLE_URL": sandbox.url, "GALILEO_API_KEY": demo.DEMO_API_KEY}

    done = run_ipython("%load_ext galileo_magic\n%galileo_token", env)

    (line,) = [line for line in done.stdout.splitlines() if line.strip()]
    assert line.startswith("Galileo token in galileo_token: organization default")
    assert demo.DEMO_API_KEY not in done.stdout + done.stderr


def test_terminal_ipython_prompts_hidden_in_a_tty(sandbox: SandboxServer) -> None:
    seen = answer_key_prompt(
        {"GALILEO_CONSOLE_URL": sandbox.url}, "%galileo_token", demo.DEMO_API_KEY
    )

    assert demo.DEMO_API_KEY not in seen


def test_terminal_ipython_ctrl_c_and_ctrl_d_at_prompts_are_one_line(
    sandbox: SandboxServer,
) -> None:
    import pexpect

    child = spawn_ipython({"GALILEO_CONSOLE_URL": sandbox.url})
    shown = []
    try:
        child.sendline("%galileo_token")
        child.expect_exact("Galileo API key (hidden): ")
        child.sendintr()
        child.expect_exact("In [3]: ")
        shown.append(child.before)
        child.sendline("%galileo_token --password")
        child.expect_exact("Galileo user name: ")
        child.sendeof()
        child.expect_exact("In [4]: ")
        shown.append(child.before)
        child.sendline("exit")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    for text in shown:
        assert text.strip() == (
            "UsageError: Sign-in cancelled; the token already held is kept."
        )


def test_nbclient_login_form_never_waits_and_saves_no_secret(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("%load_ext galileo_magic\n%galileo_token --login")
    ]
    client = NotebookClient(
        notebook, timeout=60, kernel_name="python3", store_widget_state=True
    )
    env = {"GALILEO_CONSOLE_URL": sandbox.url, "GALILEO_API_KEY": demo.DEMO_API_KEY}

    client.execute(env={**os.environ, **env}, cwd=str(tmp_path))
    path = tmp_path / "saved.ipynb"
    nbformat.write(notebook, path)
    text = path.read_text()

    assert FORM_LINE in text and "application/vnd.jupyter.widget-state+json" in text
    assert demo.SHARED_ORG_SLUG in text  # the dropdown was filled kernel side
    for secret in [demo.DEMO_API_KEY, *sandbox.app.state.sandbox.store.issued()]:
        assert secret not in text
        assert base64.b64encode(secret.encode()).decode()[:-4] not in text
