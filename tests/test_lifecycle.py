"""Refresh timers, sessions and the magic's re-runs, status and logout.

Tokens here live 3 seconds (a sandbox with ``ttl=3``) and refresh 2 seconds
before expiry, so refresh, failure and expiry all happen within a test. Tests
wait for events with a bounded deadline; none asserts how long anything took.
"""

from __future__ import annotations

import dataclasses
import gc
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from galileo_magic import AuthenticationError, GalileoMagicError, fetch_token
from galileo_magic.lifecycle import RefreshTimer, Registry, TokenSession
from galileo_magic.sandbox import SandboxServer
from galileo_magic.sandbox.seed import DEMO_API_KEY, DEMO_ORG_SLUG
from galileo_magic.tokens import GalileoToken, mask
from galileo_magic.widgets import CountdownWidget

TTL = 3.0
MARGIN = 2
DEADLINE = 10.0
TIMER_PREFIX = "galileo-magic-refresh"


@pytest.fixture(scope="module")
def short_sandbox() -> Iterator[SandboxServer]:
    """A sandbox whose tokens live TTL seconds."""
    with SandboxServer(ttl=TTL) as server:
        yield server


class Revocation:
    """Makes the running sandbox refuse an API key (401) until restored."""

    def __init__(self, server: SandboxServer, api_key: str = DEMO_API_KEY) -> None:
        self._users = server.seed.users
        self._index = next(
            i for i, user in enumerate(self._users) if user.api_key == api_key
        )
        self._original = self._users[self._index]
        self._users[self._index] = dataclasses.replace(
            self._original, api_key="gsk-revoked-" + api_key
        )

    def restore(self) -> None:
        self._users[self._index] = self._original


@contextmanager
def revoked(server: SandboxServer) -> Iterator[Revocation]:
    """The demo API key refused inside the block."""
    revocation = Revocation(server)
    try:
        yield revocation
    finally:
        revocation.restore()


def fetcher(server: SandboxServer) -> Callable[[], GalileoToken]:
    return lambda: fetch_token(
        api_key=DEMO_API_KEY, organization_slug=DEMO_ORG_SLUG, api_url=server.url
    )


def timer_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(TIMER_PREFIX)]


def wait_until(condition: Callable[[], bool], deadline: float = DEADLINE) -> bool:
    """Poll ``condition`` until it holds or the deadline passes."""
    end = time.monotonic() + deadline
    while not condition():
        if time.monotonic() > end:
            return False
        time.sleep(0.02)
    return True


class Recorder:
    """Callbacks for a RefreshTimer that remember what they were told."""

    def __init__(self) -> None:
        self.updates: list[str] = []
        self.errors: list[GalileoMagicError] = []
        self.updated = threading.Event()
        self.failed = threading.Event()
        self.expired = threading.Event()

    def timer(self, token: GalileoToken, fetch: Any, **kwargs: Any) -> RefreshTimer:
        return RefreshTimer(
            token,
            fetch,
            margin=kwargs.pop("margin", MARGIN),
            on_update=self._update,
            on_error=self._error,
            on_expired=lambda token: self.expired.set(),
            **kwargs,
        )

    def _update(self, token: GalileoToken) -> None:
        self.updates.append(token.access_token)
        self.updated.set()

    def _error(self, exc: GalileoMagicError) -> None:
        self.errors.append(exc)
        self.failed.set()


def test_refresh_timer_updates_token_in_place(short_sandbox: SandboxServer) -> None:
    fetch = fetcher(short_sandbox)
    token = fetch()
    first, first_expiry = token.access_token, token.expires_at
    seen = Recorder()
    timer = seen.timer(token, fetch)

    timer.start()
    try:
        assert seen.updated.wait(DEADLINE)
    finally:
        timer.stop()

    assert token.access_token != first
    assert token.expires_at > first_expiry
    assert token.access_token in seen.updates
    assert token.organization == DEMO_ORG_SLUG
    assert not seen.errors


