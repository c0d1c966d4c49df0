"""China Standard Time days (UTC+8, no daylight saving), as the admin API writes them: `YYYY-MM-DD`."""

from __future__ import annotations

import calendar
import datetime as dt
import re

CST_OFFSET = 8 * 3600  # a CST day starts at 16:00 UTC of the day before
DAY = 86400
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_day(text: str) -> dt.date | None:
    """`2026-01-31` -> the date; None for anything else (no other spelling, no impossible day)."""
    if not _DATE.fullmatch(text):
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def day_start(day: dt.date) -> int:
    """Unix seconds of the day's first second in China."""
    return calendar.timegm(day.timetuple()) - CST_OFFSET


def day_of(moment: int) -> dt.date:
    """The China day a Unix time falls in."""
    return dt.datetime.fromtimestamp(moment + CST_OFFSET, dt.timezone.utc).date()
