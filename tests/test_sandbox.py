"""The sandbox server, over real HTTP on loopback, against the published spec."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from galileo_magic.sandbox import SandboxServer, create_app, default_seed
from galileo_magic.sandbox.__main__ import parse_args
from galileo_magic.sandbox.seed import (
    DEMO_API_KEY,
    DEMO_EMAIL,
    DEMO_ORG_ID,
    DEMO_ORG_SLUG,
    DEMO_PASSWORD,
    SECOND_ORG_ID,
    SHARED_ORG_ID,
    SHARED_ORG_SLUG,
)

SPEC_DIR = Path(__file__).parents[1] / "spec"
TIMEOUT = 10


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        yield server


def get_token(
    server: SandboxServer, *, params: dict[str, str] | None = None, **kwargs: Any
) -> requests.Response:
    return requests.get(
        f"{server.url}/v1/token", params=params, timeout=TIMEOUT, **kwargs
    )


def login(server: SandboxServer) -> str:
    response = requests.post(
        f"{server.url}/login",
        data={"username": DEMO_EMAIL, "password": DEMO_PASSWORD},
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    return str(body["access_token"])


def parse_expiry(value: str) -> datetime:
    assert value.endswith("Z")
    return datetime.fromisoformat(value[:-1] + "+00:00")


def assert_token_body(body: dict[str, Any]) -> None:
    assert body["token_type"] == "bearer"
    assert body["access_token"].startswith("eyJ")
    assert body["access_token"].count(".") == 2
    parse_expiry(body["expires_at"])


def test_sandbox_healthcheck_answers_ok(sandbox: SandboxServer) -> None:
    response = requests.get(f"{sandbox.url}/healthcheck", timeout=TIMEOUT)
    assert response.json() == {
        "api_version": "v1",
        "message": "ok",
        "version": "1.1085.0-sandbox",
    }


@pytest.mark.parametrize("header", ["Galileo-API-Key", "Splunk-AO-API-Key"])
def test_sandbox_api_key_header_gives_token(
    sandbox: SandboxServer, header: str
) -> None:
    response = get_token(sandbox, headers={header: DEMO_API_KEY})
    assert response.status_code == 200, response.text
    assert_token_body(response.json())


def test_sandbox_basic_auth_gives_token(sandbox: SandboxServer) -> None:
    response = get_token(sandbox, auth=(DEMO_EMAIL, DEMO_PASSWORD))
    assert response.status_code == 200, response.text
    assert_token_body(response.json())


def test_sandbox_login_bearer_gives_token(sandbox: SandboxServer) -> None:
    session = login(sandbox)
    response = get_token(sandbox, headers={"Authorization": f"Bearer {session}"})
    assert response.status_code == 200, response.text
    assert_token_body(response.json())


def test_sandbox_v2_token_accepts_api_key(sandbox: SandboxServer) -> None:
    response = requests.get(
        f"{sandbox.url}/v2/token",
        headers={"Splunk-AO-API-Key": DEMO_API_KEY},
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text
    assert_token_body(response.json())


def test_sandbox_wrong_api_key_is_401(sandbox: SandboxServer) -> None:
    response = get_token(sandbox, headers={"Galileo-API-Key": "gsk-wrong"})
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid API key."}


def test_sandbox_wrong_password_is_401(sandbox: SandboxServer) -> None:
    response = get_token(sandbox, auth=(DEMO_EMAIL, "not-the-password"))
    assert response.status_code == 401
    assert response.json() == {"detail": "Incorrect username or password"}
    assert response.headers["WWW-Authenticate"] == "Basic"


def test_sandbox_login_wrong_password_is_401(sandbox: SandboxServer) -> None:
    response = requests.post(
        f"{sandbox.url}/login",
        data={"username": DEMO_EMAIL, "password": "nope"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 401
    assert response.json() == {"detail": "Incorrect username or password"}
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_sandbox_login_missing_field_is_fastapi_422(sandbox: SandboxServer) -> None:
    response = requests.post(
        f"{sandbox.url}/login", data={"username": DEMO_EMAIL}, timeout=TIMEOUT
    )
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "password"]
    assert error["type"] == "missing"


def test_sandbox_unknown_bearer_is_401(sandbox: SandboxServer) -> None:
    response = get_token(sandbox, headers={"Authorization": "Bearer eyJnope.x.y"})
    assert response.status_code == 401
    assert response.json() == {"detail": "Could not validate credentials"}


def test_sandbox_no_credentials_is_401(sandbox: SandboxServer) -> None:
    response = get_token(sandbox)
    assert response.status_code == 401
    assert response.json() == {"detail": "Not authenticated"}


def test_sandbox_malformed_uuid_is_fastapi_422(sandbox: SandboxServer) -> None:
    response = get_token(
        sandbox,
        params={"organization_id": "not-a-uuid"},
        headers={"Galileo-API-Key": DEMO_API_KEY},
    )
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["query", "organization_id"]
    assert error["type"] == "uuid_parsing"
    assert isinstance(error["msg"], str)


def test_sandbox_uuid_not_version_4_is_422(sandbox: SandboxServer) -> None:
    response = get_token(
        sandbox,
        params={"organization_id": "00000000-0000-1000-8000-000000000000"},
        headers={"Galileo-API-Key": DEMO_API_KEY},
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "uuid_version"


def test_sandbox_both_org_params_is_422(sandbox: SandboxServer) -> None:
    response = get_token(
        sandbox,
        params={"organization_id": DEMO_ORG_ID, "organization_slug": DEMO_ORG_SLUG},
        headers={"Galileo-API-Key": DEMO_API_KEY},
    )
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert set(error) >= {"loc", "msg", "type"}
    assert error["loc"][0] == "query"


@pytest.mark.parametrize(
    "params, named",
    [
        ({"organization_slug": "no-such-org"}, "no-such-org"),
        ({"organization_id": SECOND_ORG_ID}, SECOND_ORG_ID),
    ],
)
def test_sandbox_unknown_or_foreign_org_is_404(
    sandbox: SandboxServer, params: dict[str, str], named: str
) -> None:
    response = get_token(
        sandbox, params=params, headers={"Galileo-API-Key": DEMO_API_KEY}
    )
    assert response.status_code == 404
    assert named in response.json()["detail"]


def test_sandbox_access_token_works_on_current_user(sandbox: SandboxServer) -> None:
    issued = get_token(
        sandbox,
        params={"organization_slug": SHARED_ORG_SLUG},
        headers={"Galileo-API-Key": DEMO_API_KEY},
    ).json()
    response = requests.get(
        f"{sandbox.url}/current_user",
        headers={"Authorization": f"Bearer {issued['access_token']}"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text
    user = response.json()
    assert user["email"] == DEMO_EMAIL
    assert user["organization_id"] == SHARED_ORG_ID
    assert user["auth_method"] == "email"
    assert user["permissions"] == [] and user["generic_permissions"] == []


def test_sandbox_default_org_when_none_given(sandbox: SandboxServer) -> None:
    issued = get_token(sandbox, headers={"Galileo-API-Key": DEMO_API_KEY}).json()
    response = requests.get(
        f"{sandbox.url}/current_user",
        headers={"Authorization": f"Bearer {issued['access_token']}"},
        timeout=TIMEOUT,
    )
    assert response.json()["organization_id"] == DEMO_ORG_ID


def test_sandbox_organizations_query_lists_orgs(sandbox: SandboxServer) -> None:
    response = requests.post(
        f"{sandbox.url}/organizations/query",
        headers={"Galileo-API-Key": DEMO_API_KEY},
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text
    orgs = response.json()["organizations"]
    assert len(orgs) >= 2
    assert {org["slug"] for org in orgs} >= {DEMO_ORG_SLUG, SHARED_ORG_SLUG}
    assert all(org["permissions"] == [] for org in orgs)


def test_sandbox_organizations_query_filters_by_name(sandbox: SandboxServer) -> None:
    body = {
        "filters": [
            {
                "name": "name",
                "operator": "contains",
                "value": "LABS",
                "case_sensitive": False,
            }
        ]
    }
    response = requests.post(
        f"{sandbox.url}/organizations/query",
        json=body,
        auth=(DEMO_EMAIL, DEMO_PASSWORD),
        timeout=TIMEOUT,
    )
    assert [org["slug"] for org in response.json()["organizations"]] == [
        SHARED_ORG_SLUG
    ]


def test_sandbox_clock_offset_shifts_date_and_expiry() -> None:
    offset, ttl = 3600.0, 600.0
    with SandboxServer(ttl=ttl, clock_offset=offset) as server:
        response = get_token(server, headers={"Galileo-API-Key": DEMO_API_KEY})
    now = datetime.now(timezone.utc)

    dates = [v for k, v in response.raw.headers.items() if k.lower() == "date"]
    assert len(dates) == 1
    server_now = parsedate_to_datetime(dates[0])
    assert abs((server_now - now).total_seconds() - offset) < 5

    expires_at = parse_expiry(response.json()["expires_at"])
    assert abs((expires_at - now).total_seconds() - (offset + ttl)) < 5


def test_sandbox_ttl_expires_access_token() -> None:
    with SandboxServer(ttl=1.0) as server:
        issued = get_token(server, headers={"Galileo-API-Key": DEMO_API_KEY})
        bearer = {"Authorization": f"Bearer {issued.json()['access_token']}"}
        expires_at = parse_expiry(issued.json()["expires_at"])
        lifetime = expires_at - datetime.now(timezone.utc)
        assert 0 < lifetime.total_seconds() <= 1.5
        time.sleep(1.2)
        response = requests.get(
            f"{server.url}/current_user", headers=bearer, timeout=TIMEOUT
        )
    assert response.status_code == 401


def test_sandbox_server_start_and_stop_are_idempotent() -> None:
    server = SandboxServer(seed=default_seed())
    server.start()
    url = server.url
    server.start()
    assert server.url == url
    assert requests.get(f"{url}/healthcheck", timeout=TIMEOUT).ok
    server.stop()
    server.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/healthcheck", timeout=TIMEOUT)


def test_sandbox_server_refuses_non_loopback_host() -> None:
    with pytest.raises(ValueError, match="loopback"):
        SandboxServer(host="0.0.0.0")


def test_sandbox_cli_refuses_non_loopback_host() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "galileo_magic.sandbox", "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "loopback" in result.stderr
    assert "0.0.0.0" in result.stderr
    assert "serving" not in result.stdout


def _resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if ref is None:
        return node
    target: Any = spec
    for part in ref.removeprefix("#/").split("/"):
        target = target[part]
    return dict(target)


def _operation(spec: dict[str, Any]) -> dict[str, Any]:
    return dict(spec["paths"]["/v1/token"]["get"])


def test_sandbox_openapi_matches_get_token_spec() -> None:
    published = yaml.safe_load(
        (SPEC_DIR / "galileo-get-token.openapi.yaml").read_text(encoding="utf-8")
    )
    ours = create_app().openapi()
    theirs_op, ours_op = _operation(published), _operation(ours)

    def params(op: dict[str, Any]) -> dict[tuple[str, str], Any]:
        return {(p["name"], p["in"]): p["schema"] for p in op["parameters"]}

    assert params(ours_op) == params(theirs_op)
    assert ours_op["security"] == theirs_op["security"]

    for entry in theirs_op["security"]:
        [name] = entry
        theirs = published["components"]["securitySchemes"][name]
        mine = ours["components"]["securitySchemes"][name]
        assert mine["type"] == theirs["type"]
        if theirs["type"] == "apiKey":
            assert (mine["in"], mine["name"]) == (theirs["in"], theirs["name"])
        elif theirs["type"] == "http":
            assert mine["scheme"] == theirs["scheme"]
        else:
            assert "password" in mine["flows"]

    def ok_schema(spec: dict[str, Any]) -> dict[str, Any]:
        content = _operation(spec)["responses"]["200"]["content"]
        return _resolve(spec, content["application/json"]["schema"])

    theirs_body, ours_body = ok_schema(published), ok_schema(ours)
    assert ours_body["properties"] == theirs_body["properties"]
    assert sorted(ours_body["required"]) == sorted(theirs_body["required"])


@pytest.mark.parametrize(
    ("option", "said"),
    [
        ("--port=99999", "argument --port: '99999' is not a port from 0 to 65535"),
        ("--port=-1", "argument --port: '-1' is not a port from 0 to 65535"),
        ("--port=http", "argument --port: 'http' is not a port from 0 to 65535"),
        ("--ttl=-5", "argument --ttl: '-5' is not a number above 0"),
        ("--ttl=0", "argument --ttl: '0' is not a number above 0"),
        ("--ttl=nan", "argument --ttl: 'nan' is not a finite number"),
        ("--clock-offset=inf", "argument --clock-offset: 'inf' is not a finite"),
    ],
)
def test_sandbox_cli_refuses_bad_numbers_in_one_line(
    option: str, said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        parse_args([option])

    assert exit_.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert said in error


def test_sandbox_cli_accepts_edge_ports_and_small_ttl() -> None:
    assert parse_args(["--port", "0"]).port == 0
    assert parse_args(["--port", "65535"]).port == 65535
    assert parse_args(["--ttl", "0.5"]).ttl == 0.5


def test_sandbox_cli_bad_port_is_one_line_not_a_traceback() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "galileo_magic.sandbox", "--port", "99999"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "'99999' is not a port from 0 to 65535" in result.stderr
    assert "serving" not in result.stdout
