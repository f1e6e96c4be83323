"""Auth refuses credentials no HTTP header can carry, without ever showing them."""

from __future__ import annotations

import pytest

from galileo_magic import ConfigurationError
from galileo_magic.auth import Auth, Secret, is_header_safe


@pytest.mark.parametrize(
    "key",
    [
        "ключ-🔑-secret-canary",
        "gsk-canary\tcanary",
        " gsk-canary-leading-space",
        "gsk-canary\r\nX-Injected: 1",
        "gsk-canary\nX-Injected: 1",
        "gsk-canary\x00nul",
        "gsk-canary\x7fdel",
        "gsk-canary\u00a0nbsp",
    ],
)
def test_auth_api_key_unsendable_refused_without_value(key: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Auth("api-key", api_key=Secret(key))

    message = str(caught.value)
    assert message.startswith("The API key holds a tab, line break, other control")
    assert "GALILEO_API_KEY or --api-key" in message
    assert key not in message and "canary" not in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("username", "password", "field"),
    [
        ("ada", "pässwörd🔑-canary", "password"),
        ("ädä🔑-canary", "pw", "user name"),
    ],
)
def test_auth_basic_outside_latin1_refused_without_value(
    username: str, password: str, field: str
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Auth("basic", username=username, password=Secret(password))

    message = str(caught.value)
    assert message.startswith(f"The HTTP Basic {field} holds a character outside")
    assert "--auth oauth2" in message
    assert "canary" not in message


def test_auth_latin1_basic_and_utf8_oauth2_accepted() -> None:
    Auth("basic", username="ada", password=Secret("pässwörd"))
    Auth("oauth2", username="ädä🔑", password=Secret("pässwörd🔑"))
    Auth("api-key", api_key=Secret("gsk-0123_ABC.def~+/="))
    # Legal inside a header value, and no way to inject one.
    Auth("api-key", api_key=Secret("gsk a b"))


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ("eyJ.abc-_~+/=", True),
        ("é", True),
        ("a b", False),
        ("\t", False),
        ("🔑", False),
    ],
)
def test_is_header_safe_latin1_without_space_or_control(value: str, safe: bool) -> None:
    assert is_header_safe(value) is safe


@pytest.mark.parametrize(
    ("value", "safe"), [("a b", True), (" a", False), ("a ", False), ("a\tb", False)]
)
def test_is_header_safe_inner_spaces_only_between_characters(
    value: str, safe: bool
) -> None:
    assert is_header_safe(value, inner_spaces=True) is safe
