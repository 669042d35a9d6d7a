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
_WEEKDAY = "|".join(f"{d[:3]}(?:{d[3:]})?" for d in _DAYS)
_DAY = rf"(?P<which>(?:this|next|coming)\s+)?(?P<day>today|tonight|tomorrow|{_WEEKDAY})"
_CLOCK_PHRASES = [
    re.compile(rf"^(?:at\s+)?{_CLOCK}$"),
    re.compile(rf"^(?:at\s+)?{_CLOCK}\s+(?:on\s+)?{_DAY}$"),
    re.compile(rf"^{_DAY}\s+(?:at\s+)?{_CLOCK}$"),
]
_DAY_ONLY = re.compile(rf"^{_DAY}$")
_NAMED_HOURS = {"noon": "12:00", "midday": "12:00", "midnight": "00:00"}
# Something in the phrase that says when in the day: without it, a span's end would be the
# day's first minute ("from friday to sunday" is not two days of Friday and Saturday).
_TIME_OF_DAY = re.compile(
    r"\d:\d\d|\d\s*(?:am|pm)\b|\b(?:noon|midday|midnight|now|hours?|hrs?|minutes?|mins?)\b"
)


def _named_hours(text: str) -> str:
    return re.sub(r"\b(noon|midday|midnight)\b", lambda m: _NAMED_HOURS[m[1]], text)


_MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_MONTH = "|".join(f"{m[:3]}(?:{m[3:]})?" for m in _MONTHS) + "|sept"
_ORDINAL = r"(?:st|nd|rd|th)?"
_CALENDAR = re.compile(
    rf"^(?:(?P<iy>\d{{4}})-(?P<im>\d{{1,2}})-(?P<id>\d{{1,2}})"
    rf"|(?P<m1>{_MONTH})\.?\s+(?P<d1>\d{{1,2}}){_ORDINAL}(?:,?\s+(?P<y1>\d{{4}}))?"
    rf"|(?P<d2>\d{{1,2}}){_ORDINAL}\s+(?:of\s+)?(?P<m2>{_MONTH})\.?(?:,?\s+(?P<y2>\d{{4}}))?)$"
)
# 04/12 is 4 December in most of the world and April 12 in the US: never guessed.
_SLASHED = re.compile(r"\b\d{1,2}/\d{1,2}(?:/\d{2,4})?\b")
_MONTH_ALONE = re.compile(rf"^(?:in\s+)?(?:{_MONTH})\.?$")
_DAY_NUMBER_ALONE = re.compile(r"^(?:on\s+)?(?:the\s+)?\d{1,2}(?:st|nd|rd|th)$")
# "until 5pm on the 10th": a day of the month with no month, anywhere in the phrase (it was
# read as the 10th of a month ten away).
_DAY_NUMBER_INSIDE = re.compile(rf"\bthe\s+\d{{1,2}}(?:st|nd|rd|th)\b(?!\s+(?:of\s+)?(?:{_MONTH}))")


def _month(name: str) -> int:
    return next(i for i, month in enumerate(_MONTHS, 1) if month.startswith(name[:3]))


_WEEKDAY_FIRST = re.compile(r"^(?P<day>mon|tue|wed|thu|fri|sat|sun)[a-z]*,?\s+(?P<rest>.+)$")


def calendar_date(text: str, today: date) -> date | None:
    """'2027-01-05', 'Jan 5', 'jan 5th, 2027', '5 January': that date; None for any other
    form. Without a year, the one nearest `today`: Jan 5 typed in December is next
    January's, Dec 1 typed on Dec 3 two days ago (in the past, not next year's)."""
    lowered = " ".join(text.lower().split())
    named = _WEEKDAY_FIRST.match(lowered)
    if named is not None:  # "monday 7 dec", "mon, dec 7": the date, and its day said too
        on = calendar_date(named["rest"], today)
        if on is not None and _DAYS[on.weekday()][:3] != named["day"][:3]:
            raise TimeError(
                f"“{text}”: {on.strftime('%-d %b')} is a {_DAYS[on.weekday()].capitalize()}. "
                "Say the date alone, or the day it is."
            )
        return on
    found = _CALENDAR.match(lowered)
    if found is None:
        return None
    try:
        if found["iy"]:
            return date(int(found["iy"]), int(found["im"]), int(found["id"]))
        month = _month(found["m1"] or found["m2"])
        day = int(found["d1"] or found["d2"])
        year = found["y1"] or found["y2"]
        if year:
            return date(int(year), month, day)
        near = []
        for y in (today.year - 1, today.year, today.year + 1):
            try:
                near.append(date(y, month, day))
            except ValueError:  # 29 February in a year without it
                continue
        if not near:
            raise ValueError
        return min(near, key=lambda d: (abs((d - today).days), d < today))
    except ValueError:
        raise TimeError(f"“{text}” is not a date on the calendar.") from None


