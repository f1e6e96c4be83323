"""The main job: run notebooks/quickstart.ipynb headlessly against the sandbox.

Starts the Galileo-compatible sandbox on 127.0.0.1, executes the quickstart
notebook in a fresh kernel whose environment holds the sandbox URL and a demo
API key, saves the executed notebook (widget state included) under out/,
checks that no secret reached the file, and prints the organization and expiry
of the token the notebook got. It never prints a secret.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from galileo_magic.sandbox import SandboxServer
from galileo_magic.sandbox.seed import DEMO_API_KEY

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "quickstart.ipynb"
OUT = ROOT / "out" / "quickstart.ipynb"
RESULT = re.compile(r"^organization=(\S+) expires_at=(\S+)$", re.MULTILINE)


def execute(url: str) -> nbformat.NotebookNode:
    """Execute the quickstart with the sandbox's URL and key in the kernel's env."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    env = {"GALILEO_CONSOLE_URL": url, "GALILEO_API_KEY": DEMO_API_KEY}
    client = NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(ROOT / "notebooks")}},
        store_widget_state=True,
        # The kernel listens on 127.0.0.1 only; its TCP warning is noise here.
        extra_arguments=["--IPKernelApp.log_level=ERROR"],
    )
    client.execute(env={**os.environ, **env})
    return notebook


def main() -> int:
    with SandboxServer() as server:
        print(f"sandbox: {server.url}")
        notebook = execute(server.url)
    OUT.parent.mkdir(exist_ok=True)
    nbformat.write(notebook, OUT)
    text = OUT.read_text()
    if DEMO_API_KEY in text:
        print(f"FAILED: the API key reached {OUT}", file=sys.stderr)
        return 1
    streams = "".join(
        output.get("text", "")
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if output.get("output_type") == "stream"
    )
    match = RESULT.search(streams)
    if not match:
        print(f"FAILED: no token result in {OUT}", file=sys.stderr)
        return 1
    print(f"organization: {match[1]}")
    print(f"expires at:   {match[2]}")
    print(f"executed notebook: {OUT.relative_to(ROOT)} (no secret in it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
