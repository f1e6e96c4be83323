"""The fault matrix: every way a server can fail gives one clear, secret-free error.

Each case runs against a loopback server (tests/faultserver.py) twice: through
GalileoClient, checking the exception class and its one-line message, and
through the magic in a real IPython shell, checking that the token and the
countdown held before the fault are left as they were.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import trustme
from faultserver import GOOD_TOKEN, BlackHole, FaultServer, refused_url, tls_context
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

from galileo_magic import (
    AuthenticationError,
    GalileoMagicError,
    NetworkError,
    OrganizationError,
    ServerError,
    fetch_token,
)
from galileo_magic.auth import Auth, OrganizationChoice, Secret
from galileo_magic.magics import GalileoMagics
from galileo_magic.protocol import GalileoClient
from galileo_magic.sandbox import SandboxServer
from galileo_magic.sandbox.seed import DEMO_API_KEY
from galileo_magic.tokens import GalileoToken

CANARY_KEY = "gsk-canary-faults-7f3a9c1e5b"
TIMEOUT = 0.5


@dataclass(frozen=True)
class Fault:
    """One row of the matrix: the server's behaviour and what the user must see."""

    case: str
    error: type[GalileoMagicError]
    says: tuple[str, ...]
    status: int | None = None
    # Refused when the token is built from the answer (fetch_token, the
    # magic); GalileoClient.get_token returns the answer as the server sent it.
    built: bool = False


FAULTS = [
    Fault("refused", NetworkError, ("connection was refused", "server is running")),
    Fault("blackhole", NetworkError, ("connection timed out", "your network")),
    Fault("stall", NetworkError, ("did not answer in time", "GalileoMagics.timeout")),
    Fault("tls", NetworkError, ("TLS certificate", "REQUESTS_CA_BUNDLE")),
    Fault("401", AuthenticationError, ("Invalid API key", "GALILEO_API_KEY"), 401),
    Fault("403", AuthenticationError, ("Not allowed", "GALILEO_API_KEY"), 403),
    Fault("404", ServerError, ("Not Found", "check --api-url"), 404),
    Fault("405", ServerError, ("Method Not Allowed", "token_path"), 405),
    Fault("422-string", OrganizationError, ("slug is not valid", "--org-id"), 422),
    Fault(
        "422-list",
        OrganizationError,
        ("organization_id: Input should be a valid UUID", "--org-slug"),
        422,
    ),
    Fault("429", ServerError, ("Too many requests", "Retry-After: 1"), 429),
    Fault("500", ServerError, ("Internal Server Error", "try again later"), 500),
    Fault("html-502", ServerError, ("502 Bad Gateway nginx", "try again"), 502),
    Fault("503", ServerError, ("Service Unavailable", "try again later"), 503),
    Fault("504", ServerError, ("Gateway Timeout", "try again later"), 504),
    Fault("not-json", ServerError, ("not JSON (text/plain)", "--api-url"), 200),
    Fault("truncated", ServerError, ("not JSON", "--api-url"), 200),
    Fault("no-token", ServerError, ("without an access_token", "--api-url"), 200),
    Fault("no-expiry", ServerError, ("without expires_at", "--api-url")),
    Fault("bad-expiry", ServerError, ("'next tuesday'", "--api-url"), built=True),
    Fault("oversized", ServerError, ("more than 1048576 bytes", "--api-url")),
    Fault("redirect-loop", ServerError, ("redirect loop", "--api-url")),
    Fault("redirect-away", ServerError, ("another origin", "if you trust it")),
    Fault(
        "spaced-token",
        ServerError,
        ("access_token holding spaces, control or non-ASCII", "--api-url"),
        200,
    ),
    Fault("plain-http", NetworkError, ("does not speak HTTPS", "use http://127.0.0.1")),
    Fault("drip", NetworkError, ("still sending", "GalileoMagics.timeout")),
    Fault("drip-headers", NetworkError, ("still sending", "GalileoMagics.timeout")),
]


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def servers(ca: trustme.CA) -> Iterator[dict[str, str]]:
    """The base API URL of every fault case, all on 127.0.0.1."""
    hole = BlackHole()
    with FaultServer() as plain, FaultServer(tls_context(ca)) as tls:
        urls = {fault.case: plain.url(fault.case) for fault in FAULTS}
        urls.update(refused=refused_url(), blackhole=hole.url, tls=tls.url("ok"))
        # An https:// URL for a server that speaks plain HTTP.
        urls["plain-http"] = "https://" + plain.url("ok").partition("://")[2]
        # Another origin: the same server under another host name.
        plain.redirect_target = plain.url("ok", host="localhost") + "/v1/token"
        yield urls
    hole.close()


def check_message(error: BaseException, fault: Fault, url: str) -> str:
    message = str(error)
    assert "\n" not in message
    assert f"{url}/v1/token" in message
    for words in fault.says:
        assert words in message
    if fault.status is not None:
        assert str(fault.status) in message
    assert CANARY_KEY not in message
    return message


@pytest.mark.timeout(30)
@pytest.mark.parametrize("fault", FAULTS, ids=lambda fault: fault.case)
def test_get_token_fault_raises_one_clear_line(
    fault: Fault, servers: dict[str, str]
) -> None:
    client = GalileoClient(timeout=TIMEOUT)
    auth = Auth("api-key", api_key=Secret(CANARY_KEY))
    url = servers[fault.case]
    try:
        if fault.built:
            answer = client.get_token(url, auth, OrganizationChoice())
            with pytest.raises(fault.error) as caught:
                GalileoToken.from_response(answer)
        else:
            with pytest.raises(fault.error) as caught:
                client.get_token(url, auth, OrganizationChoice())
    finally:
        client.close()
    check_message(caught.value, fault, url)
    where = f"{url}/v1/token" if fault.built else f"GET {url}/v1/token"
    assert caught.value.url == where


