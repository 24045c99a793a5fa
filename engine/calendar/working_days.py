"""Working-day arithmetic on the mainland-China calendar: statutory holidays and 调休.

The State Council's holidays and make-up working days (调休上班) are data published
yearly, so they come from the `chinesecalendar` package; an organisation's own days
(local closures, extra worked days, a year the package lacks) come as `Overrides`,
read from a YAML file by `parse_overrides` or loaded from the database by the engine.
A year with neither is computed on the statutory holidays the law fixes years ahead
(`statutory.py`: 元旦, 春节, 清明, 劳动节, 端午, 中秋, 国庆 and their 补假) and the weekday
rule otherwise; every deadline touching it is marked provisional, because the notice's
make-up working days are still unknown — never silently treated as an ordinary year.

Deadlines follow 民法典 arts. 201–203: the day of receipt is not counted, and a period
ends at 24:00 local time of its last day (returned as the next local midnight, in UTC).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from enum import StrEnum
from functools import cache
from os import PathLike
from pathlib import Path
from zoneinfo import ZoneInfo

import chinese_calendar
import yaml

from engine.calendar.statutory import statutory_holidays

ONE_DAY = timedelta(days=1)

_CHINESE_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日",
}


class DayKind(StrEnum):
    HOLIDAY = "holiday"  # off: not a working day
    WORKDAY = "workday"  # worked: a working day, e.g. a make-up Saturday


class DaySource(StrEnum):
    PACKAGE = "package"
    OVERRIDE = "override"
    STATUTE = "statute"  # 全国年节及纪念日放假办法, for a year without the yearly notice


@dataclass(frozen=True)
class DayOverride:
    """One organisation-specific day that is off (`holiday`) or worked (`workday`)."""

    day: date
    kind: DayKind
    name: str


@dataclass(frozen=True)
class Overrides:
    """An organisation's override days, and the years for which they are the full official data."""

    days: tuple[DayOverride, ...] = ()
    complete_years: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Deadline:
    """When a period ends (aware, UTC), and which years it had to guess on the weekday rule."""

    due: datetime
    provisional: bool = field(init=False)
    provisional_years: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "provisional", bool(self.provisional_years))


@dataclass(frozen=True)
class CalendarDay:
    """A day listed by `year_summary`: an official or organisation holiday or worked day."""

    day: date
    kind: DayKind
    name: str
    source: DaySource


@dataclass(frozen=True)
class YearSummary:
    """Everything the calendar knows about one year, for `planflow calendar show YEAR`."""

    year: int
    has_data: bool
    days: tuple[CalendarDay, ...]


@cache
def package_years() -> range:
    """Years for which the installed chinesecalendar holds the State Council's notices.

    Mirrors the package's own rule: it raises NotImplementedError outside min..max year.
    """
    years = {day.year for day in chinese_calendar.holidays}
    return range(min(years), max(years) + 1)


def _package_day(day: date) -> CalendarDay | None:
    """The package's entry for `day`, or None when the weekday rule applies."""
    if day.year not in package_years():
        return None
    if day in chinese_calendar.workdays:
        festival = chinese_calendar.workdays[day]
        name = f"{_CHINESE_NAMES.get(festival, festival)}调休上班"
        return CalendarDay(day, DayKind.WORKDAY, name, DaySource.PACKAGE)
    if day in chinese_calendar.holidays:
        festival = chinese_calendar.holidays[day]
        name = _CHINESE_NAMES.get(festival, festival)
        if day in chinese_calendar.in_lieu_days:
            name += "（调休）"
        return CalendarDay(day, DayKind.HOLIDAY, name, DaySource.PACKAGE)
    return None


