"""Working days and deadlines (pure domain)."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lapor.domain.calendar import WorkingCalendar

WITA = ZoneInfo("Asia/Makassar")
WIB = ZoneInfo("Asia/Jakarta")
WIT = ZoneInfo("Asia/Jayapura")
calendar = WorkingCalendar()
days = st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31))


def test_weekends_public_holidays_and_cuti_bersama_are_not_working_days():
    assert not calendar.is_working_day(date(2026, 11, 28))  # Saturday
    assert not calendar.is_working_day(date(2026, 11, 29))  # Sunday
    assert not calendar.is_working_day(date(2026, 8, 17))   # Independence Day (Monday)
    assert not calendar.is_working_day(date(2026, 12, 24))  # cuti bersama Natal (Thursday)
    assert not calendar.is_working_day(date(2026, 3, 23))   # cuti bersama Idul Fitri (Monday)
    assert calendar.is_working_day(date(2026, 12, 23))      # an ordinary Wednesday


def test_the_submission_day_never_counts_and_the_deadline_skips_holidays():
    # Wed 23 Dec 2026 + 1: Thu 24 cuti bersama, Fri 25 Christmas, weekend → Mon 28 Dec.
    assert calendar.add_working_days(date(2026, 12, 23), 1) == date(2026, 12, 28)
    # 30 working days from Sun 29 Nov 2026 (Christmas and its cuti bersama skipped): Thu 14 Jan 2027.
    assert calendar.add_working_days(date(2026, 11, 29), 30) == date(2027, 1, 14)


def test_due_at_is_end_of_the_local_day_in_the_regions_time_zone():
    # 23:30 UTC on Tuesday 1 Dec is already Wednesday 2 Dec in Samarinda (WITA, UTC+8).
    submitted = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)
    due = calendar.due_at(submitted, WITA, 1)
    assert due.isoformat() == "2026-12-03T23:59:59+08:00"
    # The same instant is 06:30 Wednesday WIB: also due the 3rd, at WIB's offset.
    assert calendar.due_at(submitted, WIB, 1).isoformat() == "2026-12-03T23:59:59+07:00"
    # Around midnight the zones disagree on the submission day:
    early = datetime(2026, 12, 1, 16, 30, tzinfo=UTC)  # 23:30 WIB Tue, 00:30 WITA Wed, 01:30 WIT Wed
    assert calendar.due_at(early, WIB, 1).date() == date(2026, 12, 2)
    assert calendar.due_at(early, WITA, 1).date() == date(2026, 12, 3)
    assert calendar.due_at(early, WIT, 1).date() == date(2026, 12, 3)


def test_operator_overrides_change_single_dates():
    extra_off = WorkingCalendar(extra_non_working=[date(2026, 12, 28)], extra_working=[date(2026, 12, 24)])
    assert extra_off.add_working_days(date(2026, 12, 23), 1) == date(2026, 12, 24)
    assert extra_off.add_working_days(date(2026, 12, 23), 2) == date(2026, 12, 29)
    with pytest.raises(ValueError):
        WorkingCalendar(extra_non_working=[date(2027, 1, 4)], extra_working=[date(2027, 1, 4)])


def test_naive_datetimes_and_non_positive_counts_are_refused():
    with pytest.raises(ValueError):
        calendar.due_at(datetime(2026, 12, 1, 10, 0), WITA, 30)
    with pytest.raises(ValueError):
        calendar.add_working_days(date(2026, 12, 1), 0)


@settings(max_examples=200, deadline=None)
@given(start=days, n=st.integers(min_value=1, max_value=60))
def test_the_due_day_is_a_working_day_exactly_n_working_days_later(start, n):
    due = calendar.add_working_days(start, n)
    assert calendar.is_working_day(due)
    assert calendar.working_days_between(start, due) == n
    # No earlier day would do: the day before holds one working day fewer.
    assert calendar.working_days_between(start, due - timedelta(days=1)) == n - 1


@settings(max_examples=200, deadline=None)
@given(first=days, gap=st.integers(min_value=0, max_value=400), n=st.integers(min_value=1, max_value=40))
def test_a_later_submission_is_never_due_earlier(first, gap, n):
    later = first + timedelta(days=gap)
    assert calendar.add_working_days(later, n) >= calendar.add_working_days(first, n)


@settings(max_examples=100, deadline=None)
@given(moment=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)),
       zone=st.sampled_from([WIB, WITA, WIT]))
def test_due_at_is_always_235959_local_and_after_submission(moment, zone):
    due = calendar.due_at(moment, zone, 30)
    assert (due.hour, due.minute, due.second) == (23, 59, 59)
    assert due.utcoffset() == moment.astimezone(zone).utcoffset()
    assert due > moment
