"""The ``%galileo_token`` line magic: parse the line, check it, hand it off.

The class is thin on purpose: it never talks HTTP and holds no token. It
masks secrets typed on the line, lets ``prompts`` ask for what is missing,
and hands the rest to the ``control`` module's TokenController, which
fetches, stores, shows, refreshes and signs out.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import argument, magic_arguments
from traitlets import Bool, Float, Int, TraitError, Unicode, Union, validate

from .defaults import DEFAULT_API_KEY_HEADER, DEFAULT_TIMEOUT, DEFAULT_TOKEN_PATH
from .errors import ConfigurationError

if TYPE_CHECKING:
    from .control import TokenController
    from .lifecycle import Registry
    from .line import MagicRun

__all__ = ["GalileoMagics", "login_form"]

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
    timeout = Float(DEFAULT_TIMEOUT, help="Seconds to wait for each HTTP step.").tag(
        config=True
    )
    auto_refresh = Bool(False, help="Refresh tokens before they expire.").tag(
        config=True
    )
    refresh_margin = Int(
        300, min=0, help="Seconds before expiry to refresh or warn (0 or more)."
    ).tag(config=True)
    api_key_header = Unicode(
        DEFAULT_API_KEY_HEADER, help="Header carrying the key."
    ).tag(config=True)
    token_path = Unicode(DEFAULT_TOKEN_PATH, help="Path of the token endpoint.").tag(
        config=True
    )
    verify = Union(
        [Bool(), Unicode()],
        default_value=True,
        help="Verify TLS certificates: True, False or a CA bundle path.",
    ).tag(config=True)

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell=shell, **kwargs)
        self._controller: TokenController | None = None
        self._warned_secret_on_line = False

    @property
    def controller(self) -> TokenController:
        """What holds the tokens; made on first use, so loading imports no requests."""
        if self._controller is None:
            from .control import TokenController

            self._controller = TokenController(self.shell, self)
        return self._controller

    @property
    def registry(self) -> Registry:
        """The sessions held, by variable."""
        return self.controller.registry

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
    @argument(
        "--auto-refresh",
        action="store_true",
        default=None,
        help="Fetch a new token in the background before this one expires.",
    )
    @argument(
        "--no-auto-refresh",
        dest="auto_refresh",
        action="store_false",
        help="Do not refresh automatically.",
    )
    @argument(
        "--login",
        action="store_true",
        help="Always show the login form (a hidden prompt in a terminal).",
    )
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
        # The line and history helpers load on first use, keeping %load_ext light.
        from .line import MagicRun

        run = MagicRun(line)
        try:
            return self._run(run)
        except (Exception, KeyboardInterrupt) as exc:
            message = run.failure(exc)
        # Raised outside the handler: no traceback, no chained exception, no
        # frame showing the raw line, whatever escaped.
        raise UsageError(message)

    def _run(self, run: MagicRun) -> None:
        run.args = args = self._parse(run.line)
        variable = self._variable(args.var)
        if args.logout:
            return self.controller.logout(variable, quiet=args.quiet)
        if args.status:
            return self.controller.status(variable)

        from .credentials import gather
        from .prompts import complete

        run.values = values = gather(self._arguments(args), defaults=self._defaults())
        auto = self.auto_refresh if args.auto_refresh is None else args.auto_refresh
        asking = args.password is PROMPT
        if not complete(self.shell, values, prompt_password=asking, login=args.login):
            self._show_form(variable, values, auto_refresh=auto)
            return
        request, token = self.controller.fetch(values)
        self.controller.store(
            variable, token, request, auto_refresh=auto, quiet=args.quiet
        )

    def _parse(self, line: str) -> Any:
        """Split like a POSIX shell on every platform, not IPython's arg_split.

        Secrets typed on the line are scrubbed here, before any early exit,
        and even when the line cannot be read.
        """
        from .history import secret_words
        from .line import shell_words

        try:
            words = shell_words(line)
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
        from .line import name_problem

        variable = self.variable if name is None else name
        problem = name_problem(variable, self.shell)
        if problem:
            raise UsageError(f"--var {variable!r} {problem}")
        return variable

    @validate("variable")
    def _check_variable(self, proposal: Any) -> str:
        from .line import name_problem

        problem = name_problem(proposal.value, self.shell)
        if problem:
            raise TraitError(f"GalileoMagics.variable {proposal.value!r} {problem}")
        return str(proposal.value)

    @validate("timeout")
    def _check_timeout(self, proposal: Any) -> float:
        # Imported here: transport brings requests, which loading must not.
        from .transport import check_timeout

        try:
            return check_timeout(proposal.value)
        except ConfigurationError as exc:
            raise TraitError(f"GalileoMagics.timeout: {exc}") from None

    def _arguments(self, args: Any) -> dict[str, str | None]:
        return {
            "api_key": args.api_key,
            "username": args.username,
            "password": None if args.password is PROMPT else args.password,
            "auth": args.auth,
            "organization_id": args.org_id,
            "organization_slug": args.org_slug,
            # A flag given empty ('') is passed on, to be refused, not defaulted.
            "console_url": args.console_url,
            "api_url": args.api_url,
        }

    def _defaults(self) -> dict[str, str | None]:
        """The %config URLs: below the flags, the environment and .env."""
        return {"console_url": self.console_url, "api_url": self.api_url}

    def _scrub_line(self, args: Any) -> None:
        """Mask secrets typed on the line in the history."""
        from .history import typed_forms, url_passwords

        secrets = [s for s in (args.api_key, args.password) if isinstance(s, str) and s]
        secrets += url_passwords(vars(args).values())
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

    def _show_form(self, variable: str, values: Any, *, auto_refresh: bool) -> Any:
        """Display the login form; its token lands in ``variable``."""
        return self.controller.show_form(variable, values, auto_refresh=auto_refresh)

    def close(self) -> None:
        """Stop every timer and forget every credential (on extension unload)."""
        if self._controller is not None:
            self._controller.close()


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
    and not shown), then for the URLs from ``%config GalileoMagics``. An
    argument given as empty text is refused, as the magic's flags are. The
    call returns at once: the token is stored when "Get token" succeeds, so
    code that needs it belongs in a later cell. Outside a kernel it raises
    ConfigurationError; use ``fetch_token()``.
    """
    from IPython import get_ipython

    from .credentials import gather

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
            "console_url": console_url,
            "api_url": api_url,
            "username": username,
            "auth": auth,
            "organization_id": organization_id,
            "organization_slug": organization_slug,
        },
        defaults=magics._defaults(),
    )
    if values.empty:
        raise ConfigurationError(
            f"login_form({values.empty[0]}='') is empty; give a value, or leave it "
            "out to use the GALILEO_* variables, .env and %config GalileoMagics."
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