def unclear_date(text: str, today: date) -> str | None:
    """Why a date phrase is refused rather than guessed (a numeric date with slashes, a
    month or a day of the month alone), or None."""
    lowered = " ".join(text.lower().split())
    slashed = _SLASHED.search(lowered)
    if slashed is not None:
        first, second = (int(n) for n in slashed[0].split("/")[:2])
        readings = []
        for day, month in ((first, second), (second, first)):
            try:
                reading = date(today.year, month, day)
            except ValueError:
                continue
            if reading < today and (month, day) != (2, 29):
                reading = reading.replace(year=today.year + 1)
            readings.append(reading)
        example = readings[0] if readings else today
        which = (
            f"could be {readings[0].strftime('%-d %b')} or {readings[1].strftime('%b %-d')}"
            if len(readings) == 2 and readings[0] != readings[1]
            else "reads differently day-first and month-first"
        )
        return (
            f"“{slashed[0]}” {which}: write the date as {example.isoformat()} "
            f"or {example.strftime('%b')} {example.day}."
        )
    if _MONTH_ALONE.match(lowered):
        month = _month(lowered.split()[-1])
        return f"“{text}” is a month: say the day too, like {_MONTHS[month - 1][:3].title()} 10."
    if _DAY_NUMBER_ALONE.match(lowered) or _DAY_NUMBER_INSIDE.search(lowered):
        name = today.strftime("%b")
        return f"“{text}” needs its month: say it like {name} 5 or {today.year}-{today.month:02d}-05."
    return None


def _clock_time(text: str) -> tuple[int, int] | None:
    """'18:00', '9am', '5:30 pm', 'noon' alone: (hour, minute); anything else None."""
    found = re.match(rf"^(?:at\s+)?{_CLOCK}$", _named_hours(" ".join(text.lower().split())))
    return _hour_minute(found) if found is not None else None


def _hour_minute(found: re.Match[str]) -> tuple[int, int] | None:
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
    return hour, minute


_CLOCK_WORDS = r"(?:at\s+)?(?:\d{1,2}(?::\d{2})?\s*(?:am|pm)?|noon|midday|midnight)"
_CLOCK_THEN_DAY = re.compile(rf"^(?P<clock>{_CLOCK_WORDS})\s+(?:on\s+)?(?P<day>.+)$")
_DAY_THEN_CLOCK = re.compile(rf"^(?:on\s+)?(?P<day>.+?)\s+(?P<clock>{_CLOCK_WORDS})$")


def _dated(text: str, zone_info: ZoneInfo, today: date) -> datetime | None:
    """A calendar date (see calendar_date), with a clock time before or after it or none
    (its first minute): '2027-01-05', '5pm on jan 5', 'jan 5 17:00'."""
    alone = calendar_date(re.sub(r"^on\s+", "", text), today)
    if alone is not None:
        return _wall(alone, 0, 0, zone_info)
    for pattern in (_CLOCK_THEN_DAY, _DAY_THEN_CLOCK):
        found = pattern.match(text)
        if found is None:
            continue
        clock = _clock_time(found["clock"])
        day = calendar_date(found["day"], today)
        if clock is not None and day is not None:
            return _wall(day, *clock, zone_info)
    return None


def _date_of(which: str | None, day: str, today: date) -> date | None:
    """The date a day word names, counted from `today`; None for a weekday without `next`,
    which is the first one after a moment rather than a date of its own. `next friday` is
    Friday of next week (Monday to Sunday): on a Wednesday, not the Friday two days on."""
    if day in ("today", "tonight"):
        return today
    if day == "tomorrow":
        return today + timedelta(days=1)
    weekday = next(i for i, name in enumerate(_DAYS) if name.startswith(day[:3]))
    kind = (which or "").strip()
    if kind == "next":
        return today + timedelta(days=7 - today.weekday() + weekday)
    if kind in ("this", "coming"):
        return today + timedelta(days=(weekday - today.weekday()) % 7)
    return None


