"""Credential sources: flags, then the environment, then .env, field by field."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from galileo_magic import ConfigurationError
from galileo_magic.credentials import build_request, gather


def test_gather_flags_win_over_environment_and_dotenv(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GALILEO_API_KEY", "from-env")

    values = gather({"api_key": "from-flag"}, dotenv={"GALILEO_API_KEY": "from-file"})

    assert values.api_key is not None and values.api_key.reveal() == "from-flag"
    assert values.sources["api_key"] == "argument"


def test_gather_environment_wins_over_dotenv(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GALILEO_USERNAME", "env-user")

    values = gather(
        {},
        dotenv={"GALILEO_USERNAME": "file-user", "GALILEO_PASSWORD": "file-pw"},
    )

    assert values.username == "env-user"
    assert values.password is not None and values.password.reveal() == "file-pw"
    assert values.sources["password"] == ".env"


def test_gather_reads_nearest_dotenv_upward_literally(
    clean_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (clean_environment / ".env").write_text(
        "GALILEO_API_KEY=key-${HOME}-$USER\nGALILEO_ORGANIZATION_SLUG='acme-labs'\n"
    )
    nested = clean_environment / "a" / "b"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)

    values = gather({})

    assert values.api_key is not None
    assert values.api_key.reveal() == "key-${HOME}-$USER"
    assert values.organization_slug == "acme-labs"
    assert "GALILEO_API_KEY" not in os.environ


def test_gather_ignores_empty_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GALILEO_API_KEY", "   ")

    values = gather({"api_key": ""}, dotenv={"GALILEO_API_KEY": "file-key"})

    assert values.api_key is not None and values.api_key.reveal() == "file-key"


def test_gather_api_key_wins_within_one_source() -> None:
    values = gather(
        {},
        environ={
            "GALILEO_API_KEY": "k",
            "GALILEO_USERNAME": "u",
            "GALILEO_PASSWORD": "p",
        },
        dotenv={},
    )

    assert values.inferred_auth() == "api-key"


def test_gather_flag_password_beats_environment_key() -> None:
    values = gather(
        {"username": "ada", "password": "pw"},
        environ={"GALILEO_API_KEY": "k"},
        dotenv={},
    )

    assert values.inferred_auth() == "oauth2"


def test_gather_org_from_higher_source_replaces_other_kind() -> None:
    values = gather(
        {"organization_slug": "acme-labs"},
        environ={"GALILEO_ORGANIZATION_ID": "9a00fd9a-a966-4546-acfe-b9b667937236"},
        dotenv={},
    )

    assert values.organization_slug == "acme-labs"
    assert values.organization_id is None


def test_gather_repr_never_shows_secrets() -> None:
    values = gather(
        {"api_key": "canary-key-abc123", "password": "canary-pw-xyz789"}, dotenv={}
    )

    assert "canary-key-abc123" not in repr(values)
    assert "canary-pw-xyz789" not in repr(values)


def test_build_request_unknown_auth_refused() -> None:
    values = gather({"api_key": "k", "auth": "kerberos"}, environ={}, dotenv={})

    with pytest.raises(ConfigurationError, match="'kerberos'"):
        build_request(values)


def test_build_request_password_flow_without_password_refused() -> None:
    values = gather({"api_key": "k", "auth": "basic"}, environ={}, dotenv={})

    with pytest.raises(ConfigurationError, match="--username and --password"):
        build_request(values)


def test_build_request_defaults_to_galileo_cloud() -> None:
    request = build_request(gather({"api_key": "k"}, environ={}, dotenv={}))

    assert request.console_url == "https://app.galileo.ai"
    assert request.api_url == "https://api.galileo.ai"


def test_build_request_api_url_wins_over_console() -> None:
    request = build_request(
        gather(
            {"api_key": "k", "console_url": "https://console.acme.io"},
            environ={"GALILEO_API_URL": "https://gateway.acme.io/galileo"},
            dotenv={},
        )
    )

    assert request.api_url == "https://gateway.acme.io/galileo"