def test_refresh_timer_keeps_token_on_failure_then_expires(
    short_sandbox: SandboxServer,
) -> None:
    fetch = fetcher(short_sandbox)
    token = fetch()
    first = token.access_token
    seen = Recorder()
    timer = seen.timer(token, fetch, retry_delay=0.1)

    with revoked(short_sandbox):
        timer.start()
        assert seen.expired.wait(DEADLINE)

    assert token.access_token == first
    assert token.expired
    assert len(seen.errors) >= 2  # retried, not given up after one failure
    assert all(isinstance(exc, AuthenticationError) for exc in seen.errors)
    assert not seen.updates
    assert wait_until(lambda: not timer.running)


def test_refresh_timer_recovers_when_server_accepts_again(
    short_sandbox: SandboxServer,
) -> None:
    fetch = fetcher(short_sandbox)
    token = fetch()
    seen = Recorder()
    timer = seen.timer(token, fetch, retry_delay=0.1)

    with revoked(short_sandbox) as revocation:
        # Accept the key again from the timer's own thread, before its retry.
        seen.failed = _CallbackEvent(revocation.restore)
        timer.start()
        try:
            assert seen.updated.wait(DEADLINE)
        finally:
            timer.stop()

    assert seen.errors and not seen.expired.is_set()
    assert seen.updates[-1] == token.access_token


class _CallbackEvent(threading.Event):
    """An Event that runs ``action`` when it is set."""

    def __init__(self, action: Callable[[], None]) -> None:
        super().__init__()
        self._action = action

    def set(self) -> None:
        self._action()
        super().set()


def test_refresh_timer_start_and_stop_are_idempotent(
    short_sandbox: SandboxServer,
) -> None:
    token = fetcher(short_sandbox)()
    timer = RefreshTimer(token, fetcher(short_sandbox), margin=MARGIN, name="t-idem")

    timer.start()
    timer.start()
    assert timer.running
    timer.stop()
    timer.stop()
    timer.start()

    assert not timer.running
    assert "t-idem" not in [t.name for t in threading.enumerate()]


def test_refresh_timer_stop_before_start_never_runs() -> None:
    calls: list[int] = []
    token = GalileoToken("eyJnever-used-token-0000", datetime.now(timezone.utc))
    timer = RefreshTimer(token, lambda: calls.append(1) or token, margin=0)

    timer.stop()
    timer.start()

    assert not timer.running
    assert not calls


def test_refresh_timer_start_after_it_ended_does_nothing() -> None:
    token = GalileoToken("eyJexpired-token-000000", datetime.now(timezone.utc))
    ended = threading.Event()
    timer = RefreshTimer(
        token, lambda: token, margin=0, on_expired=lambda token: ended.set()
    )
    timer.start()
    assert ended.wait(DEADLINE)
    assert wait_until(lambda: not timer.running)

    timer.start()  # a finished thread cannot start again; this must not raise

    assert not timer.running


def test_refresh_timer_stop_from_its_own_callback(
    short_sandbox: SandboxServer,
) -> None:
    fetch = fetcher(short_sandbox)
    token = fetch()
    stopped = threading.Event()
    holder: list[RefreshTimer] = []

    def stop_self(_: GalileoToken) -> None:
        holder[0].stop()
        stopped.set()

    holder.append(RefreshTimer(token, fetch, margin=MARGIN, on_update=stop_self))
    holder[0].start()

    assert stopped.wait(DEADLINE)
    assert wait_until(lambda: not holder[0].running)


def test_refresh_timer_survives_a_failing_callback(
    short_sandbox: SandboxServer,
) -> None:
    fetch = fetcher(short_sandbox)
    token = fetch()
    calls: list[str] = []

    def broken(token: GalileoToken) -> None:
        calls.append(token.access_token)
        raise RuntimeError("the widget is gone")

    timer = RefreshTimer(token, fetch, margin=MARGIN, on_update=broken)
    timer.start()
    try:
        assert wait_until(lambda: len(calls) >= 2)
    finally:
        timer.stop()


