"""Many fetches at once, and an auto-refresh racing a manual re-run of the magic."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from faultserver import FaultServer
from IPython.core.interactiveshell import InteractiveShell

from galileo_magic import GalileoToken, fetch_token
from galileo_magic.magics import GalileoMagics

THREADS = 50


@pytest.mark.timeout(60)
def test_fetch_token_fifty_threads_at_once(sandbox_env: None) -> None:
    start = threading.Barrier(THREADS)

    def one(_: int) -> GalileoToken:
        start.wait()
        return fetch_token(timeout=20)

    with ThreadPoolExecutor(THREADS) as pool:
        tokens = list(pool.map(one, range(THREADS)))
    assert len({token.access_token for token in tokens}) == THREADS
    assert not any(token.expired for token in tokens)


def refresh_threads(variable: str) -> list[threading.Thread]:
    name = f"galileo-magic-refresh-{variable}"
    return [t for t in threading.enumerate() if t.name == name and t.is_alive()]


@pytest.mark.timeout(60)
def test_magic_rerun_racing_auto_refresh_leaves_one_timer(
    shell: InteractiveShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GALILEO_API_KEY", "k-race")
    magics = next(c for c in shell.configurables if isinstance(c, GalileoMagics))
    replaced = []
    with FaultServer() as faults:
        url = faults.url("short-lived")
        line = f"%galileo_token --auto-refresh --quiet --api-url {url}"
        for _ in range(5):
            result = shell.run_cell(line)
            assert result.success, result.error_in_exec
            replaced.append(shell.user_ns["galileo_token"])
            # Tokens live 2 s and the timer refreshes about 1 s in, for 0.3 s:
            # the next manual run lands while that refresh is in flight.
            time.sleep(0.95)
        latest = replaced.pop()
        session = magics.registry.get("galileo_token")
        assert session is not None and session.timer is not None
        assert session.token is latest and shell.user_ns["galileo_token"] is latest
        assert len(refresh_threads("galileo_token")) == 1
        session.stop()
        served = faults.count("short-lived")

    assert refresh_threads("galileo_token") == []
    assert served > 5  # timers did refresh between the manual runs
    values = {old.access_token for old in replaced}
    assert latest.access_token not in values
