"""Transport rules: HTTPS only, certificates verified, no credentials on redirects.

Retries are counted at a loopback fault server (tests/faultserver.py): GET is
retried on 429/502/503/504 and refused connections only, with Retry-After
honoured, and nothing else is ever sent twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import trustme
from faultserver import AnswerThenGone, FaultServer, refused_url, tls_context
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

from galileo_magic import (
    AuthenticationError,
    ConfigurationError,
    NetworkError,
    OrganizationError,
    ServerError,
)
from galileo_magic.auth import Auth, OrganizationChoice, Secret
from galileo_magic.protocol import GalileoClient
from galileo_magic.transport import MAX_RETRY_AFTER, _BoundedRetry
from galileo_magic.urls import is_loopback, require_secure

CANARY_KEY = "gsk-canary-transport-4e8d2a6b"
CANARY_PASSWORD = "canary-transport-password-91c3"
KEY = Auth("api-key", api_key=Secret(CANARY_KEY))
NO_ORG = OrganizationChoice()


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def faults() -> Iterator[FaultServer]:
    with FaultServer() as server:
        yield server


@pytest.fixture
def other() -> Iterator[FaultServer]:
    """A second origin that records what a redirect brought to it."""
    with FaultServer() as server:
        yield server


@pytest.fixture
def tls(ca: trustme.CA) -> Iterator[FaultServer]:
    with FaultServer(tls_context(ca)) as server:
        yield server


@pytest.fixture
def client() -> Iterator[GalileoClient]:
    client = GalileoClient(timeout=2)
    yield client
    client.close()


@pytest.mark.parametrize(
    "url",
    [
        "http://galileo.example.com",
        "http://10.0.0.8:8088",
        "http://127.0.0.1.example.com",
        "http://localhost-api.example.com",
    ],
)
def test_require_secure_refuses_plain_http_off_loopback(url: str) -> None:
    with pytest.raises(ConfigurationError, match="GALILEO_MAGIC_ALLOW_HTTP=1") as err:
        require_secure(url)
    assert url in str(err.value)


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:9", "http://127.8.9.10", "http://localhost:1", "http://[::1]"],
)
def test_require_secure_allows_loopback(url: str) -> None:
    assert is_loopback(url)
    require_secure(url)


def test_require_secure_override_allows_plain_http(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GALILEO_MAGIC_ALLOW_HTTP", "1")
    require_secure("http://galileo.internal")
    monkeypatch.setenv("GALILEO_MAGIC_ALLOW_HTTP", "yes")
    with pytest.raises(ConfigurationError):
        require_secure("http://galileo.internal")


def test_get_token_plain_http_refused_before_any_request(
    client: GalileoClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ConfigurationError, match="plain HTTP"):
        client.get_token("http://galileo.example.com", KEY, NO_ORG)
    assert not [r for r in caplog.records if r.name.startswith("urllib3")]


def test_magic_plain_http_is_usage_error(
    shell: InteractiveShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GALILEO_API_KEY", CANARY_KEY)
    result = shell.run_cell("%galileo_token --api-url http://galileo.example.com")
    assert isinstance(result.error_in_exec, UsageError)
    assert "ConfigurationError" in str(result.error_in_exec)
    assert "galileo_token" not in shell.user_ns


def test_get_token_verifies_certificates_by_default(
    client: GalileoClient, tls: FaultServer
) -> None:
    with pytest.raises(NetworkError, match="TLS certificate"):
        client.get_token(tls.url("ok"), KEY, NO_ORG)


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"])
def test_get_token_trusts_ca_bundle_from_environment(
    variable: str,
    tls: FaultServer,
    ca: trustme.CA,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    for name in ("SSL_CERT_FILE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(variable, str(bundle))
    client = GalileoClient(timeout=2)
    try:
        answer = client.get_token(tls.url("ok"), KEY, NO_ORG)
    finally:
        client.close()
    assert answer.url.startswith("https://127.0.0.1")


def test_magic_verify_config_takes_a_ca_bundle(
    shell: InteractiveShell,
    tls: FaultServer,
    ca: trustme.CA,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    for name in ("SSL_CERT_FILE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GALILEO_API_KEY", CANARY_KEY)
    refused = shell.run_cell(f"%galileo_token --quiet --api-url {tls.url('ok')}")
    assert "TLS certificate" in str(refused.error_in_exec)

    shell.run_line_magic("config", f"GalileoMagics.verify = {str(bundle)!r}")
    result = shell.run_cell(f"%galileo_token --quiet --api-url {tls.url('ok')}")
    assert result.success, result.error_in_exec
    assert shell.user_ns["galileo_token"].api_url == tls.url("ok")


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_redirect_to_other_origin_drops_api_key(
    host: str, client: GalileoClient, faults: FaultServer, other: FaultServer
) -> None:
    faults.redirect_target = other.url("ok", host=host) + "/v1/token"
    with pytest.raises(ServerError, match="another origin"):
        client.get_token(faults.url("redirect-away"), KEY, NO_ORG)
    assert faults.requests[0].headers["Galileo-API-Key"] == CANARY_KEY
    [arrived] = other.requests
    assert "Galileo-API-Key" not in arrived.headers
    assert CANARY_KEY not in str(arrived.headers)


def test_redirect_to_other_origin_drops_custom_header_and_basic(
    faults: FaultServer, other: FaultServer
) -> None:
    faults.redirect_target = other.url("ok") + "/v1/token"
    client = GalileoClient(timeout=2, api_key_header="X-Team-Key")
    basic = Auth("basic", username="ada", password=Secret(CANARY_PASSWORD))
    try:
        for auth in (KEY, basic):
            with pytest.raises(ServerError, match="another origin"):
                client.get_token(faults.url("redirect-away"), auth, NO_ORG)
    finally:
        client.close()
    assert faults.requests[0].headers["X-Team-Key"] == CANARY_KEY
    assert faults.requests[1].headers["Authorization"].startswith("Basic ")
    assert len(other.requests) == 2
    for arrived in other.requests:
        assert "X-Team-Key" not in arrived.headers
        assert "Authorization" not in arrived.headers


def test_redirect_to_other_origin_refuses_its_token(
    client: GalileoClient, faults: FaultServer, other: FaultServer
) -> None:
    final = other.url("ok", host="localhost") + "/v1/token"
    faults.redirect_target = final

    with pytest.raises(ServerError) as caught:
        client.get_token(faults.url("redirect-away"), KEY, NO_ORG)

    # The other origin answered a token to an anonymous request: not ours.
    assert [r.path for r in other.requests] == ["/ok/v1/token"]
    assert str(caught.value) == (
        f"GET {faults.url('redirect-away')}/v1/token was redirected to another "
        f"origin, {final}, which got no credentials, so its answer is refused; "
        f"set --api-url to http://localhost:{other.port} if you trust it."
    )


def test_redirect_away_and_back_is_refused(
    client: GalileoClient, faults: FaultServer, other: FaultServer
) -> None:
    # The other origin sends the request home, without the key it never got.
    other.redirect_target = faults.url("ok") + "/v1/token"
    faults.redirect_target = other.url("redirect-away") + "/v1/token"

    with pytest.raises(ServerError, match="another origin") as caught:
        client.get_token(faults.url("redirect-away"), KEY, NO_ORG)

    assert other.url("redirect-away") in str(caught.value)
    assert "Galileo-API-Key" not in faults.requests[-1].headers


def test_redirect_within_origin_keeps_credentials(
    client: GalileoClient, faults: FaultServer
) -> None:
    client.get_token(faults.url("redirect-home"), KEY, NO_ORG)
    assert [r.path for r in faults.requests] == [
        "/redirect-home/v1/token",
        "/ok/v1/token",
    ]
    assert faults.requests[1].headers["Galileo-API-Key"] == CANARY_KEY


def test_login_redirect_is_not_followed(
    client: GalileoClient, faults: FaultServer, other: FaultServer
) -> None:
    faults.redirect_target = other.url("ok") + "/login"
    oauth = Auth("oauth2", username="ada", password=Secret(CANARY_PASSWORD))
    with pytest.raises(ServerError, match="redirected") as err:
        client.get_token(faults.url("redirect-away"), oauth, NO_ORG)
    assert CANARY_PASSWORD not in str(err.value)
    assert other.requests == []


def test_redirect_away_error_scrubs_sent_key_from_url(
    client: GalileoClient, faults: FaultServer, other: FaultServer
) -> None:
    faults.redirect_target = (
        other.url("ok", host="localhost") + f"/v1/token?echo={CANARY_KEY}"
    )

    with pytest.raises(ServerError, match="another origin") as caught:
        client.get_token(faults.url("redirect-away"), KEY, NO_ORG)

    assert CANARY_KEY not in str(caught.value)
    assert "/v1/token?echo=***," in str(caught.value)


def test_login_redirect_error_scrubs_sent_password_from_location(
    client: GalileoClient, faults: FaultServer
) -> None:
    password = "canary transport/pw+91c3"
    oauth = Auth("oauth2", username="ada", password=Secret(password))
    faults.redirect_target = (
        f"{faults.url('ok')}/login?raw={password}&quoted={quote(password, safe='')}"
    )

    with pytest.raises(ServerError, match=r"redirected \(307\)") as caught:
        client.get_token(faults.url("redirect-away"), oauth, NO_ORG)

    message = str(caught.value)
    assert password not in message and quote(password, safe="") not in message
    assert "/login?raw=***&quoted=***;" in message


@pytest.mark.parametrize("case", ["429", "html-502", "503", "504"])
def test_get_token_retries_transient_statuses_twice(
    case: str, client: GalileoClient, faults: FaultServer
) -> None:
    with pytest.raises(ServerError):
        client.get_token(faults.url(case), KEY, NO_ORG)
    assert faults.count(case) == 3


@pytest.mark.parametrize(
    ("case", "error"),
    [
        ("401", AuthenticationError),
        ("403", AuthenticationError),
        ("404", ServerError),
        ("405", ServerError),
        ("422-list", OrganizationError),
        ("500", ServerError),
    ],
)
def test_get_token_never_retries_client_errors(
    case: str, error: type[Exception], client: GalileoClient, faults: FaultServer
) -> None:
    with pytest.raises(error):
        client.get_token(faults.url(case), KEY, NO_ORG)
    assert faults.count(case) == 1


def test_get_token_honours_retry_after(
    client: GalileoClient, faults: FaultServer
) -> None:
    answer = client.get_token(faults.url("retry-then-ok"), KEY, NO_ORG)
    assert answer.access_token
    first, second = faults.requests
    # The server asked for one second; the retry must not come sooner.
    assert second.at - first.at >= 0.9


def test_retry_after_is_capped() -> None:
    assert _BoundedRetry().parse_retry_after("3600") == MAX_RETRY_AFTER


def test_login_post_is_not_retried(client: GalileoClient, faults: FaultServer) -> None:
    oauth = Auth("oauth2", username="ada", password=Secret(CANARY_PASSWORD))
    with pytest.raises(ServerError, match="503"):
        client.get_token(faults.url("503"), oauth, NO_ORG)
    assert [r.path for r in faults.requests] == ["/503/login"]


def test_get_token_retries_refused_connection_twice(
    client: GalileoClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="urllib3")
    with pytest.raises(NetworkError, match="refused"):
        client.get_token(refused_url(), KEY, NO_ORG)
    retries = [r for r in caplog.records if "Retrying" in r.getMessage()]
    assert len(retries) == 2


def test_get_token_mixed_faults_retry_at_most_twice_in_all(
    client: GalileoClient, caplog: pytest.LogCaptureFixture
) -> None:
    # A 503 (one status retry), then refused connections (connection retries):
    # each counter alone allows two, so only the total bounds the mix.
    caplog.set_level(logging.DEBUG, logger="urllib3")
    server = AnswerThenGone()
    try:
        with pytest.raises(NetworkError, match="refused"):
            client.get_token(server.url, KEY, NO_ORG)
    finally:
        server.close()

    assert server.answered == 1
    # urllib3 logs each retry it grants; the attempt that exhausts them raises.
    retries = [r for r in caplog.records if "Incremented Retry" in r.getMessage()]
    assert len(retries) == 2


def test_login_post_retries_refused_connection(
    client: GalileoClient, caplog: pytest.LogCaptureFixture
) -> None:
    # A refused connection never sent the form, so retrying POST /login is safe.
    caplog.set_level(logging.WARNING, logger="urllib3")
    oauth = Auth("oauth2", username="ada", password=Secret(CANARY_PASSWORD))
    with pytest.raises(NetworkError, match="POST .*/login failed: .*refused"):
        client.get_token(refused_url(), oauth, NO_ORG)
    retries = [r for r in caplog.records if "Retrying" in r.getMessage()]
    assert len(retries) == 2


@pytest.mark.parametrize("verify", ["/nonexistent/ca.pem", "yes"])
def test_client_missing_ca_bundle_setting_refused(verify: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        GalileoClient(verify=verify)

    assert str(caught.value) == (
        f"The CA bundle {verify!r} (from the verify setting) does not exist; set "
        "%config GalileoMagics.verify to True, False or the path of a CA bundle file."
    )


def test_client_empty_ca_bundle_setting_refused() -> None:
    # requests would take "" as "do not verify".
    with pytest.raises(ConfigurationError, match="which is not a path"):
        GalileoClient(verify="")


@pytest.mark.parametrize(
    "variable", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"]
)
def test_get_token_missing_ca_bundle_variable_refused_before_request(
    variable: str,
    client: GalileoClient,
    tls: FaultServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(variable, "/nonexistent/ca.pem")

    with pytest.raises(ConfigurationError) as caught:
        client.get_token(tls.url("ok"), KEY, NO_ORG)

    assert str(caught.value) == (
        f"The CA bundle '/nonexistent/ca.pem' (from {variable}) does not exist; "
        f"point {variable} at your CA bundle file or unset it."
    )
    assert tls.requests == []


def test_magic_missing_ca_bundle_is_usage_error(
    shell: InteractiveShell, faults: FaultServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GALILEO_API_KEY", CANARY_KEY)
    shell.run_line_magic("config", "GalileoMagics.verify = '/nonexistent/ca.pem'")

    result = shell.run_cell(f"%galileo_token --quiet --api-url {faults.url('ok')}")

    assert isinstance(result.error_in_exec, UsageError)
    message = str(result.error_in_exec)
    assert message.startswith("ConfigurationError: The CA bundle '/nonexistent/ca.pem'")
    assert "verify setting" in message


@pytest.mark.parametrize("name", ["", "Bad Header\n", "Galileo API Key", "Key:x"])
def test_client_invalid_header_name_refused(name: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        GalileoClient(api_key_header=name)

    assert f"The API key header name {name!r} is not a valid HTTP header" in str(
        caught.value
    )


def test_magic_invalid_header_name_is_configuration_error(
    shell: InteractiveShell, faults: FaultServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GALILEO_API_KEY", CANARY_KEY)
    shell.run_line_magic("config", "GalileoMagics.api_key_header = 'Bad Header'")

    result = shell.run_cell(f"%galileo_token --quiet --api-url {faults.url('ok')}")

    assert isinstance(result.error_in_exec, UsageError)
    assert str(result.error_in_exec).startswith("ConfigurationError: ")
    assert faults.requests == []


@pytest.mark.parametrize("timeout", [0, -1, "5", True, float("nan"), None])
def test_client_bad_timeout_refused(timeout: object) -> None:
    with pytest.raises(ConfigurationError, match="positive number of seconds"):
        GalileoClient(timeout=timeout)  # type: ignore[arg-type]


def test_get_token_unsendable_value_is_configuration_error_without_it(
    client: GalileoClient, faults: FaultServer
) -> None:
    # Auth refuses such a key; this forces one past it to test the last guard.
    secret = "ключ-🔑-canary-unsendable"
    auth = Auth("api-key", api_key=Secret("placeholder"))
    object.__setattr__(auth, "api_key", Secret(secret))

    with pytest.raises(ConfigurationError) as caught:
        client.get_token(faults.url("ok"), auth, NO_ORG)

    assert "could not be sent" in str(caught.value)
    assert secret not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__context__ is None
    assert faults.requests == []


def test_login_token_with_control_characters_refused(
    client: GalileoClient, faults: FaultServer
) -> None:
    oauth = Auth("oauth2", username="ada", password=Secret(CANARY_PASSWORD))

    with pytest.raises(ServerError, match="POST .*/login answered 200 with an") as err:
        client.get_token(faults.url("spaced-token"), oauth, NO_ORG)

    assert "eyJfault" not in str(err.value)
    assert [r.path for r in faults.requests] == ["/spaced-token/login"]


def test_get_token_header_requests_refuses_is_configuration_error_without_it(
    client: GalileoClient, faults: FaultServer
) -> None:
    # A leading space passes http.client but not requests' own header check.
    secret = " gsk-canary-invalid-header"
    auth = Auth("api-key", api_key=Secret("placeholder"))
    object.__setattr__(auth, "api_key", Secret(secret))

    with pytest.raises(ConfigurationError, match="could not be sent") as caught:
        client.get_token(faults.url("ok"), auth, NO_ORG)

    assert secret.strip() not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__context__ is None
    assert faults.requests == []