class WorkingCalendar:
    """Working days and office hours: package data, with the organisation's overrides on top."""

    def __init__(
        self,
        overrides: Overrides = Overrides(),
        *,
        opens: time = time(9),
        closes: time = time(18),
        zone: str | ZoneInfo = "Asia/Shanghai",
    ) -> None:
        if not opens < closes:
            raise ValueError(f"office hours must open before they close, got {opens}–{closes}")
        self.opens, self.closes = opens, closes
        self.zone = ZoneInfo(zone) if isinstance(zone, str) else zone
        self.complete_years = frozenset(overrides.complete_years)
        self._overrides: dict[date, DayOverride] = {}
        for override in overrides.days:
            known = self._overrides.setdefault(override.day, override)
            if known.kind != override.kind:
                raise ValueError(f"{override.day} is overridden both as {known.kind} and {override.kind}")

    def has_data(self, year: int) -> bool:
        """True when the package or a `complete_year` override holds the official data for `year`."""
        return year in package_years() or year in self.complete_years

    def is_working_day(self, day: date) -> bool:
        """True when `day` (a local date) is a working day; statute and weekday rule for years without data."""
        if isinstance(day, datetime):
            day = self._local(day).date()
        if day in self._overrides:
            return self._overrides[day].kind is DayKind.WORKDAY
        official = _package_day(day)
        if official is not None:
            return official.kind is DayKind.WORKDAY
        if not self.has_data(day.year) and day in statutory_holidays(day.year):
            return False
        return day.weekday() < 5

    def add_working_days(self, start: datetime, n: int) -> Deadline:
        """End of the n-th working day after the day of `start`; that day itself is not counted."""
        _require_positive(n)
        day, missing = self._local(start).date(), set()
        counted = 0
        while counted < n:
            day += ONE_DAY
            counted += self._is_working(day, missing)
        return self._deadline(self._end_of(day), missing)

    def add_calendar_days(self, start: datetime, n: int) -> Deadline:
        """End of the n-th day after the day of `start`, moved to the next working day if off."""
        _require_positive(n)
        day, missing = self._local(start).date() + n * ONE_DAY, set()
        while not self._is_working(day, missing):
            day += ONE_DAY
        return self._deadline(self._end_of(day), missing)

    def add_working_hours(self, start: datetime, n: float) -> Deadline:
        """The moment when `n` office hours on working days have passed since `start`.

        Counting starts at the next opening when `start` is outside office hours; a
        period that fills a day exactly ends at closing time, not the next opening.
        """
        _require_positive(n)
        remaining, cursor = timedelta(hours=n), _to_utc(start)
        day, missing = self._local(start).date(), set()
        while True:
            if self._is_working(day, missing):
                begin = max(cursor, self._at(day, self.opens))
                closing = self._at(day, self.closes)
                if begin + remaining <= closing:
                    return self._deadline(begin + remaining, missing)
                remaining -= max(closing - begin, timedelta(0))
            day += ONE_DAY

    def year_summary(self, year: int) -> YearSummary:
        """Holidays and make-up working days of `year` with their names and sources."""
        listed: dict[date, CalendarDay] = {}
        if year in package_years():
            for day in (*chinese_calendar.holidays, *chinese_calendar.workdays):
                if day.year == year:
                    listed[day] = _package_day(day)
        elif not self.has_data(year):
            for day, name in statutory_holidays(year).items():
                listed[day] = CalendarDay(day, DayKind.HOLIDAY, name, DaySource.STATUTE)
        for day, override in self._overrides.items():
            if day.year == year:
                listed[day] = CalendarDay(day, override.kind, override.name, DaySource.OVERRIDE)
        days = tuple(sorted(listed.values(), key=lambda entry: entry.day))
        return YearSummary(year, self.has_data(year), days)

    def _is_working(self, day: date, missing: set[int]) -> bool:
        """`is_working_day`, noting the year in `missing` when it lacks data."""
        if not self.has_data(day.year):
            missing.add(day.year)
        return self.is_working_day(day)

    def _local(self, moment: datetime) -> datetime:
        return _to_utc(moment).astimezone(self.zone)

    def _at(self, day: date, clock: time) -> datetime:
        return datetime.combine(day, clock, tzinfo=self.zone).astimezone(timezone.utc)

    def _end_of(self, day: date) -> datetime:
        """24:00 local of `day`, i.e. the next local midnight, exclusive."""
        return self._at(day + ONE_DAY, time(0))

    @staticmethod
    def _deadline(due: datetime, missing: set[int]) -> Deadline:
        return Deadline(due=due, provisional_years=tuple(sorted(missing)))


def _to_utc(moment: datetime) -> datetime:
    """`moment` in UTC; naive datetimes are refused because their day is ambiguous."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"expected a timezone-aware datetime, got naive {moment.isoformat()}")
    return moment.astimezone(timezone.utc)


def _require_positive(n: float) -> None:
    if isinstance(n, bool) or not n > 0:
        raise ValueError(f"a period must be positive, got {n!r}")


# --- the overrides file ---------------------------------------------------------------

_DATE_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}")
_ENTRY_KEYS = {"date", "kind", "name"}
_KINDS = {kind.value for kind in DayKind}
_FILE_KEYS = {"complete_year", "days"}


class OverridesError(ValueError):
    """An overrides file that must be fixed; the message names every bad line."""


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that keeps dates as text and records each mapping's line number.

    Dates stay text so a bad one ("2026-02-30") is reported with its line instead of
    failing inside PyYAML; duplicate keys are refused instead of silently last-wins.
    """


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict:
    keys = [key.value for key, _ in node.value]
    repeated = sorted({key for key in keys if keys.count(key) > 1})
    if repeated:
        raise yaml.constructor.ConstructorError(
            None, None, f"key(s) {repeated} appear twice in one entry", node.start_mark
        )
    mapping = loader.construct_mapping(node, deep=True)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor("tag:yaml.org,2002:timestamp", _LineLoader.construct_scalar)


