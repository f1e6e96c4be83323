"""Loading the extension stays light: heavy modules wait until first needed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAVY = ("requests", "urllib3", "ipywidgets", "anywidget", "dotenv")

CHILD = """
import json, sys
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config
config = Config()
config.HistoryManager.hist_file = ":memory:"
shell = InteractiveShell.instance(config=config)
before = {name for name in sys.argv[2:] if name in sys.modules}
{action}
loaded = [name for name in sys.argv[2:] if name in sys.modules]
print(json.dumps({"before": sorted(before), "loaded": loaded}))
"""


def _loaded_after(action: str, tmp_path: Path) -> dict[str, list[str]]:
    """Run ``action`` in a fresh interpreter; which HEAVY modules are imported."""
    code = CHILD.replace("{action}", action)
    done = subprocess.run(
        [sys.executable, "-c", code, "-", *HEAVY],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "IPYTHONDIR": str(tmp_path / "ipython")},
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_load_ext_imports_no_heavy_module(tmp_path: Path) -> None:
    seen = _loaded_after(
        'shell.run_line_magic("load_ext", "galileo_magic")\n'
        'assert "galileo_token" in shell.magics_manager.magics["line"]',
        tmp_path,
    )
    assert seen["before"] == []
    assert seen["loaded"] == []


def test_import_package_imports_no_heavy_module(tmp_path: Path) -> None:
    seen = _loaded_after("import galileo_magic", tmp_path)
    assert seen["loaded"] == []


def test_fetch_token_attribute_imports_requests(tmp_path: Path) -> None:
    # The check above could pass by never importing anything; this one proves
    # the same probe sees requests once the fetching code is reached.
    seen = _loaded_after("from galileo_magic import fetch_token", tmp_path)
    assert "requests" in seen["loaded"]
    assert "urllib3" in seen["loaded"]
