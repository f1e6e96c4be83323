"""A real in-process IPython shell with its own history, for the benchmarks."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config


@contextmanager
def make_shell() -> Iterator[InteractiveShell]:
    """An InteractiveShell with the extension loaded, torn down afterwards."""
    with tempfile.TemporaryDirectory() as workdir:
        config = Config()
        config.HistoryManager.hist_file = str(Path(workdir) / "history.sqlite")
        InteractiveShell.clear_instance()
        shell = InteractiveShell.instance(
            config=config, ipython_dir=str(Path(workdir) / "ipython")
        )
        shell.run_line_magic("load_ext", "galileo_magic")
        try:
            yield shell
        finally:
            shell.run_line_magic("unload_ext", "galileo_magic")
            history = shell.history_manager
            if history is not None:
                history.end_session()
                history.save_thread.stop()
            InteractiveShell.clear_instance()
