from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from mapping.dates import NULL_DATES, aware, business_date, combine, odata_v2_datetime, timestamp
from mapping.errors import RecordError

IST = ZoneInfo("Europe/Istanbul")
MSK = ZoneInfo("Europe/Moscow")
H = timedelta(hours=1)


def test_aware_attaches_or_converts() -> None:
    naive = datetime(2026, 3, 1, 10, 0)
    assert aware(naive, IST) == datetime(2026, 3, 1, 7, 0, tzinfo=UTC)
    assert aware(datetime(2026, 3, 1, 7, 0, tzinfo=UTC), IST).hour == 10  # type: ignore[union-attr]
    assert aware(None, IST) is None


def test_istanbul_has_no_dst_since_2016() -> None:
    # 2026-03-29 is the EU spring-forward day; Istanbul stays at +03:00 all year now.
    assert aware(datetime(2026, 3, 29, 3, 30), IST).utcoffset() == 3 * H  # type: ignore[union-attr]
    assert aware(datetime(2026, 7, 15, 12), IST).utcoffset() == 3 * H  # type: ignore[union-attr]
    assert aware(datetime(2026, 10, 25, 3, 30), IST).utcoffset() == 3 * H  # type: ignore[union-attr]
    assert aware(datetime(2016, 1, 15, 12), IST).utcoffset() == 2 * H  # type: ignore[union-attr]


def test_moscow_dst_edges() -> None:
    # 2010-03-28 02:00 -> 03:00 (gap): fold=0 keeps the pre-transition offset, +03:00.
    assert aware(datetime(2010, 3, 28, 2, 30), MSK).utcoffset() == 3 * H  # type: ignore[union-attr]
    # 2010-10-31 03:00 -> 02:00 (repeated hour): fold=0 is the first pass, still summer +04:00.
    assert aware(datetime(2010, 10, 31, 2, 30), MSK).utcoffset() == 4 * H  # type: ignore[union-attr]
    # 2014-10-26: permanent +04:00 ends, 01:00-02:00 repeats; since then +03:00 all year.
    assert aware(datetime(2014, 10, 26, 1, 30), MSK).utcoffset() == 4 * H  # type: ignore[union-attr]
    assert aware(datetime(2026, 7, 1, 12), MSK).utcoffset() == 3 * H  # type: ignore[union-attr]
    first = aware(datetime(2010, 10, 30, 22, 30, tzinfo=UTC), MSK)
    second = aware(datetime(2010, 10, 30, 23, 30, tzinfo=UTC), MSK)
    assert first is not None and second is not None
    assert (first.hour, first.minute, first.fold, first.utcoffset()) == (2, 30, 0, 4 * H)
    assert (second.hour, second.minute, second.fold, second.utcoffset()) == (2, 30, 1, 3 * H)


def test_combine() -> None:
    assert combine(date(2026, 3, 1), 14, 5, 9, IST) == datetime(2026, 3, 1, 14, 5, 9, tzinfo=IST)
    assert combine(date(2026, 3, 1), 14, None, None, IST) == datetime(2026, 3, 1, 14, tzinfo=IST)
    # A datetime's own time part is replaced when any part is given...
    assert combine(datetime(2026, 3, 1, 23, 59), 8, 0, 0, IST) == datetime(2026, 3, 1, 8, tzinfo=IST)
    # ...and kept when none is.
    assert combine(datetime(2026, 3, 1, 23, 59), None, None, None, IST) == datetime(2026, 3, 1, 23, 59, tzinfo=IST)
    assert combine(None, 1, 2, 3, IST) is None


@pytest.mark.parametrize(("h", "m", "s"), [(25, 0, 0), (24, 0, 0), (0, 60, 0), (0, 0, 60), (-1, 0, 0)])
def test_combine_rejects_out_of_range(h: int, m: int, s: int) -> None:
    with pytest.raises(RecordError, match="time of day") as err:
        combine(date(2026, 3, 1), h, m, s, IST, field="issued_at")
    assert err.value.field == "issued_at"


def test_odata_v2_datetime() -> None:
    jan1 = datetime(2026, 1, 1, tzinfo=UTC)
    assert odata_v2_datetime("/Date(1767225600000)/") == jan1
    assert odata_v2_datetime("/Date(1767225600000+0000)/") == jan1
    assert odata_v2_datetime("\\/Date(1767225600000)\\/") == jan1
    # The ticks are UTC; an offset only names the source's zone.
    assert odata_v2_datetime("/Date(1767225600000+0180)/") == jan1
    assert odata_v2_datetime("/Date(-86400000)/") == datetime(1969, 12, 31, tzinfo=UTC)
    assert odata_v2_datetime("/Date(0)/").tzinfo is not None