def test_refresh_timer_wraps_unexpected_fetch_errors(
    caplog: pytest.LogCaptureFixture,
) -> None:
    token = GalileoToken(
        "eyJunexpected-token-0000",
        datetime.now(timezone.utc) + timedelta(seconds=1.5),
    )
    seen = Recorder()

    def broken() -> GalileoToken:
        raise KeyError("not a GalileoMagicError, canary-in-text")

    timer = seen.timer(token, broken, margin=1, retry_delay=0.1)
    timer.start()
    try:
        assert seen.failed.wait(DEADLINE)
    finally:
        timer.stop()

    assert "KeyError" in str(seen.errors[0])
    # Its type only: the text of an unexpected error may hold a secret.
    assert seen.errors[0].__cause__ is None and seen.errors[0].__context__ is None
    assert "canary-in-text" not in str(seen.errors[0]) + caplog.text
    assert "refresh failed: KeyError" in caplog.text


def test_refresh_timer_refresh_comes_halfway_when_margin_exceeds_lifetime() -> None:
    token = GalileoToken("eyJhalfway-token-0000000", _in(seconds=60))
    timer = RefreshTimer(token, lambda: token, margin=300)

    assert 25 < timer.seconds_until_refresh() <= 30


def test_refresh_timer_refresh_comes_margin_before_expiry() -> None:
    token = GalileoToken("eyJmargin-token-00000000", _in(seconds=3600))
    timer = RefreshTimer(token, lambda: token, margin=300)

    assert 3290 < timer.seconds_until_refresh() <= 3300


def test_refresh_timer_refresh_at_is_its_schedule_on_the_server_clock() -> None:
    skew = timedelta(hours=1)
    token = GalileoToken(
        "eyJschedule-token-000000", _in(seconds=60) + skew, clock_skew=skew
    )
    timer = RefreshTimer(token, lambda: token, margin=300)
    assert timer.refresh_at() is None

    timer.start()
    try:
        at = timer.refresh_at()
    finally:
        timer.stop()

    # Half-way, as the margin is longer than the token lives; on the server's
    # clock, as the token's expiry is.
    assert at is not None
    assert 29 < (token.expires_at - at).total_seconds() <= 31
    assert timer.refresh_at() is None


def test_refresh_timer_refuses_an_already_expired_token() -> None:
    token = GalileoToken("eyJcurrent-token-0000000", _in(seconds=1.5))
    seen = Recorder()
    with SandboxServer(ttl=-5) as stale_sandbox:
        # The refetch the magic gives its timers refuses a token born expired.
        timer = seen.timer(token, fetcher(stale_sandbox), margin=1, retry_delay=0.1)
        timer.start()
        try:
            assert seen.failed.wait(DEADLINE)
        finally:
            timer.stop()

    assert token.access_token == "eyJcurrent-token-0000000"
    assert "already expired" in str(seen.errors[0])


def test_refresh_timer_stop_forgets_the_fetch(short_sandbox: SandboxServer) -> None:
    timer = RefreshTimer(
        fetcher(short_sandbox)(), fetcher(short_sandbox), margin=MARGIN
    )
    timer.start()

    timer.stop()

    assert timer._fetch is None


def _in(seconds: float) -> datetime:
    return datetime.now(timezone.utc) + timedelta(seconds=seconds)


def _session(variable: str, name: str) -> TokenSession:
    token = GalileoToken("eyJregistry-token-00000", _in(seconds=3600))
    timer = RefreshTimer(token, lambda: token, margin=300, name=name)
    timer.start()
    return TokenSession(variable, token, refetch=lambda: token, timer=timer)


def test_registry_replace_stops_previous_timer() -> None:
    registry = Registry()
    first = _session("v", "t-registry-1")
    registry.replace(first)

    registry.replace(_session("v", "t-registry-2"))

    assert first.timer is None and first.refetch is None
    assert "t-registry-1" not in [t.name for t in threading.enumerate()]
    registry.stop_all()
    assert "t-registry-2" not in [t.name for t in threading.enumerate()]
    assert len(registry) == 0


def test_registry_forget_stops_timer_and_drops_credentials() -> None:
    registry = Registry()
    session = _session("v", "t-registry-3")
    registry.replace(session)

    assert registry.forget("v") is session
    assert registry.forget("v") is None

    assert session.timer is None and session.refetch is None
    assert "t-registry-3" not in [t.name for t in threading.enumerate()]


@pytest.fixture
def short_env(monkeypatch: pytest.MonkeyPatch, short_sandbox: SandboxServer) -> None:
    monkeypatch.setenv("GALILEO_API_URL", short_sandbox.url)
    monkeypatch.setenv("GALILEO_API_KEY", DEMO_API_KEY)


