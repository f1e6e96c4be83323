"""Console URL to API URL, as the Galileo SDK maps them, and URL validation."""

from __future__ import annotations

import pytest

from galileo_magic import ConfigurationError
from galileo_magic.urls import api_url_from_console, is_loopback, normalize_url


@pytest.mark.parametrize(
    ("console", "api"),
    [
        ("https://app.galileo.ai", "https://api.galileo.ai"),
        ("app.galileo.ai", "https://api.galileo.ai"),
        ("https://console.acme.galileo.ai", "https://api.acme.galileo.ai"),
        ("console.acme.example.com/", "https://api.acme.example.com"),
        ("https://console.acme.io:8443/galileo", "https://api.acme.io:8443/galileo"),
        ("https://acme.io/console", "https://acme.io/console"),
        ("http://127.0.0.1:8088", "http://127.0.0.1:8088"),
    ],
)
def test_api_url_from_console_maps_like_the_sdk(console: str, api: str) -> None:
    assert api_url_from_console(console) == api


@pytest.mark.parametrize(
    "bad",
    ["", "ftp://app.galileo.ai", "https://", "https://u:pw@host", "https://h/?x=1"],
)
def test_normalize_url_refuses_malformed(bad: str) -> None:
    with pytest.raises(ConfigurationError, match="console URL"):
        normalize_url(bad)


def test_normalize_url_never_echoes_embedded_password() -> None:
    with pytest.raises(ConfigurationError) as caught:
        normalize_url("https://ada:canary-pw-123@console.acme.io")

    assert "canary-pw-123" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:1", True),
        ("http://127.8.9.10", True),
        ("http://localhost:8088", True),
        ("http://[::1]:80", True),
        ("http://foo.localhost:8088", False),
        ("http://localhost.example.com", False),
        ("http://10.0.0.1", False),
        ("https://api.galileo.ai", False),
    ],
)
def test_is_loopback_knows_this_machine(url: str, loopback: bool) -> None:
    assert is_loopback(url) is loopback


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        ("http://127.0.0.1:18731 /x", "contains whitespace or a control character"),
        ("https://console.acme.io/\nx", "contains whitespace or a control character"),
        ("javascript:alert(1)", "is not http(s) (scheme 'javascript')"),
        ("file:/etc/passwd", "is not http(s) (scheme 'file')"),
        ("mailto:ada", "is not http(s) (scheme 'mailto')"),
        ("https:/console.acme.io", "lacks the // after https:"),
        ("http://127.0.0.1:0", "has port 0"),
        ("127.0.0.1:0", "has port 0"),
        ("https://host:99999", "has a bad port"),
    ],
)
def test_normalize_url_names_what_is_wrong(bad: str, says: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        normalize_url(bad)

    message = str(caught.value)
    assert says in message
    assert repr(bad) in message
    assert message.endswith("give the console URL as https://host[:port][/path].")
    assert "\n" not in message


@pytest.mark.parametrize(
    ("url", "normal"),
    [
        ("localhost:8088", "https://localhost:8088"),
        ("127.0.0.1:18731", "https://127.0.0.1:18731"),
        ("console.acme.io:8443/galileo", "https://console.acme.io:8443/galileo"),
    ],
)
def test_normalize_url_host_and_port_without_scheme(url: str, normal: str) -> None:
    assert normalize_url(url) == normal


@pytest.mark.parametrize(
    "bad", ["https://ada:canary-pw-456@host:99999", "https://ada:canary-pw-456@h /x"]
)
def test_normalize_url_masks_embedded_password_in_every_message(bad: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        normalize_url(bad)

    assert "canary-pw-456" not in str(caught.value)
    assert "***@" in str(caught.value)
