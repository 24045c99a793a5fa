"""Working days on the mainland-China calendar, checked against the State Council notices.

Sources: 国务院办公厅关于2025年部分节假日安排的通知 (国庆节、中秋节: 10月1日至8日放假调休,
9月28日(周日)、10月11日(周六)上班) and 关于2026年部分节假日安排的通知 of 2025-11-04
(春节: 2月15日至23日放假调休, 2月14日(周六)、2月28日(周六)上班).
Shanghai is UTC+8 all year, so the end of a local day D is D 16:00 UTC.
"""

import re
from datetime import date, datetime, time, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from engine.calendar.working_days import (
    DayKind,
    DayOverride,
    DaySource,
    Deadline,
    Overrides,
    OverridesError,
    WorkingCalendar,
    package_years,
    parse_overrides,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
EXAMPLE_FILE = Path(__file__).parents[2] / "calendars" / "cn_overrides.yaml"


def shanghai(year, month, day, hour=0, minute=0):
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def utc(year, month, day, hour=0, minute=0):
    return datetime(year, month, day, hour, minute, tzinfo=timezone.utc)


@pytest.fixture
def calendar():
    return WorkingCalendar()


# --- official data ----------------------------------------------------------------------


@pytest.mark.parametrize("day", [date(2025, 10, d) for d in range(1, 9)])
def test_2025_national_day_and_mid_autumn_block_is_off(calendar, day):
    assert not calendar.is_working_day(day)


@pytest.mark.parametrize("day", [date(2025, 9, 28), date(2025, 10, 11)])
def test_2025_national_day_make_up_sunday_and_saturday_are_worked(calendar, day):
    assert calendar.is_working_day(day)


@pytest.mark.parametrize("day", [date(2026, 2, d) for d in range(15, 24)])
def test_2026_spring_festival_block_is_off(calendar, day):
    assert not calendar.is_working_day(day)


@pytest.mark.parametrize("day", [date(2026, 2, 14), date(2026, 2, 28)])
def test_2026_spring_festival_make_up_saturdays_are_worked(calendar, day):
    assert calendar.is_working_day(day)


def test_package_covers_2024_to_2026_and_not_2027(calendar):
    assert {2024, 2025, 2026} <= set(package_years())
    assert calendar.has_data(2026)
    assert not calendar.has_data(2027)


def test_is_working_day_reads_a_datetime_as_its_shanghai_day(calendar):
    """2025-09-27 16:30 UTC is Sun Sep 28 00:30 in Shanghai, a 调休上班 day."""
    assert calendar.is_working_day(utc(2025, 9, 27, 16, 30))
    assert not calendar.is_working_day(utc(2025, 9, 27, 15, 30))


def test_ordinary_weekend_is_off_and_weekday_is_worked(calendar):
    assert not calendar.is_working_day(date(2025, 9, 27))  # Saturday, no 调休
    assert calendar.is_working_day(date(2025, 9, 26))  # Friday


# --- working days -----------------------------------------------------------------------


def test_complaint_on_friday_evening_before_national_day_is_due_end_of_tuesday(calendar):
    """Received Fri 2025-09-26 20:00, 3 working days.

    Fri 26 is the day of receipt: not counted. Sat 27 is an ordinary Saturday: off.
    Sun 28 is 调休上班: day 1. Mon 29: day 2. Tue 30: day 3. Due at the end of Tue 30,
    i.e. Wed 2025-10-01 00:00 Shanghai = 2025-09-30 16:00 UTC — before the holiday.
    """
    deadline = calendar.add_working_days(shanghai(2025, 9, 26, 20), 3)
    assert deadline == Deadline(due=utc(2025, 9, 30, 16))
    assert not deadline.provisional


def test_five_working_days_from_that_friday_jump_the_holiday_block(calendar):
    """Days 1–3 are Sep 28–30 as above; Oct 1–8 are off; Thu Oct 9 is day 4, Fri Oct 10 day 5."""
    assert calendar.add_working_days(shanghai(2025, 9, 26, 20), 5).due == utc(2025, 10, 10, 16)


def test_sixth_working_day_from_that_friday_is_the_make_up_saturday(calendar):
    """Day 6 is Sat Oct 11, a 调休上班 day."""
    assert calendar.add_working_days(shanghai(2025, 9, 26, 20), 6).due == utc(2025, 10, 11, 16)


def test_complaint_before_2026_spring_festival_counts_both_make_up_saturdays(calendar):
    """Received Fri 2026-02-13 10:00, 3 working days.

    Sat Feb 14 is worked: day 1. Feb 15–23 are off. Tue Feb 24: day 2. Wed Feb 25: day 3.
    """
    assert calendar.add_working_days(shanghai(2026, 2, 13, 10), 3).due == utc(2026, 2, 25, 16)


def test_day_of_receipt_is_the_shanghai_day_even_when_given_in_utc(calendar):
    """2025-09-27 15:30 UTC is Sat 23:30 Shanghai: counting starts Sun 28 (Sep 28, 29, 30).

    2025-09-27 16:30 UTC is already Sun 28 00:30 Shanghai: Sun 28 is the day of receipt, so
    Mon 29 and Tue 30 are days 1–2 and, after Oct 1–8, Thu Oct 9 is day 3.
    """
    assert calendar.add_working_days(utc(2025, 9, 27, 15, 30), 3).due == utc(2025, 9, 30, 16)
    assert calendar.add_working_days(utc(2025, 9, 27, 16, 30), 3).due == utc(2025, 10, 9, 16)


def test_due_is_returned_in_utc(calendar):
    assert calendar.add_working_days(shanghai(2025, 9, 26, 20), 1).due.tzinfo is timezone.utc


# --- working hours ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "hours", "due", "why"),
    [
        (shanghai(2025, 9, 23, 16), 4, utc(2025, 9, 24, 3), "Tue 16–18, then Wed 09–11"),
        (shanghai(2025, 9, 19, 17), 3, utc(2025, 9, 22, 3), "Fri 17–18, weekend off, Mon 09–11"),
        (shanghai(2025, 10, 10, 17), 3, utc(2025, 10, 11, 3), "Fri 17–18, make-up Sat Oct 11 09–11"),
        (shanghai(2025, 9, 26, 17), 3, utc(2025, 9, 28, 3), "Fri 17–18, Sat off, make-up Sun 09–11"),
        (shanghai(2025, 9, 30, 17), 2, utc(2025, 10, 9, 2), "Tue 17–18, Oct 1–8 off, Thu 09–10"),
        (shanghai(2025, 9, 22, 7), 1, utc(2025, 9, 22, 2), "before opening: counts from 09:00"),
        (shanghai(2025, 9, 22, 21), 1, utc(2025, 9, 23, 2), "after closing: counts from next 09:00"),
        (shanghai(2025, 9, 22, 9), 9, utc(2025, 9, 22, 10), "a full day ends at 18:00, not next 09:00"),
        (shanghai(2025, 9, 22, 9), 0.5, utc(2025, 9, 22, 1, 30), "half an hour"),
    ],
)
def test_working_hours_count_only_office_hours_on_working_days(calendar, start, hours, due, why):
    assert calendar.add_working_hours(start, hours).due == due, why


