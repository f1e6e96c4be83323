"""Load cost: ``%load_ext galileo_magic`` against ``%load_ext dotenv``.

Each sample is a fresh interpreter that imports IPython and makes a shell
first, so both sides pay the same for IPython and the ratio compares the
extensions alone. Bytecode caches go to a private folder that one warm-up
run per extension fills, so neither side pays for compiling its sources.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .common import Row, median, quiet_environment, ratio_row

EXTENSIONS = ("galileo_magic", "dotenv")
HEAVY = ("requests", "urllib3", "ipywidgets", "anywidget", "dotenv")
LIMIT = 1.1

CHILD = """
import json, sys, time
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config
config = Config()
config.HistoryManager.hist_file = ":memory:"
shell = InteractiveShell.instance(config=config)
before = set(sys.modules)
start = time.perf_counter()
if sys.argv[1]:
    shell.run_line_magic("load_ext", sys.argv[1])
elapsed = time.perf_counter() - start
heavy = sorted(
    {m.split(".")[0] for m in set(sys.modules) - before}
    & set(sys.argv[2].split(","))
)
print(json.dumps({"seconds": elapsed, "heavy": heavy}))
"""


def _sample(
    extension: str, env: dict[str, str], cwd: str, flags: tuple[str, ...] = ()
) -> tuple[float, float, list[str], str]:
    """One fresh process: (load_ext seconds, whole process seconds, heavy, stderr)."""
    command = [sys.executable, *flags, "-c", CHILD, extension, ",".join(HEAVY)]
    start = time.perf_counter()
    done = subprocess.run(
        command, env=env, cwd=cwd, capture_output=True, text=True, check=True
    )
    wall = time.perf_counter() - start
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return result["seconds"], wall, result["heavy"], done.stderr


def _imported_by_load(importtime: str, baseline: str) -> set[str]:
    """Top-level packages ``-X importtime`` lists in one run, not the other."""

    def names(text: str) -> set[str]:
        found = set()
        for line in text.splitlines():
            if line.startswith("import time:") and "|" in line:
                found.add(line.rsplit("|", 1)[1].strip().split(".")[0])
        return found

    return names(importtime) - names(baseline)


def run(samples: int = 15) -> list[Row]:
    """Time both extensions in interleaved fresh processes; return the rows."""
    with tempfile.TemporaryDirectory() as tmp:
        env = quiet_environment(
            PYTHONPYCACHEPREFIX=str(Path(tmp) / "pycache"),
            IPYTHONDIR=str(Path(tmp) / "ipython"),
        )
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        cwd = str(Path(tmp))
        for extension in EXTENSIONS:
            _sample(extension, env, cwd)  # warm-up: fills the bytecode cache
        loads: dict[str, list[float]] = {e: [] for e in EXTENSIONS}
        walls: dict[str, list[float]] = {e: [] for e in EXTENSIONS}
        heavy: set[str] = set()
        for index in range(samples):
            order = EXTENSIONS if index % 2 == 0 else EXTENSIONS[::-1]
            for extension in order:
                load, wall, imported, _ = _sample(extension, env, cwd)
                loads[extension].append(load)
                walls[extension].append(wall)
                if extension == "galileo_magic":
                    heavy.update(imported)
        *_, ours = _sample("galileo_magic", env, cwd, ("-X", "importtime"))
        *_, shell_only = _sample("", env, cwd, ("-X", "importtime"))

    ours_ms = median(loads["galileo_magic"]) * 1000
    theirs_ms = median(loads["dotenv"]) * 1000
    rows = [
        ratio_row(
            f"`%load_ext` time, median of {samples} fresh processes",
            ours_ms,
            theirs_ms,
            "ms",
            LIMIT,
        ),
        ratio_row(
            f"whole process (IPython shell + `%load_ext`), median of {samples}",
            median(walls["galileo_magic"]),
            median(walls["dotenv"]),
            "s",
            LIMIT,
        ),
    ]
    seen = sorted(heavy | (_imported_by_load(ours, shell_only) & set(HEAVY)))
    rows.append(
        Row(
            "heavy modules imported by `%load_ext` (sys.modules, -X importtime)",
            ", ".join(seen) or "none",
            "dotenv imports dotenv",
            None,
            "none of " + ", ".join(HEAVY),
            not seen,
        )
    )
    return rows
