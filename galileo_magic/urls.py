"""Console and API URLs: validation, the console-to-API mapping, transport rules."""

from __future__ import annotations

import ipaddress
import os
import re
from urllib.parse import SplitResult, urlsplit, urlunsplit

from .errors import ConfigurationError

__all__ = [
    "DEFAULT_CONSOLE_URL",
    "api_url_from_console",
    "is_loopback",
    "normalize_url",
    "require_secure",
    "same_origin",
]

DEFAULT_CONSOLE_URL = "https://app.galileo.ai"
ALLOW_HTTP_VARIABLE = "GALILEO_MAGIC_ALLOW_HTTP"
# "name:rest" where rest is not a port: a scheme written without "//", such as
# javascript:alert(1). A host with a port (localhost:8088, a.b:1/x) is not one.
_BARE_SCHEME = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+\-]*):(?!\d+(?:/|$))")


def normalize_url(url: str, *, what: str = "console URL") -> str:
    """Return ``url`` with a scheme (``https://`` when none) and no trailing slash.

    Raises ConfigurationError for anything that is not an http(s) URL with a
    host, or that embeds credentials, a query or a fragment.
    """
    text = url.strip()
    shown = _shown(text)
    if not text:
        raise ConfigurationError(
            f"The {what} is empty; give e.g. {DEFAULT_CONSOLE_URL}."
        )
    fix = f"give the {what} as https://host[:port][/path]"
    if any(char.isspace() or not char.isprintable() for char in text):
        raise ConfigurationError(
            f"The {what} {shown} contains whitespace or a control character; {fix}."
        )
    parts = _split(_with_scheme(text, f"The {what} {shown}", fix), what, shown, fix)
    netloc = _bracket(parts.hostname or "")
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def _with_scheme(text: str, subject: str, fix: str) -> str:
    """``text`` with ``https://`` in front when it names no scheme at all."""
    if "://" in text:
        return text
    scheme = text.partition(":")[0].lower()
    if scheme in ("http", "https"):
        raise ConfigurationError(f"{subject} lacks the // after {scheme}:; {fix}.")
    bare = _BARE_SCHEME.match(text)
    if bare and scheme != "localhost" and "@" not in text.split("/")[0]:
        raise ConfigurationError(
            f"{subject} is not http(s) (scheme {bare['scheme']!r}); {fix}."
        )
    return "https://" + text


def _split(text: str, what: str, shown: str, fix: str) -> SplitResult:
    """The parts of an http(s) URL with a usable host, port and nothing else."""
    subject = f"The {what} {shown}"
    try:
        parts = urlsplit(text)
    except ValueError as exc:
        raise ConfigurationError(f"{subject} is not a URL ({exc}); {fix}.") from None
    if parts.scheme not in ("http", "https"):
        raise ConfigurationError(f"{subject} is not http(s); {fix}.")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        raise ConfigurationError(f"{subject} has a bad port; {fix}.") from None
    if port == 0:
        raise ConfigurationError(
            f"{subject} has port 0, which no server listens on; {fix}."
        )
    if not host:
        raise ConfigurationError(f"{subject} has no host; {fix}.")
    if parts.username is not None or parts.password is not None:
        # Printing the URL back would echo the embedded password.
        raise ConfigurationError(
            f"The {what} must not embed a user name or password; {fix} and pass "
            "credentials with the flags or GALILEO_* variables."
        )
    if parts.query or parts.fragment:
        raise ConfigurationError(f"{subject} has a query or fragment; {fix}.")
    return parts


def api_url_from_console(console_url: str) -> str:
    """Map a console URL to its API URL the way the Galileo SDK does.

    ``app.galileo.ai`` becomes ``https://api.galileo.ai``; otherwise a host label
    ``console`` becomes ``api`` (the path is kept). A URL with no such label is
    its own API URL, which is what a local or sandbox server wants.
    """
    console = normalize_url(console_url)
    parts = urlsplit(console)
    host = parts.hostname or ""
    if host == "app.galileo.ai":
        return "https://api.galileo.ai"
    labels = host.split(".")
    if "console" not in labels:
        return console
    labels[labels.index("console")] = "api"
    netloc = ".".join(labels) + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def is_loopback(url: str) -> bool:
    """Whether ``url`` points at this machine (localhost, 127.0.0.0/8 or ::1)."""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def require_secure(url: str) -> None:
    """Refuse to send credentials over plain HTTP except to a loopback host.

    Setting ``GALILEO_MAGIC_ALLOW_HTTP=1`` lifts the rule, for a private network
    the user trusts.
    """
    if normalize_url(url, what="API URL").startswith("https:") or is_loopback(url):
        return
    if os.environ.get(ALLOW_HTTP_VARIABLE) == "1":
        return
    raise ConfigurationError(
        f"Refusing to send credentials over plain HTTP to {url}; use an https:// "
        f"URL (or set {ALLOW_HTTP_VARIABLE}=1 for a network you trust)."
    )


def same_origin(first: str, second: str) -> bool:
    """Whether two URLs share scheme, host and port; False if either is unreadable.

    Unreadable means "another origin", so credentials are dropped, not sent.
    """
    try:
        a, b = urlsplit(first), urlsplit(second)
        return (a.scheme, a.hostname, _port(a.scheme, a.port)) == (
            b.scheme,
            b.hostname,
            _port(b.scheme, b.port),
        )
    except ValueError:
        return False


def _shown(url: str) -> str:
    """``url`` quoted for a message, with any user:password@ part masked."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    end = min((rest.find(c) for c in "/?#" if c in rest), default=len(rest))
    authority = rest[:end]
    if "@" in authority:
        authority = "***@" + authority.rpartition("@")[2]
    return repr(scheme + sep + authority + rest[end:])


def _port(scheme: str, port: int | None) -> int:
    return port if port is not None else (443 if scheme == "https" else 80)


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host else host