def test_office_hours_are_configurable():
    """08:30–17:00: Mon 16:00 + 2h = Mon 16–17, then Tue 08:30–09:30."""
    calendar = WorkingCalendar(opens=time(8, 30), closes=time(17))
    assert calendar.add_working_hours(shanghai(2025, 9, 22, 16), 2).due == utc(2025, 9, 23, 1, 30)


# --- calendar days ----------------------------------------------------------------------


def test_calendar_days_ending_on_a_holiday_move_to_the_next_working_day(calendar):
    """Fri 2025-09-26 + 5 days = Wed Oct 1, a holiday; Oct 1–8 are off, so the end of Thu Oct 9."""
    assert calendar.add_calendar_days(shanghai(2025, 9, 26, 20), 5).due == utc(2025, 10, 9, 16)


def test_calendar_days_ending_on_a_weekend_move_to_monday(calendar):
    """Mon 2025-09-15 + 5 days = Sat Sep 20, off, so the end of Mon Sep 22."""
    assert calendar.add_calendar_days(shanghai(2025, 9, 15, 10), 5).due == utc(2025, 9, 22, 16)


def test_calendar_days_ending_on_a_make_up_sunday_stay_there(calendar):
    """Sun 2025-09-21 + 7 days = Sun Sep 28, a 调休上班 day, so it ends there."""
    assert calendar.add_calendar_days(shanghai(2025, 9, 21, 10), 7).due == utc(2025, 9, 28, 16)