def magics_of(shell: InteractiveShell) -> Any:
    from galileo_magic.magics import GalileoMagics

    return next(c for c in shell.configurables if isinstance(c, GalileoMagics))


@pytest.mark.usefixtures("short_env")
def test_magic_auto_refresh_updates_variable_in_place(shell: InteractiveShell) -> None:
    shell.run_line_magic("config", f"GalileoMagics.refresh_margin = {MARGIN}")
    shell.run_line_magic("galileo_token", "--auto-refresh --quiet")
    token = shell.user_ns["galileo_token"]
    first = token.access_token

    assert wait_until(lambda: token.access_token != first)

    assert shell.user_ns["galileo_token"] is token
    assert len(timer_threads()) == 1


@pytest.mark.usefixtures("short_env")
def test_magic_auto_refresh_from_config(shell: InteractiveShell) -> None:
    shell.run_line_magic("config", "GalileoMagics.auto_refresh = True")

    shell.run_line_magic("galileo_token", "--quiet")
    assert [t.name for t in timer_threads()] == [f"{TIMER_PREFIX}-galileo_token"]

    shell.run_line_magic("galileo_token", "--quiet --no-auto-refresh")
    assert wait_until(lambda: not timer_threads())


@pytest.mark.usefixtures("short_env")
def test_magic_refresh_shows_in_countdown(shell: InteractiveShell) -> None:
    shell.run_line_magic("config", f"GalileoMagics.refresh_margin = {MARGIN}")
    shell.run_line_magic("galileo_token", "--auto-refresh --quiet")
    session = magics_of(shell).registry.get("galileo_token")
    view = CountdownWidget(session.token, variable="galileo_token")
    view.message = "before"
    session.view = view
    expiry = view.expires_at_ms

    assert wait_until(lambda: view.expires_at_ms != expiry)

    assert view.message == ""
    assert view.state == "active"


@pytest.mark.usefixtures("short_env")
def test_magic_countdown_refresh_at_follows_the_timer(shell: InteractiveShell) -> None:
    # A stand-in kernel, so the magic shows the countdown widget.
    shell.kernel = SimpleNamespace(_allow_stdin=False)  # type: ignore[attr-defined]
    shell.run_line_magic("config", f"GalileoMagics.refresh_margin = {MARGIN}")
    with capture_output():
        shell.run_line_magic("galileo_token", "--auto-refresh")
        shell.run_line_magic("galileo_token", "--var plain")
    session = magics_of(shell).registry.get("galileo_token")
    view, timer = session.view, session.timer
    assert isinstance(view, CountdownWidget)

    def in_step() -> bool:
        at = timer.refresh_at()
        return at is not None and view.refresh_at_ms == at.timestamp() * 1000

    assert wait_until(in_step)
    # Tokens live 3 s and the margin is 2 s: the refresh comes half-way, later
    # than "margin before expiry", and the countdown says so.
    assert 0 < view.expires_at_ms - view.refresh_at_ms < MARGIN * 1000
    first = view.refresh_at_ms
    assert wait_until(lambda: view.refresh_at_ms > first and in_step())
    assert magics_of(shell).registry.get("plain").view.refresh_at_ms == 0


@pytest.mark.usefixtures("short_env")
def test_magic_refresh_failure_shows_error_then_expired(
    shell: InteractiveShell, short_sandbox: SandboxServer
) -> None:
    shell.run_line_magic("config", f"GalileoMagics.refresh_margin = {MARGIN}")
    shell.run_line_magic("galileo_token", "--auto-refresh --quiet")
    session = magics_of(shell).registry.get("galileo_token")
    token = session.token
    first = token.access_token
    view = CountdownWidget(token, variable="galileo_token")
    session.view = view
    messages: list[str] = []
    view.observe(lambda change: messages.append(change["new"]), "message")

    with revoked(short_sandbox):
        assert wait_until(lambda: view.message.startswith("Expired"))

    assert any(m.startswith("Refresh failed") for m in messages)
    assert "Invalid API key" in view.message
    assert shell.user_ns["galileo_token"] is token
    assert token.access_token == first
    assert DEMO_API_KEY not in " ".join(messages)


