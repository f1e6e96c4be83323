"""GalileoToken and parse_expiry: every accepted expiry form, and clock skew."""

from __future__ import annotations

import pickle
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from galileo_magic import ServerError, fetch_token
from galileo_magic.auth import TokenResponse
from galileo_magic.sandbox import SandboxServer
from galileo_magic.sandbox.seed import DEMO_API_KEY, DEMO_ORG_SLUG
from galileo_magic.tokens import (
    GalileoToken,
    format_remaining,
    mask,
    parse_expiry,
)

CANARY = "eyJcanary-access-token-0123456789-wxyz"
UTC = timezone.utc

# Aware datetimes whose UTC value stays inside datetime's range.
offsets = st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
moments = st.datetimes(
    min_value=datetime(1971, 1, 2), max_value=datetime(9998, 12, 30)
).flatmap(lambda naive: offsets.map(lambda zone: naive.replace(tzinfo=zone)))


def _offset_text(moment: datetime, style: str) -> str:
    offset = moment.utcoffset()
    assert offset is not None
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    if style == "colon":
        return f"{sign}{hours:02d}:{rest:02d}"
    return f"{sign}{hours:02d}{rest:02d}"


def _iso(moment: datetime, digits: int, zone: str) -> tuple[str, datetime]:
    """``moment`` written with ``digits`` fraction digits, and what it means."""
    base = moment.strftime("%Y-%m-%dT%H:%M:%S")
    micro = f"{moment.microsecond:06d}"
    fraction = (micro + "123")[:digits] if digits else ""
    text = base + (f".{fraction}" if fraction else "")
    kept = int(fraction[:6].ljust(6, "0")) if fraction else 0
    meant = moment.replace(microsecond=kept)
    if zone == "Z":
        return text + "Z", meant.replace(tzinfo=UTC)
    if zone == "naive":
        return text, meant.replace(tzinfo=UTC)
    return text + _offset_text(moment, zone), meant.astimezone(UTC)


@given(
    moment=moments,
    digits=st.integers(min_value=0, max_value=9),
    zone=st.sampled_from(["Z", "naive", "colon", "compact"]),
)
def test_parse_expiry_round_trips_iso_forms(
    moment: datetime, digits: int, zone: str
) -> None:
    text, meant = _iso(moment, digits, zone)

    parsed = parse_expiry(text)

    assert parsed == meant
    assert parsed.utcoffset() == timedelta(0)


@given(moment=moments)
def test_parse_expiry_round_trips_isoformat(moment: datetime) -> None:
    assert parse_expiry(moment.isoformat()) == moment


@given(
    seconds=st.integers(min_value=0, max_value=253_402_300_000 - 86_400),
    micros=st.integers(min_value=0, max_value=999_999),
)
def test_parse_expiry_round_trips_epoch_seconds(seconds: int, micros: int) -> None:
    meant = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)

    assert parse_expiry(seconds) == meant
    assert parse_expiry(str(seconds)) == meant
    assert parse_expiry(f"{seconds}.{micros:06d}") == meant.replace(microsecond=micros)


@given(seconds=st.floats(min_value=0, max_value=4e9))
def test_parse_expiry_accepts_float_epoch(seconds: float) -> None:
    expected = datetime.fromtimestamp(seconds, tz=UTC)

    assert parse_expiry(seconds) == expected


@given(garbage=st.text(max_size=40))
@example("")
@example("2026-13-01T00:00:00Z")
@example("2026-02-30T00:00:00Z")
@example("2026-01-01T24:00:00Z")
@example("2026-01-01T00:00:00+24:00")
@example("2026-01-01T00:00:00+05:60")
@example("0001-01-01T00:00:00+01:00")
@example("9999-12-31T23:59:59-01:00")
@example("2026-01-01T00:00:00.1234567890Z")
@example("٢٠٢٦-01-01T00:00:00Z")
@example("1" * 400)
@example("9" * 5000)
@example("nan")
@example("1e9")
@example("tomorrow")
def test_parse_expiry_garbage_is_server_error(garbage: str) -> None:
    try:
        parse_expiry(garbage)
    except ServerError as exc:
        assert "expires_at=" in str(exc)
        return
    # Whatever parsed must really be one of the accepted forms.
    assert re.fullmatch(r"[+-]?\d+(\.\d+)?|\d{4}-\d\d-\d\d[Tt ].*", garbage.strip())


@pytest.mark.parametrize(
    "value",
    [None, True, [], {}, float("nan"), float("inf"), 10**400, -(10**400), 1e300],
    ids=repr,
)
def test_parse_expiry_non_time_values_are_server_error(value: object) -> None:
    with pytest.raises(ServerError, match="expires_at="):
        parse_expiry(value)


@given(st.one_of(st.none(), st.booleans(), st.lists(st.integers()), st.binary()))
def test_parse_expiry_other_types_are_server_error(value: object) -> None:
    with pytest.raises(ServerError):
        parse_expiry(value)


def test_parse_expiry_error_names_value_shortened() -> None:
    with pytest.raises(ServerError) as caught:
        parse_expiry("not a time " + "x" * 200)

    assert "'not a time" in str(caught.value)
    assert len(str(caught.value)) < 200


def test_parse_expiry_naive_means_utc() -> None:
    assert parse_expiry("2026-03-04T05:06:07") == datetime(
        2026, 3, 4, 5, 6, 7, tzinfo=UTC
    )


def test_parse_expiry_negative_offset_moves_later() -> None:
    assert parse_expiry("2026-03-04T05:06:07-02:30") == datetime(
        2026, 3, 4, 7, 36, 7, tzinfo=UTC
    )