# --- years without data -----------------------------------------------------------------

NEW_YEAR_2027 = """
complete_year: 2027
days:
  - date: 2027-01-01
    kind: holiday
    name: 元旦
"""


def test_deadline_crossing_into_a_year_without_data_is_provisional_and_names_the_year(calendar):
    """Wed 2026-12-30 + 3 working days: Thu Dec 31 (2026 data) is day 1; with no 2027 notice
    Fri 2027-01-01 is still off by statute (元旦), so Mon Jan 4 is day 2 and Tue Jan 5 day 3."""
    deadline = calendar.add_working_days(shanghai(2026, 12, 30, 10), 3)
    assert deadline.due == utc(2027, 1, 5, 16)
    assert deadline.provisional
    assert deadline.provisional_years == (2027,)


def test_complete_year_override_makes_that_year_official():
    """Test data for 2027 holding only the statutory New Year's Day (全国年节及纪念日放假办法
    art. 2: 元旦放假1天); stands in for the 2027 notice, which no source here has.
    Dec 31 is day 1, Jan 1 is off, Mon Jan 4 is day 2, Tue Jan 5 day 3."""
    calendar = WorkingCalendar(parse_overrides(NEW_YEAR_2027))
    deadline = calendar.add_working_days(shanghai(2026, 12, 30, 10), 3)
    assert deadline == Deadline(due=utc(2027, 1, 5, 16))
    assert calendar.has_data(2027)


def test_overrides_without_complete_year_apply_but_stay_provisional():
    """A local closure on Mon 2027-01-04 on top of the statute: Dec 31 (1), Jan 1 off (元旦),
    Jan 4 closed, Tue Jan 5 (2), Wed Jan 6 (3)."""
    closure = DayOverride(date(2027, 1, 4), DayKind.HOLIDAY, "年终盘点停业")
    calendar = WorkingCalendar(Overrides(days=(closure,)))
    deadline = calendar.add_working_days(shanghai(2026, 12, 30, 10), 3)
    assert deadline.due == utc(2027, 1, 6, 16)
    assert deadline.provisional_years == (2027,)


def test_calendar_days_landing_in_a_year_without_data_are_provisional(calendar):
    """Sun 2026-12-20 + 12 days = Fri 2027-01-01, off by statute (元旦): moved past the weekend to Mon Jan 4."""
    deadline = calendar.add_calendar_days(shanghai(2026, 12, 20, 10), 12)
    assert (deadline.due, deadline.provisional_years) == (utc(2027, 1, 4, 16), (2027,))


def test_working_hours_in_a_year_without_data_are_provisional(calendar):
    """Thu 2026-12-31 17:00 + 2 office hours: 1 h that day, Jan 1 off by statute, 1 h on Mon Jan 4."""
    deadline = calendar.add_working_hours(shanghai(2026, 12, 31, 17), 2)
    assert (deadline.due, deadline.provisional_years) == (utc(2027, 1, 4, 2), (2027,))


# --- statutory holidays in a year without the notice (全国年节及纪念日放假办法, 2024) -------


def test_2027_deadline_across_spring_festival_skips_the_statutory_days_and_stays_provisional(calendar):
    """Wed 2027-02-03 + 3 working days. 除夕 is Fri Feb 5, 初一–初三 Sat 6–Mon 8; 初一 and 初二
    fall on the weekend and are made up (补假, art. 6) on Tue 9 and Wed 10. Thu Feb 4 (1),
    Thu Feb 11 (2), Fri Feb 12 (3); still provisional: the notice's 调休 are unknown."""
    deadline = calendar.add_working_days(shanghai(2027, 2, 3, 10), 3)
    assert deadline.due == utc(2027, 2, 12, 16)
    assert deadline.provisional_years == (2027,)
    assert [calendar.is_working_day(date(2027, 2, d)) for d in range(4, 12)] == [
        True, False, False, False, False, False, False, True]


