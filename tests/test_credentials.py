"""Credential sources: flags, then the environment, then .env, field by field."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

from galileo_magic import ConfigurationError
from galileo_magic.auth import Secret
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


def test_gather_ignores_empty_environment_values(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GALILEO_API_KEY", "   ")

    values = gather({"api_key": None}, dotenv={"GALILEO_API_KEY": "file-key"})

    assert values.api_key is not None and values.api_key.reveal() == "file-key"


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("api_key", "API key"),
        ("password", "password"),
        ("organization_id", "organization id"),
        ("organization_slug", "organization slug"),
        ("console_url", "console URL"),
        ("api_url", "API URL"),
        ("auth", "auth method"),
    ],
)
def test_build_request_empty_argument_refused_not_replaced(
    name: str, words: str
) -> None:
    environ = {
        "GALILEO_API_KEY": "env-key",
        "GALILEO_USERNAME": "ada",
        "GALILEO_PASSWORD": "env-pw",
        "GALILEO_ORGANIZATION_SLUG": "acme-labs",
        "GALILEO_CONSOLE_URL": "https://console.acme.io",
    }
    values = gather({name: "  " if name != "password" else ""}, environ=environ)

    assert values.empty == [name]
    with pytest.raises(ConfigurationError) as caught:
        build_request(values)
    assert str(caught.value) == (
        f"The {words} given is empty; give a value, or leave it out to use the "
        "GALILEO_* variables and .env."
    )


def test_build_request_empty_argument_filled_later_is_accepted() -> None:
    values = gather({"api_key": ""}, environ={"GALILEO_API_KEY": "env-key"})
    assert values.api_key is None
    # What a prompt does when the flag was given empty.
    values.api_key = Secret("typed-key")

    assert build_request(values).auth.api_key == Secret("typed-key")


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        ({"api_key": 12345}, "API key given must be text (str), not int"),
        ({"organization_id": b"x"}, "organization id given must be text (str)"),
        ({"password": ["pw"]}, "password given must be text (str), not list"),
    ],
)
def test_gather_non_string_argument_refused(
    arguments: dict[str, object], words: str
) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(words)) as caught:
        gather(arguments, environ={}, dotenv={})  # type: ignore[arg-type]
    assert "12345" not in str(caught.value)


def test_read_dotenv_not_utf8_names_file_without_content(
    clean_environment: Path,
) -> None:
    dotenv = clean_environment / ".env"
    dotenv.write_bytes(b"GALILEO_API_KEY=canary-latin1-key-\xff\xfe\n")

    with pytest.raises(ConfigurationError) as caught:
        gather({})

    message = str(caught.value)
    assert message == (
        f"The .env file {dotenv} is not UTF-8 text; save it as UTF-8 or remove it, "
        "then run again."
    )
    assert caught.value.__cause__ is None and caught.value.__context__ is None


@pytest.mark.parametrize(
    ("where", "fix"),
    [
        (
            "environment",
            "unset GALILEO_ORGANIZATION_ID or GALILEO_ORGANIZATION_SLUG in the "
            "environment.",
        ),
        (".env", "remove GALILEO_ORGANIZATION_ID or GALILEO_ORGANIZATION_SLUG from "),
        ("argument", "drop --org-id or --org-slug"),
    ],
)
def test_build_request_id_and_slug_names_their_source(
    where: str, fix: str, clean_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    both = {
        "GALILEO_ORGANIZATION_ID": "9a00fd9a-a966-4546-acfe-b9b667937236",
        "GALILEO_ORGANIZATION_SLUG": "acme-labs",
    }
    arguments: dict[str, str | None] = {"api_key": "k"}
    if where == "environment":
        for name, value in both.items():
            monkeypatch.setenv(name, value)
    elif where == ".env":
        lines = [f"{name}={value}" for name, value in both.items()]
        (clean_environment / ".env").write_text("\n".join(lines) + "\n")
    else:
        arguments.update(
            organization_id=both["GALILEO_ORGANIZATION_ID"],
            organization_slug="acme-labs",
        )

    with pytest.raises(ConfigurationError, match="not both") as caught:
        build_request(gather(arguments))

    message = str(caught.value)
    assert fix in message
    if where != "argument":
        assert "--org-id" not in message
    if where == ".env":
        assert message.endswith(f"from {clean_environment / '.env'}.")


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


def test_missing_is_none_when_an_argument_was_given_empty() -> None:
    values = gather({"api_key": ""}, environ={}, dotenv={})

    # Nothing to prompt for: build_request names the empty argument instead.
    assert values.missing() is None
    with pytest.raises(ConfigurationError, match="The API key given is empty"):
        build_request(values)


def test_magic_empty_api_key_flag_is_refused_not_prompted(
    shell: InteractiveShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GALILEO_API_KEY", "env-key-not-to-be-used")

    result = shell.run_cell('%galileo_token --api-key "" --api-url http://127.0.0.1:9')

    assert isinstance(result.error_in_exec, UsageError)
    assert str(result.error_in_exec).startswith(
        "ConfigurationError: The API key given is empty; "
    )
    assert "galileo_token" not in shell.user_ns


def test_gather_config_defaults_rank_below_environment_and_dotenv() -> None:
    defaults = {"console_url": "https://config.example", "api_url": "https://cfg.api"}

    from_env = gather(
        {},
        environ={"GALILEO_CONSOLE_URL": "https://env.example"},
        dotenv={"GALILEO_API_URL": "https://dotenv.api"},
        defaults=defaults,
    )

    assert from_env.console_url == "https://env.example"
    assert from_env.api_url == "https://dotenv.api"
    assert from_env.sources["console_url"] == "environment"
    assert from_env.sources["api_url"] == ".env"


def test_gather_config_defaults_fill_urls_nothing_else_gives() -> None:
    values = gather(
        {"api_key": "k"},
        environ={},
        dotenv={},
        defaults={"console_url": " https://console.acme.io ", "api_url": None},
    )

    assert values.console_url == "https://console.acme.io"
    assert values.sources["console_url"] == "config"
    assert build_request(values).api_url == "https://api.acme.io"


def test_gather_config_defaults_give_only_urls() -> None:
    values = gather(
        {},
        environ={},
        dotenv={},
        defaults={"api_key": "config-key", "organization_slug": "acme-labs"},
    )

    assert values.api_key is None and values.organization_slug is None
    assert values.sources == {}


def test_gather_config_defaults_never_replace_an_empty_argument() -> None:
    values = gather(
        {"api_key": "k", "console_url": ""},
        environ={},
        dotenv={},
        defaults={"console_url": "https://console.acme.io"},
    )

    with pytest.raises(ConfigurationError, match="The console URL given is empty"):
        build_request(values)
