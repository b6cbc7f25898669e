"""Which day (vpp.cases.days, vpp.cases.Template): dates as written, and why a day does not exist."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from vpp.cases import TEMPLATES, case_source, resolve_case
from vpp.cases.days import parse_date, tomorrow
from vpp.errors import CaseError


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026-02-30", "2026-02-30 is not a day of the calendar: February 2026 has 28 days"),
        ("2025-02-29", "2025-02-29 is not a day of the calendar: February 2025 has 28 days"),
        ("2026-04-31", "2026-04-31 is not a day of the calendar: April 2026 has 30 days"),
        ("2026-13-01", "2026-13-01 is not a day of the calendar: there is no month 13 (01 to 12)"),
        ("2026-00-10", "2026-00-10 is not a day of the calendar: there is no month 0 (01 to 12)"),
        ("2026-07-00", "2026-07-00 is not a day of the calendar: July 2026 has 31 days"),
        ("0000-01-01", "0000-01-01 is not a day of the calendar: there is no year 0"),
        ("15/07/2026", "expected a date as YYYY-MM-DD, got '15/07/2026'"),
        ("2026-7-15", "expected a date as YYYY-MM-DD, got '2026-7-15'"),
        ("20260715", "expected a date as YYYY-MM-DD, got '20260715'"),
    ],
)
def test_a_date_that_is_no_day_says_why(text: str, message: str) -> None:
    with pytest.raises(ValueError) as exc:
        parse_date(text)
    assert str(exc.value) == message


def test_days_that_exist() -> None:
    assert parse_date("2024-02-29") == dt.date(2024, 2, 29)
    assert parse_date("2026-12-31") == dt.date(2026, 12, 31)


def test_tomorrow_is_the_templates_and_in_its_zone() -> None:
    teda = TEMPLATES["teda-east"]
    zone = ZoneInfo("Asia/Shanghai")
    before = dt.datetime.now(zone).date()
    day = teda.tomorrow()
    after = dt.datetime.now(zone).date()
    assert day in (before + dt.timedelta(days=1), after + dt.timedelta(days=1))
    assert tomorrow("Asia/Shanghai") in (before + dt.timedelta(days=1), after + dt.timedelta(days=1))
    assert teda.day(dt.date(2026, 7, 15)) == dt.date(2026, 7, 15)


def test_a_name_is_a_template_and_anything_else_a_file(tmp_path, monkeypatch) -> None:
    assert case_source("teda-east") is TEMPLATES["teda-east"]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "teda-east").write_text("{}")  # a file of a template's name: the template still wins
    assert case_source("teda-east") is TEMPLATES["teda-east"]
    assert case_source("./teda-east") == Path("teda-east")  # written as a path, it is the file
    with pytest.raises(CaseError) as exc:
        case_source("nowhere.json")
    assert str(exc.value.problems[0]) == "case: 'nowhere.json' is neither a built-in case (teda-east) nor an existing file"
    assert exc.value.step == "finding the case"


def test_resolve_case_materialises_the_day_or_reads_the_file(tmp_path) -> None:
    case = resolve_case("teda-east", dt.date(2026, 7, 15))
    assert case.start.isoformat() == "2026-07-15T00:00:00+08:00"
    path = tmp_path / "c.json"
    path.write_text(case.to_json(), encoding="utf-8")
    assert resolve_case(path) == case
    with pytest.raises(CaseError, match="a date applies to built-in cases only"):
        resolve_case(path, dt.date(2026, 7, 15))
