"""fetch_token end to end: the three flows of the spec against the real sandbox."""

from __future__ import annotations

import pytest
import requests

from galileo_magic import (
    AuthenticationError,
    ConfigurationError,
    GalileoToken,
    OrganizationError,
    fetch_token,
)
from galileo_magic.sandbox import SandboxServer
from galileo_magic.sandbox import seed as demo


def current_user(token: GalileoToken) -> dict[str, str]:
    response = requests.get(
        f"{token.api_url}/current_user", headers=token.headers, timeout=10
    )
    response.raise_for_status()
    return response.json()  # type: ignore[no-any-return]


def test_fetch_token_api_key_gives_usable_token(sandbox: SandboxServer) -> None:
    token = fetch_token(api_key=demo.DEMO_API_KEY, console_url=sandbox.url)

    assert token.api_url == sandbox.url
    assert token.token_type == "bearer"
    assert current_user(token)["email"] == demo.DEMO_EMAIL
    assert 3500 < token.remaining.total_seconds() <= 3600
    assert not token.expired


@pytest.mark.parametrize("auth", ["oauth2", "basic"])
def test_fetch_token_password_flows_give_usable_token(
    sandbox: SandboxServer, auth: str
) -> None:
    token = fetch_token(
        username=demo.DEMO_EMAIL,
        password=demo.DEMO_PASSWORD,
        auth=auth,
        console_url=sandbox.url,
    )

    assert current_user(token)["email"] == demo.DEMO_EMAIL


def test_fetch_token_username_and_password_infer_oauth2(sandbox: SandboxServer) -> None:
    token = fetch_token(
        username=demo.DEMO_EMAIL, password=demo.DEMO_PASSWORD, api_url=sandbox.url
    )

    assert current_user(token)["email"] == demo.DEMO_EMAIL


def test_fetch_token_org_slug_selects_that_organization(sandbox: SandboxServer) -> None:
    token = fetch_token(
        api_key=demo.DEMO_API_KEY,
        organization_slug=demo.SHARED_ORG_SLUG,
        console_url=sandbox.url,
    )

    assert token.organization_slug == demo.SHARED_ORG_SLUG
    assert current_user(token)["organization_id"] == demo.SHARED_ORG_ID


def test_fetch_token_org_id_selects_that_organization(sandbox: SandboxServer) -> None:
    token = fetch_token(
        api_key=demo.DEMO_API_KEY,
        organization_id=demo.SHARED_ORG_ID.upper(),
        console_url=sandbox.url,
    )

    assert token.organization_id == demo.SHARED_ORG_ID
    assert current_user(token)["organization_id"] == demo.SHARED_ORG_ID


