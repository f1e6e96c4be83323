"""The login form: credentials in, a countdown out, no secret in widget state.

Secrets never become a synced trait. The browser sends each one to the kernel
once, in a custom message, and clears its input at once; the kernel keeps it
in a private attribute until the next "Get token" succeeds or fails, then
forgets it. Synced traits hold only what may be saved in a notebook: URLs,
the user name, the chosen flow and organization, and status text.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import anywidget
import ipywidgets
import traitlets

from ..auth import Secret
from ..credentials import CredentialValues
from ..errors import GalileoMagicError
from ..urls import DEFAULT_CONSOLE_URL
from .text import with_text_line

__all__ = ["FORM_LINE", "LoginForm", "LoginPanel"]

logger = logging.getLogger(__name__)

_HERE = Path(__file__).parent
_UUID = re.compile(r"[0-9a-fA-F]{8}(-?[0-9a-fA-F]{4}){3}-?[0-9a-fA-F]{12}")
_SECRET_KEYS = ("api_key", "password")
_URL_KEYS = ("console_url", "api_url")
_URL_WORDS = {"console_url": "console URL", "api_url": "API URL"}

FORM_LINE = (
    "Galileo login form: it needs a front end that renders widgets (JupyterLab, "
    "Notebook 7, VS Code). Elsewhere set GALILEO_API_KEY, or GALILEO_USERNAME and "
    "GALILEO_PASSWORD, in the environment or a .env file."
)

Submit = Callable[[CredentialValues], None]
ListOrganizations = Callable[[CredentialValues], Sequence[dict[str, str]]]


class LoginForm(anywidget.AnyWidget):
    """Console URL, auth flow, secret fields, organization picker, "Get token"."""

    _esm = _HERE / "form.js"
    _css = _HERE / "form.css"

    variable = traitlets.Unicode("galileo_token").tag(sync=True)
    console_url = traitlets.Unicode("").tag(sync=True)
    console_placeholder = traitlets.Unicode(DEFAULT_CONSOLE_URL).tag(sync=True)
    api_url = traitlets.Unicode("").tag(sync=True)
    username = traitlets.Unicode("").tag(sync=True)
    auth = traitlets.Enum(("api-key", "oauth2", "basic"), default_value="api-key").tag(
        sync=True
    )
    organization = traitlets.Unicode("").tag(sync=True)
    organizations = traitlets.List(traitlets.Dict()).tag(sync=True)
    # "unknown" until credentials are complete; "listed" fills the dropdown;
    # "unavailable" (no endpoint, refused) leaves a free-text id-or-slug field.
    organizations_state = traitlets.Enum(
        ("unknown", "listed", "unavailable"), default_value="unknown"
    ).tag(sync=True)
    organizations_note = traitlets.Unicode("").tag(sync=True)
    held = traitlets.List(traitlets.Unicode()).tag(sync=True)
    status = traitlets.Enum(
        ("idle", "working", "error", "done"), default_value="idle"
    ).tag(sync=True)
    message = traitlets.Unicode("").tag(sync=True)

    def __init__(
        self,
        values: CredentialValues,
        *,
        variable: str,
        submit: Submit,
        list_organizations: ListOrganizations,
    ) -> None:
        # URL fields whose last value was refused (it held user:password@).
        self._bad_urls: set[str] = set()
        super().__init__(
            variable=variable,
            console_url=values.console_url or "",
            api_url=values.api_url or "",
            username=values.username or "",
            auth=values.auth or ("oauth2" if values.username else "api-key"),
            organization=values.organization_id or values.organization_slug or "",
        )
        # Secrets the kernel already had (flags, environment, .env) are used
        # as they are and never sent to the browser.
        self._secrets: dict[str, Secret] = {
            key: secret
            for key in _SECRET_KEYS
            if (secret := getattr(values, key)) is not None
        }
        self.held = sorted(self._secrets)
        self._submit = submit
        self._list_organizations = list_organizations
        self.on_msg(self._handle_message)

    def values(self) -> CredentialValues:
        """What the form holds now, as credentials for the chosen flow."""
        choice = self.organization.strip()
        is_id = bool(_UUID.fullmatch(choice))
        api_key = self.auth == "api-key"
        return CredentialValues(
            console_url=self.console_url.strip() or None,
            api_url=self.api_url.strip() or None,
            api_key=self._secrets.get("api_key") if api_key else None,
            username=None if api_key else self.username.strip() or None,
            password=None if api_key else self._secrets.get("password"),
            organization_id=choice if is_id else None,
            organization_slug=None if is_id or not choice else choice,
            auth=self.auth,
            sources={},
        )

    def refresh_organizations(self) -> None:
        """Fill the dropdown once the credentials are complete; else free text."""
        values = self.values()
        if self._bad_urls or not values.has_credentials():
            return
        try:
            found = list(self._list_organizations(values))
        except GalileoMagicError as exc:
            self.organizations_state = "unavailable"
            self.organizations_note = (
                f"Organizations could not be listed ({exc}); type an id or a slug, "
                "or leave it empty for your default organization."
            )
            return
        with self.hold_sync():
            self.organizations = found
            self.organizations_state = "listed" if found else "unavailable"
            self.organizations_note = "" if found else "No organization was listed."
            known = {row["id"] for row in found} | {row["slug"] for row in found}
            if self.organization not in known:
                self.organization = ""

    def slug_of(self, organization_id: str | None) -> str | None:
        """The slug of a listed organization, to name it in the countdown."""
        for row in self.organizations:
            if organization_id and row.get("id") == organization_id:
                return row.get("slug") or None
        return None

    def reset(self) -> None:
        """Forget every secret and show the form afresh (after a sign-out)."""
        self._secrets.clear()
        with self.hold_sync():
            self.held = []
            self.status = "idle"
            self.message = ""

    @traitlets.validate("console_url", "api_url")
    def _refuse_user_info(self, proposal: Any) -> str:
        """Clear a URL written with a user name or password, and say why.

        Such a URL would be saved with the widget state, its password too.
        """
        name, value = proposal["trait"].name, str(proposal["value"])
        refused = _has_user_info(value)
        if refused:
            self._bad_urls.add(name)
        else:
            self._bad_urls.discard(name)
        if self._bad_urls:
            shown = name if refused else min(self._bad_urls)
            self.status, self.message = "error", _user_info_error(shown)
        elif self.message in map(_user_info_error, _URL_KEYS):
            self.status, self.message = "idle", ""
        return "" if refused else value

    def _take(self, content: dict[str, Any]) -> None:
        """Apply the browser's snapshot: plain fields, then any new secret."""
        with self.hold_sync():
            for name in ("console_url", "api_url", "username", "organization"):
                value = content.get(name)
                if isinstance(value, str):
                    setattr(self, name, value)
            if content.get("auth") in ("api-key", "oauth2", "basic"):
                self.auth = content["auth"]
            for key in _SECRET_KEYS:
                value = content.get(key)
                if isinstance(value, str) and value:
                    self._secrets[key] = Secret(value)
            self.held = sorted(self._secrets)

    def _handle_message(self, _: Any, content: Any, buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        kind = content.get("type")
        if kind == "credentials":
            self._take(content)
            self.refresh_organizations()
        elif kind == "submit" and self.status != "working":
            self._take(content)
            self._get_token()

    def _get_token(self) -> None:
        if self._bad_urls:
            # Refused, like a failed fetch: the secrets go, the message stays.
            self._secrets.clear()
            self.held = []
            return
        with self.hold_sync():
            self.status = "working"
            self.message = "Getting a token…"
        try:
            self._submit(self.values())
        except Exception as exc:
            self._fail(exc)
            return
        finally:
            self._secrets.clear()
            self.held = []
        with self.hold_sync():
            self.status = "done"
            self.message = ""

    def _fail(self, exc: Exception) -> None:
        if isinstance(exc, GalileoMagicError):
            text = f"{type(exc).__name__}: {exc}"
        else:
            # Unexpected: its text and traceback may hold a secret (the kernel
            # shows warnings on stderr), so its type only, here and in the log.
            logger.warning(
                "galileo-magic: the login form failed: %s", type(exc).__name__
            )
            text = (
                f"Unexpected {type(exc).__name__} in the login form; please "
                "report this error."
            )
        with self.hold_sync():
            self.status = "error"
            self.message = text

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return with_text_line(super()._repr_mimebundle_(**kwargs), FORM_LINE)


class LoginPanel(ipywidgets.VBox):
    """The form, which gives way to the countdown once a token is stored."""

    def __init__(self, form: LoginForm) -> None:
        super().__init__(children=(form,))
        self.form = form
        self.add_class("galileo-login-panel")

    def show_countdown(self, countdown: Any) -> None:
        """Replace the form by ``countdown``; bring the form back on sign-out."""
        alone: tuple[Any, ...] = (countdown,)
        self.children = alone

        def signed_out(change: dict[str, Any]) -> None:
            if change["new"] == "signed-out":
                self.form.reset()
                self.children = (*alone, self.form)

        countdown.observe(signed_out, names="state")

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return with_text_line(super()._repr_mimebundle_(**kwargs), FORM_LINE)


def _has_user_info(url: str) -> bool:
    """Whether ``url``'s authority (the part before any path) holds an ``@``."""
    after_scheme = url.partition("//")[2] if "//" in url else url
    return "@" in re.split(r"[/?#]", after_scheme, maxsplit=1)[0]


def _user_info_error(name: str) -> str:
    return (
        f"The {_URL_WORDS[name]} must not hold a user name or password (…@host); "
        "type it without them and sign in with the fields below."
    )