def parse_overrides(source: str | PathLike) -> Overrides:
    """Read an overrides YAML document (str) or file (path), refusing anything doubtful.

    All problems are collected so a clerk fixes the file in one pass.
    """
    label = "overrides"
    if isinstance(source, PathLike):
        label, source = Path(source).name, Path(source).read_text(encoding="utf-8")
    try:
        document = yaml.load(source, Loader=_LineLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        syntax = "" if isinstance(error, yaml.constructor.ConstructorError) else "not valid YAML: "
        raise OverridesError(f"{label} line {mark.line + 1}: {syntax}{error.problem}") from None
    except yaml.YAMLError as error:
        raise OverridesError(f"{label}: not valid YAML: {error}") from None
    if document is None:
        return Overrides()
    if not isinstance(document, dict):
        raise OverridesError(
            f"{label}: expected the keys 'complete_year:' and 'days:' at the top"
            " (to read a file, pass a pathlib.Path, not a str)"
        )
    problems: list[str] = []
    unknown = set(document) - _FILE_KEYS - {"__line__"}
    if unknown:
        problems.append(f"unknown top-level key(s) {sorted(unknown)}; expected {sorted(_FILE_KEYS)}")
    complete_years = _complete_years(document.get("complete_year"), problems)
    days = _days(document.get("days"), problems)
    if problems:
        raise OverridesError(f"{label}: {len(problems)} problem(s)\n  " + "\n  ".join(problems))
    return Overrides(days=days, complete_years=complete_years)


def _complete_years(raw: object, problems: list[str]) -> frozenset[int]:
    values = [] if raw is None else raw if isinstance(raw, list) else [raw]
    good = [v for v in values if isinstance(v, int) and not isinstance(v, bool) and 1949 <= v <= 2200]
    if len(good) != len(values):
        problems.append(f"complete_year must be a year or a list of years, got {raw!r}")
    return frozenset(good)


def _days(raw: object, problems: list[str]) -> tuple[DayOverride, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        problems.append("'days:' must be a list of entries, each starting with '- date:'")
        return ()
    seen: dict[date, tuple[DayOverride, int]] = {}
    for number, entry in enumerate(raw, start=1):
        override, line = _day(number, entry, problems)
        if override is None:
            continue
        if override.day not in seen:
            seen[override.day] = (override, line)
        elif seen[override.day][0].kind != override.kind:
            first, first_line = seen[override.day]
            problems.append(
                f"line {line}: {override.day} is listed as {override.kind} here"
                f" but as {first.kind} on line {first_line}"
            )
    return tuple(override for override, _ in seen.values())


def _day(number: int, entry: object, problems: list[str]) -> tuple[DayOverride | None, int | None]:
    """One `days:` entry as a DayOverride, or None after recording its problems."""
    if not isinstance(entry, dict):
        problems.append(f"entry {number} under 'days:' needs date, kind and name; got {entry!r}")
        return None, None
    line = entry.pop("__line__")
    where = f"line {line}"
    count = len(problems)
    unknown = set(entry) - _ENTRY_KEYS
    if unknown:
        problems.append(f"{where}: unknown key(s) {sorted(map(str, unknown))}; expected date, kind, name")
    text = entry.get("date")
    day = None
    if not (isinstance(text, str) and _DATE_TEXT.fullmatch(text)):
        problems.append(f"{where}: date {text!r} must be written YYYY-MM-DD")
    else:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            problems.append(f"{where}: date {text} does not exist")
    kind = entry.get("kind")
    if not (isinstance(kind, str) and kind in _KINDS):
        problems.append(f"{where}: kind {kind!r} is unknown; use 'holiday' (off) or 'workday' (worked)")
    name = entry.get("name")
    if not (isinstance(name, str) and name.strip()):
        problems.append(f"{where}: name is missing or not text (quote it if it is a number)")
    if len(problems) > count:
        return None, line
    return DayOverride(day, DayKind(kind), name.strip()), line
