"""The ``%galileo_token`` line magic: parse the line, hand off, show the result.

The class is thin on purpose. It never talks HTTP itself; credentials,
fetching, the lifecycle and the widgets each live in their own module.
"""

from __future__ import annotations

import io
import keyword
import logging
import os
import shlex
import sys
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import argument, magic_arguments
from traitlets import Bool, Float, Int, Unicode, Union

if TYPE_CHECKING:
    from .lifecycle import Registry, TokenSession

__all__ = ["GalileoMagics", "login_form"]

logger = logging.getLogger(__name__)

PROMPT = object()  # the value of a bare --password: ask for it


@magics_class
class GalileoMagics(Magics):
    """Get short-lived Galileo access tokens into kernel variables."""

    console_url = Unicode(
        None, allow_none=True, help="Galileo console URL (GALILEO_CONSOLE_URL)."
    ).tag(config=True)
    api_url = Unicode(
        None, allow_none=True, help="Galileo API URL; wins over the console URL."
    ).tag(config=True)
    variable = Unicode("galileo_token", help="Default variable for the token.").tag(
        config=True
    )
    timeout = Float(10.0, help="Seconds to wait for each HTTP step.").tag(config=True)
    auto_refresh = Bool(False, help="Refresh tokens before they expire.").tag(
        config=True
    )
    refresh_margin = Int(300, help="Seconds before expiry to refresh or warn.").tag(
        config=True
    )
    api_key_header = Unicode("Galileo-API-Key", help="Header carrying the key.").tag(
        config=True
    )
    token_path = Unicode("/v1/token", help="Path of the token endpoint.").tag(
        config=True
    )
    verify = Union(
        [Bool(), Unicode()],
        default_value=True,
        help="Verify TLS certificates: True, False or a CA bundle path.",
    ).tag(config=True)

    # The login panel waiting for its countdown, set only while its form submits.
    _form_panel: Any = None

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell=shell, **kwargs)
        self._registry: Registry | None = None
        self._warned_secret_on_line = False

    @property
    def registry(self) -> Registry:
        """The sessions held; made on first use, so loading imports no requests."""
        if self._registry is None:
            from .lifecycle import Registry

            self._registry = Registry()
        return self._registry

    @no_var_expand
    @magic_arguments()
    @argument("--api-key", metavar="KEY", help="Galileo API key.")
    @argument("--username", metavar="USER", help="Email or user name.")
    @argument(
        "--password",
        nargs="?",
        const=PROMPT,
        metavar="PASSWORD",
        help="Password; without a value it is asked for, hidden.",
    )
    @argument("--auth", choices=("api-key", "oauth2", "basic"), help="Auth flow.")
    @argument("--org-id", metavar="UUID", help="Organization id (a UUID4).")
    @argument("--org-slug", metavar="SLUG", help="Organization slug.")
    @argument("--console-url", metavar="URL", help="Galileo console URL.")
    @argument("--api-url", metavar="URL", help="Galileo API URL.")
    @argument("--var", metavar="NAME", help="Variable for the token.")
    @argument("--auto-refresh", action="store_true", default=None, help="Refresh.")
    @argument(
        "--no-auto-refresh",
        dest="auto_refresh",
        action="store_false",
        help="Do not refresh automatically.",
    )
    @argument("--login", action="store_true", help="Always show the login form.")
    @argument("--status", action="store_true", help="Describe the token held.")
    @argument("--logout", action="store_true", help="Forget the token.")
    @argument("--quiet", action="store_true", help="Show nothing on success.")
    @line_magic
    def galileo_token(self, line: str) -> None:
        """Fetch a Galileo access token into a kernel variable.

        Credentials come from the flags, then GALILEO_* environment variables,
        then the nearest .env file, then the login form or a hidden prompt.
        Values are taken literally: no $name or {expression} expansion.
        """
        args = self._parse(line)
        variable = self._variable(args.var)
        if args.logout:
            return self._logout(variable, quiet=args.quiet)
        if args.status:
            return self._status(variable)
        self._scrub_line(args)

        from .credentials import gather

        values = gather(self._arguments(args))
        auto = self.auto_refresh if args.auto_refresh is None else args.auto_refresh
        asking = args.password is PROMPT
        if not self._complete(values, prompt_password=asking, login=args.login):
            self._show_form(variable, values, auto_refresh=auto)
            return
        request, token = self._fetch(values)
        self._store(variable, token, request, auto_refresh=auto, quiet=args.quiet)

    @property
    def _namespace(self) -> dict[str, Any]:
        if self.shell is None:
            raise UsageError("%galileo_token needs an IPython shell.")
        return self.shell.user_ns

    def _parse(self, line: str) -> Any:
        """Split like a POSIX shell on every platform, not IPython's arg_split.

        Secrets typed on the line are scrubbed here, before any early exit,
        and even when the line cannot be read.
        """
        from .history import secret_words

        try:
            words = _shell_words(line)
            args = self.galileo_token.parser.parse_args(words)
        except (ValueError, UsageError) as exc:
            self._scrub(secret_words(line), [])
            if "unrecognized arguments" in str(exc):
                # argparse echoes the words, and a mistyped flag may hold a secret.
                raise UsageError(
                    "Unknown %galileo_token flag (the words are not shown, they may "
                    "hold a secret); see %galileo_token? for the flags."
                ) from None
            if isinstance(exc, UsageError):
                raise
            raise UsageError(
                f"Cannot read the %galileo_token line ({exc}); close the quote or "
                "escape it."
            ) from None
        args.typed_line = line
        self._scrub_line(args)
        return args

    def _variable(self, name: str | None) -> str:
        # An empty --var '' is a mistake to report, not a request for the default.
        variable = self.variable if name is None else name
        if not variable.isidentifier() or keyword.iskeyword(variable):
            raise UsageError(
                f"--var {variable!r} is not a Python identifier; use a name like "
                "galileo_token."
            )
        return variable

    def _arguments(self, args: Any) -> dict[str, str | None]:
        return {
            "api_key": args.api_key,
            "username": args.username,
            "password": None if args.password is PROMPT else args.password,
            "auth": args.auth,
            "organization_id": args.org_id,
            "organization_slug": args.org_slug,
            "console_url": args.console_url or self.console_url,
            "api_url": args.api_url or self.api_url,
        }

    def _scrub_line(self, args: Any) -> None:
        """Mask secrets typed on the line in the history; once per run."""
        from .history import typed_forms

        if getattr(args, "scrubbed", False):
            return
        args.scrubbed = True
        secrets = [s for s in (args.api_key, args.password) if isinstance(s, str) and s]
        if secrets:
            line = getattr(args, "typed_line", "")
            self._scrub(secrets, typed_forms(line, secrets))

    def _scrub(self, secrets: list[str], typed: list[str]) -> None:
        if not secrets:
            return
        from .history import redact_current_cell

        redact_current_cell(self.shell, [*typed, *secrets])
        if not self._warned_secret_on_line:
            self._warned_secret_on_line = True
            print(
                "Warning: a secret was typed on the %galileo_token line; it was "
                "replaced by *** in the history. Prefer GALILEO_API_KEY or "
                "GALILEO_PASSWORD in the environment or a .env file, or the form.",
                file=sys.stderr,
            )

    def _complete(
        self, values: Any, *, prompt_password: bool, login: bool = False
    ) -> bool:
        """Ask for what is missing, or fail at once where nobody can answer.

        False means the login form should ask instead: always for ``--login``
        in a kernel, and for missing credentials in a kernel that allows
        input (JupyterLab, Notebook, VS Code; nbclient and papermill do not).
        A terminal gets hidden prompts; no stdin at all, a UsageError.
        """
        from .credentials import missing_message
        from .protocol import Secret

        missing = values.missing()
        if prompt_password and values.username:
            missing = "a password"
        in_kernel = getattr(self.shell, "kernel", None) is not None
        if in_kernel and (login or (missing and self._can_prompt())):
            return False
        if missing is None:
            return True
        if not self._can_prompt():
            raise UsageError(missing_message())
        import getpass

        if missing in ("credentials", "an API key"):
            key = getpass.getpass("Galileo API key (hidden): ").strip()
            if not key:
                raise UsageError(missing_message())
            values.api_key, values.sources["api_key"] = Secret(key), "argument"
            values.auth = values.auth or "api-key"
            return True
        if missing == "a user name":
            values.username = input("Galileo user name: ").strip() or None
        if missing == "a password" or not values.password:
            values.password = Secret(getpass.getpass("Galileo password (hidden): "))
        if not (values.username and values.password):
            raise UsageError(missing_message())
        return True

    def _can_prompt(self) -> bool:
        """Whether someone can answer: a kernel allowing input, or a terminal."""
        kernel = getattr(self.shell, "kernel", None)
        if kernel is not None:
            return bool(getattr(kernel, "_allow_stdin", False))
        stdin = sys.stdin
        return stdin is not None and stdin.isatty()

    def _client(self) -> Any:
        from .fetch import get_client

        verify: bool | str = self.verify
        if verify is True:
            verify = _ca_bundle_from_environment() or True
        return get_client(
            timeout=self.timeout,
            verify=verify,
            api_key_header=self.api_key_header,
            token_path=self.token_path,
        )

    def _fetch(self, values: Any) -> tuple[Any, Any]:
        """Validate and fetch; any failure becomes one UsageError line."""
        from .credentials import build_request
        from .errors import GalileoMagicError
        from .fetch import request_token

        try:
            request = build_request(values)
            return request, request_token(request, self._client())
        except GalileoMagicError as exc:
            raise UsageError(f"{type(exc).__name__}: {exc}") from None

    def _store(
        self,
        variable: str,
        token: Any,
        request: Any,
        *,
        auto_refresh: bool,
        quiet: bool,
    ) -> None:
        from .fetch import request_token
        from .lifecycle import TokenSession

        client = self._client()
        # The credentials stay in this closure, in memory only, until logout.
        session = TokenSession(
            variable, token, refetch=lambda: request_token(request, client)
        )
        old = self.registry.replace(session)
        if old is not None and old.view is not None:
            old.view.state = "replaced"
        self._namespace[variable] = token
        if auto_refresh:
            self._start_timer(session)
        if not quiet:
            session.view = self._display(session, auto_refresh=auto_refresh)

    def _display(self, session: Any, *, auto_refresh: bool) -> Any:
        from IPython.display import display

        from .widgets.countdown import countdown_line

        panel, self._form_panel = self._form_panel, None
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
            refresh_margin=self.refresh_margin,
            auto_refresh=auto_refresh,
            on_refresh=lambda: self._refresh_now(session),
            on_logout=lambda: self._logout(session.variable, quiet=True),
        )
        if panel is not None:
            panel.show_countdown(view)
        else:
            display(view)
        return view

    def _show_form(self, variable: str, values: Any, *, auto_refresh: bool) -> Any:
        """Display the login form; its "Get token" stores the token like the line.

        The form runs in the kernel's comm handler: a success goes through
        ``_store`` with the panel as the place for the countdown; a failure
        raises into the form, which shows the message inline.
        """
        from IPython.display import display

        from .credentials import build_request
        from .widgets.form import LoginForm, LoginPanel

        def organizations(values: Any) -> Any:
            request = build_request(values)
            return self._client().list_organizations(request.api_url, request.auth)

        def submit(values: Any) -> None:
            request, token = self._fetch(values)
            token.organization_slug = token.organization_slug or form.slug_of(
                token.organization_id
            )
            self._form_panel = panel
            try:
                self._store(variable, token, request, auto_refresh=auto, quiet=False)
            finally:
                self._form_panel = None

        auto = auto_refresh
        form = LoginForm(
            values, variable=variable, submit=submit, list_organizations=organizations
        )
        panel = LoginPanel(form)
        form.refresh_organizations()
        display(panel)
        return panel

    def _start_timer(self, session: TokenSession) -> None:
        """Give ``session`` a running refresh timer, replacing any it had."""
        from .lifecycle import RefreshTimer

        if session.refetch is None:
            return
        if session.timer is not None:
            session.timer.stop()
        session.timer = RefreshTimer(
            session.token,
            session.refetch,
            margin=self.refresh_margin,
            on_update=lambda token: self._refreshed(session),
            on_error=lambda exc: self._refresh_failed(session, exc),
            on_expired=lambda token: self._expired(session),
            name=f"galileo-magic-refresh-{session.variable}",
        )
        session.timer.start()

    def _current(self, session: TokenSession) -> bool:
        # A replaced or signed-out session's callbacks must not touch its view.
        return self.registry.get(session.variable) is session

    def _refreshed(self, session: TokenSession) -> None:
        session.extras.pop("refresh_error", None)
        if session.view is not None and self._current(session):
            session.view.show(session.token)

    def _refresh_failed(self, session: TokenSession, exc: Exception) -> None:
        session.extras["refresh_error"] = str(exc)
        if session.view is not None and self._current(session):
            session.view.message = f"Refresh failed, retrying: {exc}"

    def _expired(self, session: TokenSession) -> None:
        error = session.extras.get("refresh_error")
        why = f"refresh failed: {error}" if error else "it was not refreshed"
        session.extras["refresh_error"] = f"expired; {why}"
        if session.view is not None and self._current(session):
            session.view.show(
                session.token, f"Expired ({why}); run %galileo_token again."
            )

    def _refresh_now(self, session: TokenSession) -> None:
        from .errors import GalileoMagicError

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

    def _logout(self, variable: str, *, quiet: bool) -> None:
        # forget() stops the timer and drops the credentials' closure.
        session = self.registry.forget(variable)
        held = self._namespace.get(variable)
        if session is not None and held is session.token:
            del self._namespace[variable]
        if session is not None and session.view is not None:
            session.view.state = "signed-out"
        if not quiet:
            said = "removed" if session is not None else "was not held"
            print(f"Galileo token in {variable} {said}.")

    def _status(self, variable: str) -> None:
        from .tokens import mask

        session = self.registry.get(variable)
        if session is None:
            print(f"No Galileo token in {variable}; run %galileo_token to get one.")
            return
        token = session.token
        refresh = "off"
        if session.timer is not None:
            refresh = "on" if session.timer.running else "stopped"
        error = session.extras.get("refresh_error")
        note = f" Last refresh: {error}" if error else ""
        if self._namespace.get(variable) is not token:
            note += f" {variable} no longer holds it; --logout forgets it."
        print(
            f"Galileo token in {variable}: {token.describe()}; "
            f"token {mask(token.access_token)}; auto-refresh {refresh}.{note}"
        )

    def close(self) -> None:
        """Stop every timer and forget every credential (on extension unload)."""
        if self._registry is not None:
            self._registry.stop_all()