@pytest.mark.parametrize("raw", ["/Date()/", "/Date(abc)/", "Date(1)", "/Date(1+01)/", "/Date(99999999999999999)/"])
def test_odata_v2_datetime_rejects(raw: str) -> None:
    with pytest.raises(ValueError):
        odata_v2_datetime(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (date(2026, 3, 1), date(2026, 3, 1)),
        (datetime(2026, 3, 1, 23, 59), date(2026, 3, 1)),
        ("2026-03-01", date(2026, 3, 1)),
        ("2026-03-01T00:00:00", date(2026, 3, 1)),
        ("2026-03-01 00:00:00.000", date(2026, 3, 1)),
        ("20260301", date(2026, 3, 1)),
        ("01.03.2026", date(2026, 3, 1)),
        ("/Date(1767225600000)/", date(2026, 1, 1)),
        ("/Date(1767225600000+0000)/", date(2026, 1, 1)),
        # 2025-12-31T21:00Z written at +03:00 is 1 January at the source.
        ("/Date(1767214800000+0180)/", date(2026, 1, 1)),
    ],
)
def test_business_date(raw: object, expected: date) -> None:
    assert business_date(raw, "date") == expected


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "",
        "00000000",
        date(1899, 12, 30),
        datetime(1899, 12, 30),
        "1899-12-30 00:00:00.000",
        datetime(1900, 1, 1),
        "0001-01-01T00:00:00",
        "/Date(-2208988800000)/",
    ],
)
def test_business_date_sentinels_are_none(raw: object) -> None:
    assert business_date(raw, "date") is None


def test_custom_null_dates() -> None:
    assert business_date("1899-12-30", "d", frozenset()) == date(1899, 12, 30)
    assert business_date("2099-12-31", "d", NULL_DATES | {date(2099, 12, 31)}) is None


@pytest.mark.parametrize("raw", ["garbage", "2026-13-01", "20261301", "/Date(x)/", "31.02.2026", 20260301])
def test_business_date_garbage(raw: object) -> None:
    with pytest.raises(RecordError) as err:
        business_date(raw, "due_date")
    assert err.value.field == "due_date"
    assert str(raw) not in err.value.reason


def test_timestamp() -> None:
    assert timestamp(datetime(2026, 3, 1, 9, 5), "t", IST) == datetime(2026, 3, 1, 9, 5, tzinfo=IST)
    assert timestamp("2026-03-01T09:05:00", "t", IST) == datetime(2026, 3, 1, 9, 5, tzinfo=IST)
    got = timestamp("2026-03-01T09:05:00+00:00", "t", IST)
    assert got == datetime(2026, 3, 1, 12, 5, tzinfo=IST)
    assert got is not None and got.tzinfo is IST
    assert timestamp("/Date(1767225600000)/", "t", IST) == datetime(2026, 1, 1, 3, tzinfo=IST)
    assert timestamp("/Date(1767225600000+0000)/", "t", MSK) == datetime(2026, 1, 1, 3, tzinfo=MSK)
    assert timestamp("/Date(1767214800000+0180)/", "t", IST) == datetime(2026, 1, 1, 0, tzinfo=IST)
    assert timestamp("20260301", "t", MSK) == datetime(2026, 3, 1, tzinfo=MSK)
    assert timestamp(date(2026, 3, 1), "t", MSK) == datetime(2026, 3, 1, tzinfo=MSK)
    assert timestamp("01.03.2026 9:05:00", "t", MSK) == datetime(2026, 3, 1, 9, 5, tzinfo=MSK)
    other = datetime(2026, 3, 1, 12, tzinfo=timezone(timedelta(hours=-5)))
    assert timestamp(other, "t", IST) == datetime(2026, 3, 1, 20, tzinfo=IST)


@pytest.mark.parametrize(
    "raw", [None, "", "00000000", datetime(1899, 12, 30), "1900-01-01T00:00:00", "/Date(-62135596800000)/"]
)
def test_timestamp_sentinels_are_none(raw: object) -> None:
    assert timestamp(raw, "t", IST) is None


def test_timestamp_garbage() -> None:
    with pytest.raises(RecordError, match="unparseable") as err:
        timestamp("yesterday", "created_at", IST)
    assert err.value.field == "created_at"


@pytest.mark.parametrize(
    "naive",
    [
        datetime(2010, 10, 31, 2, 30),
        datetime(2010, 10, 31, 2, 30, fold=1),
        datetime(2010, 3, 28, 2, 30, 15, 123456),
        datetime(1, 1, 1),
        datetime(9999, 12, 31, 23, 59, 59, 999999),
    ],
)
def test_aware_attach_is_exactly_replace(naive: datetime) -> None:
    got = aware(naive, MSK)
    want = naive.replace(tzinfo=MSK)
    assert got is not None
    assert (got, got.fold, got.utcoffset(), got.tzinfo) == (want, want.fold, want.utcoffset(), want.tzinfo)