def galileo_magics(shell: InteractiveShell) -> GalileoMagics:
    return next(c for c in shell.configurables if isinstance(c, GalileoMagics))


@pytest.mark.timeout(30)
@pytest.mark.parametrize("fault", FAULTS, ids=lambda fault: fault.case)
def test_magic_fault_keeps_token_and_countdown(
    fault: Fault,
    servers: dict[str, str],
    shell: InteractiveShell,
    sandbox: SandboxServer,
    sandbox_env: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    good = shell.run_cell("%galileo_token --auto-refresh --quiet")
    assert good.success, good.error_in_exec
    token = shell.user_ns["galileo_token"]
    value = token.access_token
    session = galileo_magics(shell).registry.get("galileo_token")
    assert session is not None and session.timer is not None
    timer = session.timer

    shell.run_line_magic("config", f"GalileoMagics.timeout = {TIMEOUT}")
    bad = shell.run_cell(f"%galileo_token --api-url {servers[fault.case]}")

    assert isinstance(bad.error_in_exec, UsageError)
    message = check_message(bad.error_in_exec, fault, servers[fault.case])
    assert message.startswith(f"{fault.error.__name__}: ")
    assert DEMO_API_KEY not in message
    assert DEMO_API_KEY not in capsys.readouterr().err
    assert shell.user_ns["galileo_token"] is token
    assert token.access_token == value
    held = galileo_magics(shell).registry.get("galileo_token")
    assert held is session and held.timer is timer and timer.running


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    ("case", "method"),
    [
        ("refused", "api-key"),
        ("refused", "oauth2"),
        ("stall", "oauth2"),
        ("tls", "api-key"),
        ("plain-http", "api-key"),
        ("drip", "api-key"),
        ("drip-headers", "api-key"),
        ("redirect-loop", "api-key"),
    ],
)
def test_get_token_wire_failure_chains_no_request(
    case: str, method: str, servers: dict[str, str]
) -> None:
    # A requests error holds the request: its headers and the /login form.
    client = GalileoClient(timeout=TIMEOUT)
    if method == "oauth2":
        auth = Auth("oauth2", username="ada", password=Secret(CANARY_KEY))
    else:
        auth = Auth("api-key", api_key=Secret(CANARY_KEY))
    try:
        with pytest.raises((NetworkError, ServerError)) as caught:
            client.get_token(servers[case], auth, OrganizationChoice())
    finally:
        client.close()

    error = caught.value
    assert error.__cause__ is None and error.__context__ is None
    if isinstance(error, NetworkError) and case != "drip":
        # What went wrong underneath is still named, by its type.
        assert re.search(r" \([A-Za-z]+(Error|Exceeded)\); ", str(error)), error
    if case == "refused":
        assert "refused (ConnectionRefusedError); " in str(error)


@pytest.mark.timeout(30)
def test_fetch_token_impossible_expiry_names_url() -> None:
    with FaultServer() as plain:
        url = plain.url("impossible-expiry")
        with pytest.raises(ServerError) as caught:
            fetch_token(api_key=CANARY_KEY, api_url=url)

    message = str(caught.value)
    assert "\n" not in message
    assert f"{url}/v1/token" in message
    assert "expires_at='2026-13-45T00:00Z'" in message
    assert "--api-url" in message
    assert CANARY_KEY not in message
    assert isinstance(caught.value.__cause__, ServerError)


@pytest.mark.timeout(30)
def test_magic_impossible_expiry_is_one_line_naming_url(
    shell: InteractiveShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GALILEO_API_KEY", CANARY_KEY)
    with FaultServer() as plain:
        url = plain.url("impossible-expiry")
        result = shell.run_cell(f"%galileo_token --quiet --api-url {url}")

    assert isinstance(result.error_in_exec, UsageError)
    message = str(result.error_in_exec)
    assert message.startswith(f"ServerError: GET {url}/v1/token: ")
    assert "'2026-13-45T00:00Z'" in message and "\n" not in message
    assert CANARY_KEY not in message
    assert "galileo_token" not in shell.user_ns


@pytest.mark.timeout(30)
@pytest.mark.parametrize("case", ["expired", "expired-server-clock"])
def test_fetch_token_expired_on_arrival_names_url_and_expiry(case: str) -> None:
    with FaultServer() as plain:
        url = plain.url(case)
        with pytest.raises(ServerError) as caught:
            fetch_token(api_key=CANARY_KEY, api_url=url)

    message = str(caught.value)
    assert message.startswith(f"GET {url}/v1/token answered a token that had ")
    assert "already expired, at " in message and "server's own clock" in message
    if case == "expired":
        assert "2000-01-01T00:00:00+00:00" in message
    assert CANARY_KEY not in message and GOOD_TOKEN not in message
    assert "\n" not in message


@pytest.mark.timeout(30)
def test_magic_expired_on_arrival_stores_nothing(
    shell: InteractiveShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GALILEO_API_KEY", CANARY_KEY)
    with FaultServer() as plain:
        url = plain.url("expired")
        result = shell.run_cell(f"%galileo_token --quiet --api-url {url}")

    assert isinstance(result.error_in_exec, UsageError)
    assert str(result.error_in_exec).startswith(f"ServerError: GET {url}/v1/token")
    assert "galileo_token" not in shell.user_ns
