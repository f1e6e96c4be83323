"""The tokens one shell holds: fetched, stored, shown, refreshed, signed out.

The magic parses a line and hands the result to a :class:`TokenController`,
which owns the shell's :class:`~galileo_magic.lifecycle.Registry`, puts each
token in the user's namespace, and keeps its countdown (or its text line)
in step with refreshes, failures, expiry and sign-out. The widgets are
imported only when something is shown.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from IPython.core.error import UsageError

from .credentials import CredentialValues, TokenRequest, build_request
from .errors import GalileoMagicError
from .fetch import get_client, request_token
from .lifecycle import RefreshTimer, Registry, TokenSession
from .tokens import GalileoToken, mask

if TYPE_CHECKING:
    from .protocol import GalileoClient

__all__ = ["Settings", "TokenController"]


class Settings(Protocol):
    """The ``%config GalileoMagics`` values, read afresh at each use."""

    timeout: float
    verify: bool | str
    api_key_header: str
    token_path: str
    refresh_margin: int


class TokenController:
    """The token sessions of one shell, by variable, and their displays."""

    def __init__(self, shell: Any, settings: Settings) -> None:
        self.shell = shell
        self.settings = settings
        self.registry = Registry()

    @property
    def namespace(self) -> dict[str, Any]:
        """The user's variables, where tokens are stored."""
        if self.shell is None:
            raise UsageError("%galileo_token needs an IPython shell.")
        return self.shell.user_ns

    def client(self) -> GalileoClient:
        """The pooled client for the current settings."""
        return get_client(
            timeout=self.settings.timeout,
            verify=self.settings.verify,
            api_key_header=self.settings.api_key_header,
            token_path=self.settings.token_path,
        )

    def fetch(self, values: CredentialValues) -> tuple[TokenRequest, GalileoToken]:
        """Validate and fetch; a failure raises a GalileoMagicError.

        The magic turns it into one UsageError line; the form shows it inline.
        """
        request = build_request(values)
        return request, request_token(request, self.client())

    def store(
        self,
        variable: str,
        token: GalileoToken,
        request: TokenRequest,
        *,
        auto_refresh: bool,
        quiet: bool,
        panel: Any = None,
    ) -> None:
        """Hold ``token`` in ``variable``, replacing any session it had.

        The countdown goes into ``panel`` (a login form's) when one is given.
        """
        client = self.client()
        # The credentials stay in this closure, in memory only, until logout.
        session = TokenSession(
            variable, token, refetch=lambda: request_token(request, client)
        )
        old = self.registry.replace(session)
        if old is not None and old.view is not None:
            old.view.state = "replaced"
        self.namespace[variable] = token
        if auto_refresh:
            self._start_timer(session)
        if not quiet:
            session.view = self._display(
                session, auto_refresh=auto_refresh, panel=panel
            )

    def _display(self, session: TokenSession, *, auto_refresh: bool, panel: Any) -> Any:
        from IPython.display import display

        from .widgets.countdown import countdown_line

        if panel is None and getattr(self.shell, "kernel", None) is None:
            display(
                {"text/plain": countdown_line(session.token, session.variable)},
                raw=True,
            )
            return None
        from .widgets import CountdownWidget

        view = CountdownWidget(
            session.token,
            variable=session.variable,
            refresh_margin=self.settings.refresh_margin,
            auto_refresh=auto_refresh,
            on_refresh=lambda: self._refresh_now(session),
            on_logout=lambda: self.logout(session.variable, quiet=True),
        )
        if session.timer is not None:
            view.schedule(session.timer.refresh_at())
        if panel is not None:
            panel.show_countdown(view)
        else:
            display(view)
        return view

    def show_form(
        self, variable: str, values: CredentialValues, *, auto_refresh: bool
    ) -> Any:
        """Display the login form; its "Get token" stores the token like the line.

        The form runs in the kernel's comm handler: a success goes through
        ``store`` with the panel as the place for the countdown; a failure
        raises into the form, which shows the message inline.
        """
        from IPython.display import display

        from .widgets.form import LoginForm, LoginPanel

        def organizations(values: CredentialValues) -> Any:
            request = build_request(values)
            return self.client().list_organizations(request.api_url, request.auth)

        def submit(values: CredentialValues) -> None:
            request, token = self.fetch(values)
            token.organization_slug = token.organization_slug or form.slug_of(
                token.organization_id
            )
            self.store(
                variable,
                token,
                request,
                auto_refresh=auto_refresh,
                quiet=False,
                panel=panel,
            )

        form = LoginForm(
            values, variable=variable, submit=submit, list_organizations=organizations
        )
        panel = LoginPanel(form)
        form.refresh_organizations()
        display(panel)
        return panel

    def _start_timer(self, session: TokenSession) -> None:
        """Give ``session`` a running refresh timer, replacing any it had."""
        if session.refetch is None:
            return
        if session.timer is not None:
            session.timer.stop()
        session.timer = RefreshTimer(
            session.token,
            session.refetch,
            margin=self.settings.refresh_margin,
            on_update=lambda token: self._refreshed(session),
            on_error=lambda exc: self._refresh_failed(session, exc),
            on_expired=lambda token: self._expired(session),
            on_schedule=lambda at: self._scheduled(session, at),
            name=f"galileo-magic-refresh-{session.variable}",
        )
        session.timer.start()
        self._scheduled(session, session.timer.refresh_at())

    def _current(self, session: TokenSession) -> bool:
        # A replaced or signed-out session's callbacks must not touch its view.
        return self.registry.get(session.variable) is session

    def _scheduled(self, session: TokenSession, at: datetime | None) -> None:
        if session.view is not None and self._current(session):
            session.view.schedule(at)

    def _refreshed(self, session: TokenSession) -> None:
        session.refresh_error = None
        if session.view is not None and self._current(session):
            session.view.show(session.token)

    def _refresh_failed(self, session: TokenSession, exc: Exception) -> None:
        session.refresh_error = str(exc)
        if session.view is not None and self._current(session):
            session.view.message = f"Refresh failed, retrying: {exc}"

    def _expired(self, session: TokenSession) -> None:
        error = session.refresh_error
        why = f"refresh failed: {error}" if error else "it was not refreshed"
        session.refresh_error = f"expired; {why}"
        if session.view is not None and self._current(session):
            session.view.show(
                session.token, f"Expired ({why}); run %galileo_token again."
            )

    def _refresh_now(self, session: TokenSession) -> None:
        refetch = session.refetch
        if not self._current(session) or refetch is None:
            return
        try:
            session.token.update_from(refetch())
        except GalileoMagicError as exc:
            self._refresh_failed(session, exc)
            return
        self._refreshed(session)
        if session.timer is not None and session.timer.running:
            session.timer.reschedule()
        elif session.timer is not None:
            # The timer ended when the token expired; a new token gets a new one.
            self._start_timer(session)

    def logout(self, variable: str, *, quiet: bool) -> None:
        """Forget ``variable``'s token, its timer and its credentials."""
        # forget() stops the timer and drops the credentials' closure.
        session = self.registry.forget(variable)
        held = self.namespace.get(variable)
        if session is not None and held is session.token:
            del self.namespace[variable]
        if session is not None and session.view is not None:
            session.view.state = "signed-out"
        if not quiet:
            said = "removed" if session is not None else "was not held"
            print(f"Galileo token in {variable} {said}.")

    def status(self, variable: str) -> None:
        """Print one line about the token held in ``variable``, masked."""
        session = self.registry.get(variable)
        if session is None:
            print(f"No Galileo token in {variable}; run %galileo_token to get one.")
            return
        token = session.token
        refresh = "off"
        if session.timer is not None:
            refresh = "on" if session.timer.running else "stopped"
        error = session.refresh_error
        note = f" Last refresh: {error}" if error else ""
        if self.namespace.get(variable) is not token:
            note += f" {variable} no longer holds it; --logout forgets it."
        print(
            f"Galileo token in {variable}: {token.describe()}; "
            f"token {mask(token.access_token)}; auto-refresh {refresh}.{note}"
        )

    def close(self) -> None:
        """Stop every timer and forget every credential (on extension unload)."""
        self.registry.stop_all()
