"""Which day: a date as the user writes it, and "tomorrow" where the case lives."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from zoneinfo import ZoneInfo

_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def parse_date(text: str) -> dt.date:
    """A calendar day written YYYY-MM-DD; ValueError saying what was expected, or why the day does not exist."""
    m = _DATE.fullmatch(text) if isinstance(text, str) else None
    if m is None:
        raise ValueError(f"expected a date as YYYY-MM-DD, got {text!r}")
    year, month, day = (int(g) for g in m.groups())
    if year < 1:
        raise ValueError(f"{text} is not a day of the calendar: there is no year 0")
    if not 1 <= month <= 12:
        raise ValueError(f"{text} is not a day of the calendar: there is no month {month} (01 to 12)")
    days = calendar.monthrange(year, month)[1]
    if not 1 <= day <= days:
        raise ValueError(
            f"{text} is not a day of the calendar: {calendar.month_name[month]} {year} has {days} days"
        )
    return dt.date(year, month, day)


def tomorrow(zone: str | ZoneInfo) -> dt.date:
    """The next calendar day in ``zone``: the default day of a day-ahead schedule."""
    tz = zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)
    return dt.datetime.now(tz).date() + dt.timedelta(days=1)