def test_fetch_token_reads_environment(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GALILEO_CONSOLE_URL", sandbox.url)
    monkeypatch.setenv("GALILEO_API_KEY", demo.SECOND_API_KEY)
    monkeypatch.setenv("GALILEO_ORGANIZATION_SLUG", demo.SECOND_ORG_SLUG)

    token = fetch_token()

    assert current_user(token)["organization_id"] == demo.SECOND_ORG_ID


def test_fetch_token_malformed_uuid_refused_before_any_request() -> None:
    # Nothing listens on port 9 of loopback: a request would be a NetworkError.
    with pytest.raises(ConfigurationError, match="'not-a-uuid' is not a UUID4"):
        fetch_token(
            api_key=demo.DEMO_API_KEY,
            organization_id="not-a-uuid",
            api_url="http://127.0.0.1:9",
        )


def test_fetch_token_uuid_of_other_version_refused() -> None:
    with pytest.raises(ConfigurationError, match="UUID4"):
        fetch_token(
            api_key=demo.DEMO_API_KEY,
            organization_id="6ba7b810-9dad-11d1-80b4-00c04fd430c8",
            api_url="http://127.0.0.1:9",
        )


def test_fetch_token_id_and_slug_together_refused() -> None:
    with pytest.raises(ConfigurationError, match="not both"):
        fetch_token(
            api_key=demo.DEMO_API_KEY,
            organization_id=demo.DEMO_ORG_ID,
            organization_slug=demo.DEMO_ORG_SLUG,
            api_url="http://127.0.0.1:9",
        )


def test_fetch_token_wrong_key_is_authentication_error(sandbox: SandboxServer) -> None:
    wrong = "gsk-canary-wrong-key-5f1e2d3c4b5a"
    with pytest.raises(AuthenticationError) as caught:
        fetch_token(api_key=wrong, console_url=sandbox.url)

    message = str(caught.value)
    assert f"{sandbox.url}/v1/token" in message
    assert "401" in message and "Invalid API key" in message
    assert "GALILEO_API_KEY" in message
    assert wrong not in message and "\n" not in message


@pytest.mark.parametrize("auth", ["oauth2", "basic"])
def test_fetch_token_wrong_password_is_authentication_error(
    sandbox: SandboxServer, auth: str
) -> None:
    wrong = "canary-wrong-password-9d8c7b"
    with pytest.raises(AuthenticationError) as caught:
        fetch_token(
            username=demo.DEMO_EMAIL, password=wrong, auth=auth, api_url=sandbox.url
        )

    message = str(caught.value)
    assert "Incorrect username or password" in message
    assert demo.DEMO_EMAIL in message
    assert wrong not in message


def test_fetch_token_unknown_org_is_organization_error(sandbox: SandboxServer) -> None:
    with pytest.raises(OrganizationError) as caught:
        fetch_token(
            api_key=demo.DEMO_API_KEY,
            organization_slug="no-such-org",
            console_url=sandbox.url,
        )

    message = str(caught.value)
    assert "'no-such-org'" in message and "404" in message
    assert "--org-slug" in message


def test_fetch_token_foreign_org_is_organization_error(sandbox: SandboxServer) -> None:
    with pytest.raises(OrganizationError, match=demo.SECOND_ORG_ID):
        fetch_token(
            api_key=demo.DEMO_API_KEY,
            organization_id=demo.SECOND_ORG_ID,
            console_url=sandbox.url,
        )


def test_fetch_token_without_credentials_names_variables() -> None:
    with pytest.raises(ConfigurationError) as caught:
        fetch_token(api_url="http://127.0.0.1:9")

    assert "GALILEO_API_KEY" in str(caught.value)
    assert "GALILEO_USERNAME" in str(caught.value)


def test_fetch_token_plain_http_to_remote_host_refused() -> None:
    with pytest.raises(ConfigurationError, match="plain HTTP"):
        fetch_token(api_key=demo.DEMO_API_KEY, api_url="http://galileo.invalid")


def test_galileo_token_masks_repr_and_keeps_raw_str(sandbox: SandboxServer) -> None:
    token = fetch_token(api_key=demo.DEMO_API_KEY, console_url=sandbox.url)
    raw = token.access_token

    assert str(token) == raw
    assert f"Bearer {token}" == token.headers["Authorization"]
    assert raw not in repr(token)
    assert repr(token).startswith(f"GalileoToken('{raw[:3]}...{raw[-4:]}'")
    assert raw not in token.describe()


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"api_key": "ключ-🔑-secret-canary"}, "The API key"),
        ({"api_key": "gsk-canary\r\nX-Injected: 1"}, "The API key"),
        (
            {"username": "ada", "password": "pässwörd🔑-canary", "auth": "basic"},
            "The HTTP Basic password",
        ),
    ],
)
def test_fetch_token_unsendable_credentials_refused_before_request(
    arguments: dict[str, str], field: str
) -> None:
    # Nothing listens on port 9 of loopback: a request would be a NetworkError.
    with pytest.raises(ConfigurationError) as caught:
        fetch_token(api_url="http://127.0.0.1:9", **arguments)

    message = str(caught.value)
    assert message.startswith(field)
    assert "canary" not in message and "\n" not in message
    assert caught.value.__cause__ is None


def test_fetch_token_utf8_password_works_over_oauth2(sandbox: SandboxServer) -> None:
    # The form is UTF-8: the sandbox refuses the password, but it was sent.
    with pytest.raises(AuthenticationError, match="Incorrect username or password"):
        fetch_token(
            username=demo.DEMO_EMAIL, password="pässwörd🔑", api_url=sandbox.url
        )


@pytest.mark.parametrize(
    ("argument", "words"),
    [
        ("api_key", "API key"),
        ("organization_slug", "organization slug"),
        ("organization_id", "organization id"),
        ("console_url", "console URL"),
    ],
)
def test_fetch_token_empty_argument_refused_not_replaced(
    argument: str, words: str, sandbox_env: None
) -> None:
    with pytest.raises(ConfigurationError, match=f"^The {words} given is empty; "):
        fetch_token(**{argument: ""})


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        ({"timeout": "5"}, "positive number of seconds, not a str"),
        ({"timeout": 0}, "positive number of seconds, not 0"),
        ({"timeout": -2.5}, "positive number of seconds, not -2.5"),
        ({"api_key": 12345}, "The API key given must be text (str), not int"),
        ({"username": 7, "password": "pw"}, "user name given must be text (str)"),
    ],
)
def test_fetch_token_wrong_argument_types_are_configuration_errors(
    arguments: dict[str, object], says: str, sandbox_env: None
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        fetch_token(**arguments)  # type: ignore[arg-type]

    assert says in str(caught.value)
    assert "12345" not in str(caught.value)