@pytest.mark.usefixtures("sandbox_env")
def test_magic_rerun_replaces_timer_never_stacks(shell: InteractiveShell) -> None:
    for _ in range(50):
        shell.run_line_magic("galileo_token", "--auto-refresh --quiet")
        assert len(timer_threads()) <= 1

    assert len(magics_of(shell).registry) == 1
    shell.run_line_magic("galileo_token", "--logout --quiet")
    assert wait_until(lambda: not timer_threads())


@pytest.mark.usefixtures("sandbox_env")
def test_magic_rerun_marks_previous_countdown_replaced(
    shell: InteractiveShell,
) -> None:
    shell.run_line_magic("galileo_token", "--quiet")
    session = magics_of(shell).registry.get("galileo_token")
    session.view = CountdownWidget(session.token, variable="galileo_token")

    shell.run_line_magic("galileo_token", "--quiet")

    assert session.view.state == "replaced"
    assert session.refetch is None


@pytest.mark.usefixtures("sandbox_env")
def test_magic_logout_deletes_variable_stops_timer_forgets_credentials(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    shell.run_line_magic("galileo_token", "--auto-refresh --quiet")
    session = magics_of(shell).registry.get("galileo_token")
    request = _held_request(session)

    shell.run_line_magic("galileo_token", "--logout")
    gc.collect()

    assert "galileo_token" not in shell.user_ns
    assert magics_of(shell).registry.get("galileo_token") is None
    assert session.timer is None and session.refetch is None
    assert request() is None
    assert wait_until(lambda: not timer_threads())
    assert "removed" in capsys.readouterr().out


def _held_request(session: TokenSession) -> weakref.ref[Any]:
    """A weak reference to the TokenRequest (credentials) the refetch holds."""
    cells = [c.cell_contents for c in session.refetch.__closure__ or ()]
    return weakref.ref(next(c for c in cells if hasattr(c, "auth")))


def test_magic_logout_without_token_says_so(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    shell.run_line_magic("galileo_token", "--logout --var other")

    assert "other was not held" in capsys.readouterr().out


@pytest.mark.usefixtures("sandbox_env")
def test_magic_logout_keeps_a_value_the_user_put_there(
    shell: InteractiveShell,
) -> None:
    shell.run_line_magic("galileo_token", "--quiet")
    shell.user_ns["galileo_token"] = "mine"

    shell.run_line_magic("galileo_token", "--logout --quiet")

    assert shell.user_ns["galileo_token"] == "mine"


@pytest.mark.usefixtures("sandbox_env")
def test_magic_status_prints_org_expiry_remaining_masked_token(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    shell.run_line_magic("galileo_token", f"--org-slug {DEMO_ORG_SLUG} --quiet")
    token = shell.user_ns["galileo_token"]
    capsys.readouterr()

    shell.run_line_magic("galileo_token", "--status")

    out = capsys.readouterr().out
    assert DEMO_ORG_SLUG in out
    assert token.expires_at.astimezone().strftime("%Y-%m-%d %H:%M") in out
    assert "(in 59:" in out or "(in 1:00:00)" in out
    assert mask(token.access_token) in out
    assert token.access_token not in out
    assert "auto-refresh off" in out


@pytest.mark.usefixtures("sandbox_env")
def test_magic_status_notes_a_variable_changed_by_the_user(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    shell.run_line_magic("galileo_token", "--quiet --var tok")
    del shell.user_ns["tok"]

    shell.run_line_magic("galileo_token", "--status --var tok")

    assert "tok no longer holds it" in capsys.readouterr().out


def test_magic_status_without_token(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    shell.run_line_magic("galileo_token", "--status")

    assert "No Galileo token in galileo_token" in capsys.readouterr().out


@pytest.mark.usefixtures("sandbox_env")
def test_unload_ext_stops_every_timer(shell: InteractiveShell) -> None:
    shell.run_line_magic("galileo_token", "--auto-refresh --quiet --var one")
    shell.run_line_magic("galileo_token", "--auto-refresh --quiet --var two")
    assert len(timer_threads()) == 2

    shell.run_line_magic("unload_ext", "galileo_magic")

    assert wait_until(lambda: not timer_threads())