def _shell_words(line: str) -> list[str]:
    """POSIX shell words; a ``#`` that starts a word begins a comment, as in bash.

    shlex's own comment handling would also cut ``pa#ss`` short, silently.
    """
    stream = io.StringIO(line)
    lexer = shlex.shlex(stream, posix=True)
    lexer.whitespace_split = True
    lexer.commenters = ""
    words: list[str] = []
    while True:
        rest = line[stream.tell() :].lstrip()
        if not rest or rest.startswith("#"):
            return words
        word = lexer.get_token()
        if word is None:
            return words
        words.append(word)


def _ca_bundle_from_environment() -> str | None:
    """requests reads REQUESTS_CA_BUNDLE itself, but not SSL_CERT_FILE."""
    return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("SSL_CERT_FILE")


def login_form(
    variable: str | None = None,
    *,
    console_url: str | None = None,
    api_url: str | None = None,
    username: str | None = None,
    auth: str | None = None,
    organization_id: str | None = None,
    organization_slug: str | None = None,
    auto_refresh: bool | None = None,
) -> None:
    """Show the Galileo login form in a notebook; its token lands in ``variable``.

    The form is the one ``%galileo_token --login`` shows, so it needs a
    running IPython kernel with a front end that renders widgets; the
    extension is loaded if it is not yet. ``variable`` defaults to
    ``%config GalileoMagics.variable`` (``galileo_token``). The other
    arguments prefill the form; unset ones come from the GALILEO_* variables
    and ``.env`` (never a secret: secrets found there are used by the kernel
    and not shown). The call returns at once: the token is stored when
    "Get token" succeeds, so code that needs it belongs in a later cell.
    Outside a kernel it raises ConfigurationError; use ``fetch_token()``.
    """
    from IPython import get_ipython

    from .credentials import gather
    from .errors import ConfigurationError

    shell = get_ipython()
    if shell is None or getattr(shell, "kernel", None) is None:
        raise ConfigurationError(
            "login_form() needs a Jupyter kernel and a front end that renders "
            "widgets; in a terminal run %galileo_token (it prompts), in plain "
            "Python call galileo_magic.fetch_token()."
        )
    magics = _loaded_magics(shell)
    values = gather(
        {
            "console_url": console_url or magics.console_url,
            "api_url": api_url or magics.api_url,
            "username": username,
            "auth": auth,
            "organization_id": organization_id,
            "organization_slug": organization_slug,
        }
    )
    auto = magics.auto_refresh if auto_refresh is None else auto_refresh
    magics._show_form(magics._variable(variable), values, auto_refresh=auto)


def _loaded_magics(shell: Any) -> GalileoMagics:
    """The shell's GalileoMagics, loading the extension first if needed."""
    for configurable in shell.configurables:
        if isinstance(configurable, GalileoMagics):
            return configurable
    shell.extension_manager.load_extension("galileo_magic")
    return next(c for c in shell.configurables if isinstance(c, GalileoMagics))