@pytest.mark.parametrize("day, name", [
    (date(2027, 1, 1), "元旦"), (date(2027, 2, 5), "春节"), (date(2027, 2, 8), "春节"),
    (date(2027, 2, 9), "春节（补假）"), (date(2027, 4, 5), "清明节"), (date(2027, 5, 1), "劳动节"),
    (date(2027, 5, 2), "劳动节"), (date(2027, 5, 3), "劳动节（补假）"), (date(2027, 6, 9), "端午节"),
    (date(2027, 9, 15), "中秋节"), (date(2027, 10, 3), "国庆节"), (date(2027, 10, 5), "国庆节（补假）"),
])
def test_2027_statutory_holidays_are_known_before_the_notice(calendar, day, name):
    listed = {entry.day: entry for entry in calendar.year_summary(2027).days}
    assert not calendar.is_working_day(day)
    assert (listed[day].kind, listed[day].name, listed[day].source) == (DayKind.HOLIDAY, name, DaySource.STATUTE)


@pytest.mark.parametrize("year", [2025, 2026])
def test_every_statutory_day_and_make_up_day_is_off_in_the_published_notices(year):
    """The rule checked against the notices it must agree with (package data for 2025 and 2026)."""
    import chinese_calendar

    from engine.calendar.statutory import statutory_holidays

    days = statutory_holidays(year)
    assert len([d for d, name in days.items() if "补假" not in name]) == 13
    assert [d for d in days if d not in chinese_calendar.holidays] == []


def test_a_complete_year_file_replaces_the_statutory_guess():
    """With the organisation's full 2027 data loaded, only its days count: Feb 9 is then worked."""
    calendar = WorkingCalendar(parse_overrides(NEW_YEAR_2027))
    assert calendar.is_working_day(date(2027, 2, 9)) and not calendar.is_working_day(date(2027, 1, 1))


def test_deadline_inside_a_covered_year_is_not_provisional(calendar):
    assert not calendar.add_working_days(shanghai(2026, 12, 28, 10), 3).provisional


# --- organisation overrides -------------------------------------------------------------


def test_local_closure_overrides_a_package_working_day():
    """Closure on Mon 2025-09-29: from Fri 26 evening, Sun 28 is day 1, Tue 30 day 2, Oct 9 day 3."""
    closure = DayOverride(date(2025, 9, 29), DayKind.HOLIDAY, "台风停工")
    calendar = WorkingCalendar(Overrides(days=(closure,)))
    assert calendar.add_working_days(shanghai(2025, 9, 26, 20), 3).due == utc(2025, 10, 9, 16)


def test_worked_saturday_override_counts_as_a_working_day():
    """Sat 2025-09-27 worked: from Fri 26 evening, days 1–3 are Sep 27, 28, 29."""
    worked = DayOverride(date(2025, 9, 27), DayKind.WORKDAY, "年度检查，周六上班")
    calendar = WorkingCalendar(Overrides(days=(worked,)))
    assert calendar.add_working_days(shanghai(2025, 9, 26, 20), 3).due == utc(2025, 9, 29, 16)


def test_conflicting_overrides_passed_in_are_refused():
    day = date(2025, 9, 29)
    conflicting = (DayOverride(day, DayKind.HOLIDAY, "a"), DayOverride(day, DayKind.WORKDAY, "b"))
    with pytest.raises(ValueError, match="2025-09-29"):
        WorkingCalendar(Overrides(days=conflicting))


def test_year_summary_lists_official_and_organisation_days_with_sources():
    closure = DayOverride(date(2025, 9, 29), DayKind.HOLIDAY, "台风停工")
    summary = WorkingCalendar(Overrides(days=(closure,))).year_summary(2025)
    listed = {entry.day: (entry.kind, entry.name, entry.source) for entry in summary.days}
    assert summary.has_data
    assert listed[date(2025, 9, 28)] == (DayKind.WORKDAY, "国庆节调休上班", DaySource.PACKAGE)
    assert listed[date(2025, 10, 6)] == (DayKind.HOLIDAY, "中秋节", DaySource.PACKAGE)
    assert listed[date(2025, 10, 8)] == (DayKind.HOLIDAY, "国庆节（调休）", DaySource.PACKAGE)
    assert listed[date(2025, 9, 29)] == (DayKind.HOLIDAY, "台风停工", DaySource.OVERRIDE)
    assert [entry.day for entry in summary.days] == sorted(listed)