def _clock_phrase(
    text: str, zone_info: ZoneInfo, base: datetime, today: date | None = None
) -> datetime | None:
    """'18:00', '9am tomorrow', 'friday 14:00': the first such wall-clock time after `base`
    in the zone, computed here with zoneinfo rather than dateparser, which read a bare
    clock time relative to an already-shifted base east of UTC (Asia/Tokyo at 16:58:
    "18:00" came out as tomorrow). Day words (today, tomorrow, next friday) count from
    `today`, the typist's date, not from `base`: in "from tomorrow 9am to tomorrow 5pm" the
    end's tomorrow is the start's, not the day after it. A time that does not exist (a DST
    gap) moves forward."""
    text = _named_hours(text.lower())
    for pattern in _CLOCK_PHRASES:
        found = pattern.match(text)
        if found is not None:
            break
    else:
        return None
    parts = found.groupdict()
    clock = _hour_minute(found)
    if clock is None:
        return None
    hour, minute = clock
    local = base.astimezone(zone_info)
    day = parts.get("day")
    named = _date_of(parts.get("which"), day, today or local.date()) if day else None
    if named is not None:
        return _wall(named, hour, minute, zone_info)
    for offset in range(0, 8):
        on = (local + timedelta(days=offset)).date()
        if day and _DAYS[on.weekday()][:3] != day[:3]:
            continue
        moment = _wall(on, hour, minute, zone_info)
        if moment > base:
            return moment
    return None


def _wall(on: date, hour: int, minute: int, zone_info: ZoneInfo) -> datetime:
    wall = datetime(on.year, on.month, on.day, hour, minute, tzinfo=zone_info)
    return wall.astimezone(ZoneInfo("UTC")).astimezone(zone_info)  # a DST gap moves forward


# A day given without a time means that day, whatever the reader's zone: noon is the
# moment that stays on the same date from UTC-11 to UTC+11. Typed (`due:friday`) and picked
# in a form alike.
DUE_HOUR = time(12, 0)


def on_day(day: date, tz: str) -> datetime:
    return datetime.combine(day, DUE_HOUR, tzinfo=zone(tz))


def parse_moment(text: str, tz: str, base: datetime, today: date | None = None) -> datetime | None:
    """A clock or date phrase in `tz`: the first such moment after `base`; day words count
    from `today` (the typist's date; `base`'s unless given)."""
    text = " ".join(text.split())
    clock = _clock_phrase(text, zone(tz), base, today)
    if clock is not None:
        return clock
    day_only = _DAY_ONLY.match(text.lower())
    if day_only is not None and day_only["which"]:
        # dateparser reads "next friday" on a Wednesday as the Friday two days on.
        named = _date_of(day_only["which"], day_only["day"], today or base.astimezone(zone(tz)).date())
        if named is not None:
            return _wall(named, 0, 0, zone(tz))
    # Bare numbers are sizes, severities or typos, never times: dateparser would read
    # "5" as the 5th of some month.
    if not text or not re.search(r"[a-zA-Z:/\-]", text) or len(text) > 100:
        return None
    zone_info = zone(tz)
    on = today or base.astimezone(zone_info).date()
    # Dates read here, not by dateparser, which reads 04/12 month-first, "dec" as today's
    # day in December, "the 5th" as May, and moves a date already past to next year.
    if unclear_date(text, on) is not None:
        return None
    try:
        dated = _dated(text.lower(), zone_info, on)
    except TimeError:
        return None
    if dated is not None:
        return dated
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


