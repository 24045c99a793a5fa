"""Times shown to people: the organisation's zone, a day's end as 24:00, never UTC."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from engine.calendar.local_time import due_time, local_time
from engine.config import Settings


def settings(zone: str) -> Settings:
    return Settings.from_env({"PLANFLOW_TIMEZONE": zone})


@pytest.mark.parametrize("moment", [datetime(2026, 9, 30, 16, 0, tzinfo=timezone.utc), "2026-09-30T16:00:00+00:00"])
def test_a_utc_moment_is_shown_in_shanghai_time(moment):
    assert local_time(moment, settings("Asia/Shanghai")) == "2026-10-01 00:00"


def test_a_deadline_at_local_midnight_reads_as_the_end_of_the_previous_day():
    assert due_time("2026-09-30T16:00:00+00:00", settings("Asia/Shanghai")) == "2026-09-30 24:00"
    assert due_time("2026-09-30T16:00:00+00:00", settings("Europe/Berlin")) == "2026-09-30 18:00"


def test_no_time_shows_as_nothing():
    assert local_time(None) == "" and due_time(None) == ""


def test_a_naive_time_and_an_unknown_zone_are_refused_with_a_reason():
    with pytest.raises(ValueError, match="naive"):
        local_time(datetime(2026, 3, 2, 9, 0))
    with pytest.raises(ValueError, match="PLANFLOW_TIMEZONE='Mars/Base'"):
        local_time("2026-03-02T01:00:00+00:00", settings("Mars/Base"))