def test_year_summary_of_a_year_without_data_says_so_and_lists_the_statute(calendar):
    summary = calendar.year_summary(2027)
    assert not summary.has_data
    assert {entry.source for entry in summary.days} == {DaySource.STATUTE}


# --- the overrides file -----------------------------------------------------------------


def test_shipped_overrides_file_is_valid_and_changes_nothing():
    assert parse_overrides(EXAMPLE_FILE) == Overrides()


def test_shipped_examples_are_valid_once_uncommented():
    text = re.sub(r"^#(  )", r"\1", EXAMPLE_FILE.read_text(encoding="utf-8"), flags=re.M)
    kinds = {override.kind for override in parse_overrides(text).days}
    assert kinds == {DayKind.HOLIDAY, DayKind.WORKDAY}


def test_overrides_file_reads_dates_kinds_names_and_complete_years():
    overrides = parse_overrides(NEW_YEAR_2027)
    assert overrides == Overrides(
        days=(DayOverride(date(2027, 1, 1), DayKind.HOLIDAY, "元旦"),), complete_years=frozenset({2027})
    )


def _problems(text):
    with pytest.raises(OverridesError) as error:
        parse_overrides(text)
    return str(error.value)


def test_impossible_date_is_reported_with_its_line():
    message = _problems("days:\n  - date: 2026-02-30\n    kind: holiday\n    name: x\n")
    assert "line 2: date 2026-02-30 does not exist" in message


def test_badly_written_date_is_reported_with_its_line():
    message = _problems("days:\n  - date: 2026/07/28\n    kind: holiday\n    name: x\n")
    assert "line 2: date '2026/07/28' must be written YYYY-MM-DD" in message


def test_unknown_kind_is_reported_with_its_line_and_value():
    message = _problems("days:\n  - date: 2026-07-28\n    kind: holliday\n    name: x\n")
    assert "line 2: kind 'holliday' is unknown" in message


def test_conflicting_duplicate_date_names_both_lines():
    text = """days:
  - date: 2026-07-28
    kind: holiday
    name: 台风停工
  - date: 2026-07-28
    kind: workday
    name: 补班
"""
    assert "line 5: 2026-07-28 is listed as workday here but as holiday on line 2" in _problems(text)


def test_same_date_listed_twice_with_the_same_kind_is_kept_once():
    entry = "  - date: 2026-07-28\n    kind: holiday\n    name: 台风停工\n"
    assert len(parse_overrides("days:\n" + entry + entry).days) == 1


def test_every_problem_is_reported_at_once():
    text = "days:\n  - date: 2026-13-01\n    kind: off\n    name: x\n  - date: 2026-07-28\n    kind: holiday\n"
    message = _problems(text)
    assert "3 problem(s)" in message
    assert "line 2: date 2026-13-01 does not exist" in message
    assert "line 2: kind False is unknown" in message  # YAML reads a bare `off` as false
    assert "line 5: name is missing" in message


def test_unknown_and_repeated_keys_are_refused():
    assert "line 2: unknown key(s) ['knd']" in _problems(
        "days:\n  - date: 2026-07-28\n    knd: holiday\n    name: x\n"
    )
    repeated = _problems("days:\n  - date: 2026-07-28\n    kind: holiday\n    kind: workday\n")
    assert repeated == "overrides line 2: key(s) ['kind'] appear twice in one entry"
    assert "unknown top-level key(s) ['dayz']" in _problems("dayz: []\n")


def test_yaml_syntax_error_names_the_file_and_line(tmp_path):
    path = tmp_path / "cn_overrides.yaml"
    path.write_text("days:\n  - date: 2026-07-28\n   kind: holiday\n", encoding="utf-8")
    assert _problems(path).startswith("cn_overrides.yaml line 3: not valid YAML")


def test_bad_complete_year_is_refused():
    assert "complete_year must be a year" in _problems("complete_year: next year\n")


# --- arguments --------------------------------------------------------------------------


def test_naive_datetimes_are_refused(calendar):
    with pytest.raises(ValueError, match="timezone-aware"):
        calendar.add_working_days(datetime(2025, 9, 26, 20), 3)


@pytest.mark.parametrize("n", [0, -1])
def test_periods_must_be_positive(calendar, n):
    with pytest.raises(ValueError, match="positive"):
        calendar.add_working_hours(shanghai(2025, 9, 26, 20), n)