def _moment_or_error(text: str, tz: str, base: datetime, today: date | None = None) -> datetime:
    if re.search(r"\bmidnight\b", text.lower()) and _DAY_WORD.search(text.lower()):
        # "friday midnight": as Friday begins, or as it ends? Each is read both ways.
        raise TimeError(f"“{text}” could be either end of that day: say 00:00 or 23:59 with the day.")
    why = unclear_date(text, today or base.astimezone(zone(tz)).date())
    if why is not None:
        raise TimeError(why)
    calendar_date(text, today or base.astimezone(zone(tz)).date())  # one not on the calendar: said
    moment = parse_moment(text, tz, base, today)
    if moment is None:
        raise TimeError(f"I couldn't read “{text}” as a time. Try 18:00, 9am tomorrow or friday 14:00.")
    if moment > base and not _TIME_OF_DAY.search(_named_hours(text.lower())):
        # A day alone, as either end of a span, is its first minute: "until friday" would end
        # as Friday begins, "from friday to sunday" lose Sunday. Asked, not guessed.
        raise TimeError(f"“{text}” is a day: say when on it, like `{text} 9am` or `{text} 18:00`.")
    return moment


def _split(text: str, *words: str) -> tuple[str, str] | None:
    for word in words:
        match = re.search(rf"\s+{word}\s+", f" {text} ")
        if match:
            padded = f" {text} "
            return padded[: match.start()].strip(), padded[match.end() :].strip()
    return None


# "9am-5pm", "18:00-22:00": a dash between two clock times is "to" (not inside a date).
_CLOCK_DASH = re.compile(r"(\d{1,2}(?::\d{2})?\s*(?:am|pm)|\d{1,2}:\d{2})\s*[-–]\s*(?=\d)")
_DAY_WORD = re.compile(rf"\b{_DAY}\b")


def parse_span(text: str, tz: str, now: datetime) -> TimeSpan:
    """Read 'for 2h', '90m', 'until 9am tomorrow', 'from 18:00 to 22:00', 'from 18:00 for 2h'."""
    original = " ".join(text.split())
    phrase = _CLOCK_DASH.sub(r"\1 to ", original.lower())
    if not phrase:
        raise TimeError("When? Say for example `for 2h`, `until 9am tomorrow` or `from 18:00 to 22:00`.")
    local_now = now.astimezone(zone(tz))
    today = local_now.date()
    why = unclear_date(phrase, today)
    if why is not None:
        raise TimeError(why)
    if phrase.startswith("for "):
        phrase = phrase[4:]
    duration = parse_duration(phrase)
    if duration is not None:
        return _checked(TimeSpan(start=local_now, end=after(local_now, duration)), local_now)
    if phrase.startswith("until ") or phrase.startswith("till "):
        end = _moment_or_error(phrase.split(" ", 1)[1], tz, local_now, today)
        return _checked(TimeSpan(start=local_now, end=end), local_now)
    if phrase.startswith("from "):
        phrase = phrase[5:]
    leading = re.match(r"^(?:on\s+)?(?P<lead>.+?)\s+from\s+(?P<rest>.+)$", phrase)
    if leading is not None and (
        _DAY_ONLY.match(leading["lead"]) or calendar_date(leading["lead"], today) is not None
    ):  # "tomorrow from 9am to 5pm", "on jan 5 from 9am to 5pm": the day is both ends'
        phrase = f"{leading['rest']} {leading['lead']}"
    parts = _split(phrase, "to", "until", "till", "-")
    if parts:
        return _checked(_from_to(*parts, tz=tz, now=local_now), local_now)
    parts = _split(phrase, "for")
    if parts:
        start = _moment_or_error(parts[0], tz, local_now, today)
        duration = parse_duration(parts[1])
        if duration is None:
            raise TimeError(f"I couldn't read “{parts[1]}” as a length of time. Try 2h or 90m.")
        return _checked(TimeSpan(start=start, end=after(start, duration)), local_now)
    raise TimeError(
        f"I couldn't read “{original}” as a time span. "
        "Try `for 2h`, `until 9am tomorrow` or `from 18:00 to 22:00`."
    )


def _from_to(first: str, second: str, *, tz: str, now: datetime) -> TimeSpan:
    """The next occurrence of the start, and the first end after it: "from 18:00 to 22:00"
    is four hours, in any zone, whichever side of midnight either falls. A day named only
    at the end is the start's too ("9am to 5pm tomorrow", "… on 2027-01-05"), unless that
    puts the start after the end ("22:00 to 02:00 tomorrow" begins tonight)."""
    today, base = now.date(), now - timedelta(minutes=1)
    if first.strip() == "now":
        return TimeSpan(start=now, end=_moment_or_error(second, tz, now, today))
    trailing = _CLOCK_THEN_DAY.match(second)
    starts, ends = _clock_time(first), _clock_time(trailing["clock"]) if trailing else None
    if trailing is not None and starts is not None and ends is not None:
        return _on_one_day(first, second, starts, ends, trailing["day"], zone(tz), base, today)
    start = _moment_or_error(first, tz, base, today)
    return TimeSpan(start=start, end=_moment_or_error(second, tz, start, today))