def _response(
    expires_at: object, server_date: datetime | None, url: str = "http://x/v1/token"
) -> TokenResponse:
    return TokenResponse(
        access_token=CANARY,
        token_type="bearer",
        expires_at=expires_at,
        server_date=server_date,
        url=url,
    )


def test_from_response_bad_expiry_names_url() -> None:
    with pytest.raises(ServerError, match=r"GET http://x/v1/token: .*'soon'") as caught:
        GalileoToken.from_response(_response("soon", None))

    assert caught.value.url == "http://x/v1/token"
    assert isinstance(caught.value.__cause__, ServerError)


def test_from_response_measures_skew_from_date_header() -> None:
    now = datetime.now(UTC)
    response = _response(
        (now + timedelta(hours=2)).isoformat(), now + timedelta(hours=1)
    )

    token = GalileoToken.from_response(response, received_at=now)

    assert token.clock_skew == timedelta(hours=1)
    assert timedelta(minutes=59) < token.remaining <= timedelta(hours=1)


def test_from_response_ignores_date_rounding() -> None:
    now = datetime.now(UTC)
    response = _response(now.isoformat(), now.replace(microsecond=0))

    token = GalileoToken.from_response(response, received_at=now)

    assert token.clock_skew == timedelta(0)


def test_from_response_naive_date_header_is_gmt() -> None:
    now = datetime.now(UTC)
    naive = (now - timedelta(hours=1)).replace(tzinfo=None)
    response = _response((now + timedelta(hours=1)).isoformat(), naive)

    token = GalileoToken.from_response(response, received_at=now)

    assert token.clock_skew == timedelta(hours=-1)


@pytest.fixture(params=[3600, -3600], ids=["server-ahead", "server-behind"])
def skewed_sandbox(request: pytest.FixtureRequest) -> Iterator[SandboxServer]:
    with SandboxServer(ttl=600, clock_offset=request.param) as server:
        yield server


def test_token_remaining_uses_server_clock(skewed_sandbox: SandboxServer) -> None:
    offset = skewed_sandbox.app.state.sandbox.clock.offset

    token = fetch_token(api_key=DEMO_API_KEY, api_url=skewed_sandbox.url)

    assert abs(token.clock_skew.total_seconds() - offset) < 5
    # The Date header has whole seconds, so the skew is known to about 1 s.
    assert timedelta(seconds=590) < token.remaining < timedelta(seconds=602)
    assert not token.expired
    assert abs((token.server_now() - datetime.now(UTC)).total_seconds() - offset) < 5


def test_token_describe_shows_expiry_on_local_clock(
    skewed_sandbox: SandboxServer,
) -> None:
    token = fetch_token(api_key=DEMO_API_KEY, api_url=skewed_sandbox.url)
    expected = datetime.now().astimezone() + timedelta(seconds=600)

    shown = re.search(r"expires (\S+ \S+)", token.describe())
    assert shown is not None
    moment = datetime.strptime(shown[1], "%Y-%m-%d %H:%M:%S").astimezone()
    # The sandbox's clock is an hour off; the line must follow this machine's.
    assert abs((moment - expected).total_seconds()) < 5


def _token(**kwargs: object) -> GalileoToken:
    expires = datetime.now(UTC) + timedelta(minutes=30)
    return GalileoToken(CANARY, expires, **kwargs)  # type: ignore[arg-type]


def test_token_str_is_raw_and_repr_masks() -> None:
    token = _token(organization_slug=DEMO_ORG_SLUG)

    assert str(token) == CANARY
    assert f"Bearer {token}" == f"Bearer {CANARY}"
    assert token.headers == {"Authorization": f"Bearer {CANARY}"}
    assert CANARY not in repr(token)
    assert mask(CANARY) in repr(token)
    assert CANARY not in token.describe()
    assert DEMO_ORG_SLUG in token.describe()


def test_token_refuses_pickling() -> None:
    with pytest.raises(TypeError, match="secret"):
        pickle.dumps(_token())


def test_token_expired_in_the_past() -> None:
    token = GalileoToken(CANARY, datetime.now(UTC) - timedelta(seconds=1))

    assert token.expired
    assert token.remaining == timedelta(0)
    assert "expired at" in token.describe()


def test_token_update_from_changes_value_in_place() -> None:
    token = _token(organization_slug="old-org")
    newer = GalileoToken(
        "eyJnewer-token-value-000000000-abcd",
        datetime.now(UTC) + timedelta(hours=1),
        clock_skew=timedelta(seconds=30),
    )

    token.update_from(newer)

    assert str(token) == "eyJnewer-token-value-000000000-abcd"
    assert token.expires_at == newer.expires_at
    assert token.clock_skew == timedelta(seconds=30)
    assert token.organization == "old-org"


def test_mask_short_tokens_fully() -> None:
    assert mask("short") == "***"
    assert mask(CANARY) == "eyJ...wxyz"


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(0, "00:00"), (59, "00:59"), (3599, "59:59"), (3723, "1:02:03"), (-5, "00:00")],
)
def test_format_remaining_minutes_and_hours(seconds: int, shown: str) -> None:
    assert format_remaining(timedelta(seconds=seconds)) == shown


@pytest.mark.parametrize("value", [1_767_225_600_000, "1767225600000", 1.7672256e12])
def test_parse_expiry_epoch_milliseconds_refused(value: object) -> None:
    # A documented limit: milliseconds land past year 9999 and are not guessed.
    with pytest.raises(ServerError, match="not an ISO 8601 time or epoch seconds"):
        parse_expiry(value)
