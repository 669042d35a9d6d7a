"""Durations and time spans, read in the invoking user's timezone.

Clock and date phrases ("18:00", "9am tomorrow", "friday") go to dateparser; durations
("2h", "1h30m", "90 minutes") are a small grammar of ours because dateparser reads "2h"
as a point in time, not a length.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dateparser
from pydantic import BaseModel

_UNITS = {
    "w": 604800,
    "wk": 604800,
    "wks": 604800,
    "week": 604800,
    "weeks": 604800,
    "d": 86400,
    "day": 86400,
    "days": 86400,
    "h": 3600,
    "hr": 3600,
    "hrs": 3600,
    "hour": 3600,
    "hours": 3600,
    "m": 60,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "s": 1,
    "sec": 1,
    "secs": 1,
    "second": 1,
    "seconds": 1,
}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]+)")
_DURATION = re.compile(r"^\s*(?:\d+(?:\.\d+)?\s*[a-z]+\s*)+$")
MAX_SPAN = timedelta(days=366)


class TimeError(ValueError):
    """A time phrase we could not read; the message is shown to the user as is."""


class TimeSpan(BaseModel):
    start: datetime
    end: datetime

    @property
    def duration(self) -> timedelta:
        """Elapsed time: aware datetimes in one zone subtract by wall clock in Python, which
        is off by the DST shift on the night it changes."""
        return self.end.astimezone(UTC) - self.start.astimezone(UTC)


def after(moment: datetime, duration: timedelta) -> datetime:
    """`duration` of real time after `moment`, in its zone (not wall-clock addition)."""
    return (moment.astimezone(UTC) + duration).astimezone(moment.tzinfo)


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def parse_duration(text: str) -> timedelta | None:
    """'2h', '1h30m', '90 minutes', '1.5h' → timedelta; anything else → None."""
    text = text.strip().lower()
    if not _DURATION.match(text):
        return None
    total = 0.0
    for amount, unit in _PART.findall(text):
        if unit not in _UNITS:
            return None
        total += float(amount) * _UNITS[unit]
    if total <= 0:
        return None
    try:
        return timedelta(seconds=total)
    except OverflowError:
        return None


_CLOCK = r"(?P<h>\d{1,2})(?::(?P<m>\d{2}))?\s*(?P<ampm>am|pm)?"
_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAY = r"(?P<day>today|tonight|tomorrow|" + "|".join(f"{d[:3]}(?:{d[3:]})?" for d in _DAYS) + ")"
_CLOCK_PHRASES = [
    re.compile(rf"^(?:at\s+)?{_CLOCK}$"),
    re.compile(rf"^(?:at\s+)?{_CLOCK}\s+(?:on\s+)?(?:next\s+)?{_DAY}$"),
    re.compile(rf"^(?:next\s+)?{_DAY}\s+(?:at\s+)?{_CLOCK}$"),
]


def _clock_phrase(text: str, zone_info: ZoneInfo, base: datetime) -> datetime | None:
    """'18:00', '9am tomorrow', 'friday 14:00': the first such wall-clock time after `base`
    in the zone, computed here with zoneinfo rather than dateparser, which read a bare
    clock time relative to an already-shifted base east of UTC (Asia/Tokyo at 16:58:
    "18:00" came out as tomorrow). A time that does not exist (a DST gap) moves forward."""
    for pattern in _CLOCK_PHRASES:
        found = pattern.match(text.lower())
        if found is not None:
            break
    else:
        return None
    parts = found.groupdict()
    if parts["m"] is None and parts["ampm"] is None:
        return None  # "5" alone is not a time
    hour, minute = int(parts["h"]), int(parts["m"] or 0)
    if parts["ampm"]:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if parts["ampm"] == "pm" else 0)
    if hour > 23 or minute > 59:
        return None
    local = base.astimezone(zone_info)
    day = parts.get("day")
    for offset in range(0, 8):
        date = (local + timedelta(days=offset)).date()
        if day in ("tomorrow",) and offset != 1:
            continue
        if day in ("today", "tonight") and offset != 0:
            continue
        if day and day not in ("today", "tonight", "tomorrow") and _DAYS[date.weekday()][:3] != day[:3]:
            continue
        wall = datetime(date.year, date.month, date.day, hour, minute, tzinfo=zone_info)
        moment = wall.astimezone(ZoneInfo("UTC")).astimezone(zone_info)  # a DST gap moves forward
        if moment > base or day in ("today", "tonight", "tomorrow"):
            return moment
    return None


# A day given without a time means that day, whatever the reader's zone: noon is the
# moment that stays on the same date from UTC-11 to UTC+11. Typed (`due:friday`) and picked
# in a form alike.
DUE_HOUR = time(12, 0)


def on_day(day: date, tz: str) -> datetime:
    return datetime.combine(day, DUE_HOUR, tzinfo=zone(tz))


def parse_moment(text: str, tz: str, base: datetime) -> datetime | None:
    """A clock or date phrase in `tz`: the first such moment after `base`."""
    text = " ".join(text.split())
    clock = _clock_phrase(text, zone(tz), base)
    if clock is not None:
        return clock
    # Bare numbers are sizes, severities or typos, never times: dateparser would read
    # "5" as the 5th of some month.
    if not text or not re.search(r"[a-zA-Z:/\-]", text) or len(text) > 100:
        return None
    zone_info = zone(tz)
    local_base = base.astimezone(zone_info).replace(tzinfo=None)
    parsed: datetime | None  # what dateparser documents (it has no type hints)
    try:
        parsed = dateparser.parse(
            text,
            languages=["en"],
            settings={
                "TIMEZONE": zone_info.key,
                "RETURN_AS_TIMEZONE_AWARE": True,
                "RELATIVE_BASE": local_base,
                "PREFER_DATES_FROM": "future",
            },
        )
    except Exception:  # dateparser raises assorted errors on odd input
        return None
    if parsed is None:
        return None
    return parsed.astimezone(zone_info)


def _moment_or_error(text: str, tz: str, base: datetime) -> datetime:
    moment = parse_moment(text, tz, base)
    if moment is None:
        raise TimeError(f"I couldn't read “{text}” as a time. Try 18:00, 9am tomorrow or friday.")
    return moment


def _split(text: str, *words: str) -> tuple[str, str] | None:
    for word in words:
        match = re.search(rf"\s+{word}\s+", f" {text} ")
        if match:
            padded = f" {text} "
            return padded[: match.start()].strip(), padded[match.end() :].strip()
    return None


def parse_span(text: str, tz: str, now: datetime) -> TimeSpan:
    """Read 'for 2h', '90m', 'until 9am tomorrow', 'from 18:00 to 22:00', 'from 18:00 for 2h'."""
    original = " ".join(text.split())
    phrase = original.lower()
    if not phrase:
        raise TimeError("When? Say for example `for 2h`, `until 9am tomorrow` or `from 18:00 to 22:00`.")
    local_now = now.astimezone(zone(tz))
    if phrase.startswith("for "):
        phrase = phrase[4:]
    duration = parse_duration(phrase)
    if duration is not None:
        return _checked(TimeSpan(start=local_now, end=after(local_now, duration)), local_now)
    if phrase.startswith("until ") or phrase.startswith("till "):
        end = _moment_or_error(phrase.split(" ", 1)[1], tz, local_now)
        return _checked(TimeSpan(start=local_now, end=end), local_now)
    if phrase.startswith("from "):
        phrase = phrase[5:]
    parts = _split(phrase, "to", "until", "till", "-")
    if parts:
        # The next occurrence of the start, and the first end after it: "from 18:00 to
        # 22:00" is four hours, in any zone, whichever side of midnight either falls.
        start = _moment_or_error(parts[0], tz, local_now - timedelta(minutes=1))
        end = _moment_or_error(parts[1], tz, start)
        return _checked(TimeSpan(start=start, end=end), local_now)
    parts = _split(phrase, "for")
    if parts:
        start = _moment_or_error(parts[0], tz, local_now)
        duration = parse_duration(parts[1])
        if duration is None:
            raise TimeError(f"I couldn't read “{parts[1]}” as a length of time. Try 2h or 90m.")
        return _checked(TimeSpan(start=start, end=after(start, duration)), local_now)
    raise TimeError(
        f"I couldn't read “{original}” as a time span. "
        "Try `for 2h`, `until 9am tomorrow` or `from 18:00 to 22:00`."
    )


def _checked(span: TimeSpan, now: datetime) -> TimeSpan:
    tz = str(getattr(now.tzinfo, "key", "UTC"))
    understood = f"{describe(span.start, tz)} to {describe(span.end, tz)}"
    if span.end <= now:
        raise TimeError(f"I read that as {understood}, which is already over: pick a time in the future.")
    if span.end <= span.start:
        raise TimeError(f"I read that as {understood}: the end is before the start. Check the times.")
    if span.duration > MAX_SPAN:
        raise TimeError("That is longer than a year: pick a shorter span.")
    return span


def describe(moment: datetime, tz: str) -> str:
    """'Sun 22 Nov 18:00 CET': exact, in the reader's zone, unambiguous across midnight."""
    local = moment.astimezone(zone(tz))
    return local.strftime("%a %d %b %H:%M ") + (local.tzname() or tz)


def describe_duration(delta: timedelta) -> str:
    """'1d 4h', '30m': of elapsed time (see TimeSpan.duration)."""
    seconds = int(delta.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return " ".join(parts) or f"{seconds}s"