def _on_one_day(
    first: str,
    second: str,
    starts: tuple[int, int],
    ends: tuple[int, int],
    day: str,
    zone_info: ZoneInfo,
    base: datetime,
    today: date,
) -> TimeSpan:
    """ "9am to 5pm on 2027-01-05" (or tomorrow, friday, next friday, Jan 5): both clock
    times on the day named once at the end, the start the evening before where it is
    later than the end ("22:00 to 02:00 tomorrow" begins tonight). A weekday alone is the
    first one whose span begins from now; a day not read as one is refused, never left
    to the end alone."""
    if re.search(r"\bmidnight\b", f"{first} {second}"):
        raise TimeError(
            f"“{first} to {second}”: midnight could be either end of that day: say 00:00 or 23:59."
        )
    word = _DAY_ONLY.match(day)
    if word is not None:
        named = _date_of(word["which"], word["day"], today)
        days = (
            [named]
            if named is not None
            else [
                today + timedelta(days=n)
                for n in range(8)
                if _DAYS[(today + timedelta(days=n)).weekday()][:3] == word["day"][:3]
            ]
        )
    else:
        why = unclear_date(day, today)
        if why is not None:
            raise TimeError(why)
        on = calendar_date(day, today)
        if on is None:
            raise TimeError(
                f"I couldn't read “{day}” as a day. Try tomorrow, friday, next friday, Jan 5 or 2027-01-05."
            )
        days = [on]
    for on in days:
        end = _wall(on, *ends, zone_info)
        start = _wall(on, *starts, zone_info)
        if start >= end:
            start = _wall(on - timedelta(days=1), *starts, zone_info)
        if start > base or on == days[-1]:
            break
    return TimeSpan(start=start, end=end)


def _checked(span: TimeSpan, now: datetime) -> TimeSpan:
    tz = str(getattr(now.tzinfo, "key", "UTC"))
    understood = f"{describe(span.start, tz, now)} to {describe(span.end, tz, now)}"
    if span.end <= now:
        raise TimeError(f"I read that as {understood}, which is already over: pick a time in the future.")
    if span.end <= span.start:
        raise TimeError(f"I read that as {understood}: the end is before the start. Check the times.")
    if span.duration > MAX_SPAN:
        raise TimeError("That is longer than a year: pick a shorter span.")
    return span


def describe(moment: datetime, tz: str, now: datetime | None = None) -> str:
    """'Sun 22 Nov 18:00 CET': exact, in the reader's zone, unambiguous across midnight;
    with the year where it is not the one `now` is in, or far from `now` (a date in
    another year read without one is read as this year's)."""
    local = moment.astimezone(zone(tz))
    return local.strftime(f"{describe_day(moment, tz, now)} %H:%M ") + (local.tzname() or tz)


FAR = timedelta(days=180)


def describe_day(moment: datetime, tz: str, now: datetime | None = None) -> str:
    """'Sun 22 Nov', or 'Mon 03 Jan 2028' where the year is worth saying (see describe)."""
    local = moment.astimezone(zone(tz))
    far = now is not None and (local.year != now.astimezone(zone(tz)).year or abs(moment - now) > FAR)
    return local.strftime("%a %d %b %Y" if far else "%a %d %b")


def elapsed(start: datetime, end: datetime) -> timedelta:
    """Real time from `start` to `end`, whatever zones they carry (see TimeSpan.duration):
    what a duration label must count, so a span across a DST change is not an hour off."""
    return end.astimezone(UTC) - start.astimezone(UTC)


def describe_duration(delta: timedelta) -> str:
    """'1d 4h', '30m': of elapsed time (see TimeSpan.duration)."""
    seconds = int(delta.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return " ".join(parts) or f"{seconds}s"
