"""The quickstart notebook and the README's main job, executed for real."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from galileo_magic.sandbox import SandboxServer
from galileo_magic.sandbox import seed as demo

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "notebooks" / "quickstart.ipynb"


def execute(notebook: nbformat.NotebookNode, env: dict[str, str], cwd: Path) -> None:
    client = NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(cwd)}},
        store_widget_state=True,
    )
    client.execute(env={**os.environ, **env})


def leaked(text: str, secrets: list[str]) -> list[str]:
    forms = []
    for secret in secrets:
        forms += [secret, base64.b64encode(secret.encode()).decode()]
    return [form for form in forms if form in text]


def test_quickstart_runs_against_sandbox_without_leaking(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    notebook = nbformat.read(QUICKSTART, as_version=4)
    env = {"GALILEO_CONSOLE_URL": sandbox.url, "GALILEO_API_KEY": demo.DEMO_API_KEY}

    execute(notebook, env, tmp_path)
    path = tmp_path / "executed.ipynb"
    nbformat.write(notebook, path)
    text = path.read_text()

    assert "signed in as ada@sandbox.galileo.local in Acme Research" in text
    assert "organization=acme-research expires_at=" in text
    assert "application/vnd.jupyter.widget-state+json" in text
    issued = sandbox.app.state.sandbox.store.issued()
    assert issued, "the sandbox issued no token"
    assert leaked(text, [demo.DEMO_API_KEY, *issued]) == []


def test_demo_script_prints_result_and_no_secret() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "demo.py")],
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )

    assert result.returncode == 0, result.stderr
    assert "organization: acme-research" in result.stdout
    assert "expires at:" in result.stdout
    assert "out/quickstart.ipynb" in result.stdout
    assert demo.DEMO_API_KEY not in result.stdout + result.stderr


def test_notebook_without_credentials_fails_fast(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("%load_ext galileo_magic"),
            nbformat.v4.new_code_cell("%galileo_token"),
        ]
    )

    with pytest.raises(CellExecutionError) as caught:
        execute(notebook, {"GALILEO_CONSOLE_URL": sandbox.url}, tmp_path)

    assert "UsageError" in str(caught.value)
    assert "GALILEO_API_KEY" in str(caught.value)


def test_all_three_flows_work_in_a_real_kernel(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    check = (
        "import requests\n"
        "for t in (t1, t2, t3):\n"
        "    r = requests.get(f'{t.api_url}/current_user', headers=t.headers,"
        " timeout=10)\n"
        "    print('flow-ok', r.status_code, r.json()['email'])"
    )
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("%load_ext galileo_magic"),
            nbformat.v4.new_code_cell("%galileo_token --auth api-key --var t1"),
            nbformat.v4.new_code_cell("%galileo_token --auth oauth2 --var t2"),
            nbformat.v4.new_code_cell("%galileo_token --auth basic --var t3"),
            nbformat.v4.new_code_cell(check),
        ]
    )
    env = {
        "GALILEO_CONSOLE_URL": sandbox.url,
        "GALILEO_API_KEY": demo.DEMO_API_KEY,
        "GALILEO_USERNAME": demo.DEMO_EMAIL,
        "GALILEO_PASSWORD": demo.DEMO_PASSWORD,
    }

    execute(notebook, env, tmp_path)

    printed = notebook.cells[-1].outputs[0]["text"]
    assert printed.count(f"flow-ok 200 {demo.DEMO_EMAIL}") == 3
    text = nbformat.writes(notebook)
    secrets = [demo.DEMO_API_KEY, demo.DEMO_PASSWORD]
    assert leaked(text, secrets + sandbox.app.state.sandbox.store.issued()) == []
