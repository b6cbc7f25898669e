"""Demand-response baselines (vpp.cases.baseline): the published rules, computed by hand on small profiles."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from vpp.cases.baseline import baseline_mw, candidate_days, mean_profile, top_days

EVENT = date(2026, 7, 15)  # a Wednesday


def weekday(d: date) -> bool:
    return d.weekday() < 5


def profile_of(d: date) -> np.ndarray:
    """A 4-step day whose level is its day of the month: easy means by hand."""
    return np.array([d.day, d.day + 1, 2.0 * d.day, 0.0])


def test_candidate_days_are_the_most_recent_normal_days_newest_first() -> None:
    # Working days before Wed 15 July 2026: Tue 14, Mon 13, Fri 10, Thu 9, Wed 8 (the weekend 11–12 skipped).
    assert candidate_days(EVENT, weekday, count=5) == [date(2026, 7, d) for d in (14, 13, 10, 9, 8)]
    # An event day on 13 July is not a normal day: the next one back (Tue 7) takes its place.
    normal = lambda d: weekday(d) and d != date(2026, 7, 13)  # noqa: E731
    assert candidate_days(EVENT, normal, count=5) == [date(2026, 7, d) for d in (14, 10, 9, 8, 7)]
    # Skipping the day before (Beijing: "2–12 days before").
    assert candidate_days(EVENT, weekday, count=2, skip_days=1) == [date(2026, 7, 13), date(2026, 7, 10)]
    # Too short a look back gives fewer days.
    assert candidate_days(EVENT, weekday, count=5, lookback_days=3) == [date(2026, 7, 14), date(2026, 7, 13)]
    with pytest.raises(ValueError, match="count: expected at least 1 day, got 0"):
        candidate_days(EVENT, weekday, count=0)


def test_recent_mean_is_the_mean_of_the_five_most_recent_working_days() -> None:
    base, days = baseline_mw(EVENT, profile_of, weekday, "recent_mean", count=5, window=slice(0, 2))
    assert days == [date(2026, 7, d) for d in (14, 13, 10, 9, 8)]
    mean_day = (14 + 13 + 10 + 9 + 8) / 5  # 10.8
    assert base == pytest.approx([mean_day, mean_day + 1, 2 * mean_day, 0.0])


def test_top_of_recent_averages_the_days_highest_in_the_window() -> None:
    # Ten working days from two days before Wed 15 July: 13, 10, 9, 8, 7, 6, 3, 2, 1 July and 30 June.
    # In the window (step 2, the value 2 × day) the highest five are 13, 10, 9, 8, 7 … except 30 June (60).
    base, days = baseline_mw(
        EVENT, profile_of, weekday, "top_of_recent", count=10, top=5, skip_days=1, window=slice(2, 3)
    )
    assert days == [date(2026, 7, 13), date(2026, 7, 10), date(2026, 7, 9), date(2026, 7, 8), date(2026, 6, 30)]
    mean_day = (13 + 10 + 9 + 8 + 30) / 5  # 14
    assert base == pytest.approx([mean_day, mean_day + 1, 2 * mean_day, 0.0])


def test_top_days_ties_go_to_the_more_recent_day() -> None:
    flat = {date(2026, 7, 1): np.array([5.0]), date(2026, 7, 2): np.array([5.0]), date(2026, 7, 3): np.array([1.0])}
    assert top_days(flat, slice(0, 1), 1) == [date(2026, 7, 2)]


def test_bad_rules_and_empty_histories_are_errors() -> None:
    with pytest.raises(ValueError, match="rule: expected one of \\['recent_mean', 'top_of_recent'\\], got 'median'"):
        baseline_mw(EVENT, profile_of, weekday, "median", count=5, window=slice(0, 1))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="top: expected at least 1 day for the top_of_recent rule, got None"):
        baseline_mw(EVENT, profile_of, weekday, "top_of_recent", count=5, window=slice(0, 1))
    with pytest.raises(ValueError, match="no normal day in the 60 days before 2026-07-15"):
        baseline_mw(EVENT, profile_of, lambda d: False, "recent_mean", count=5, window=slice(0, 1))
    with pytest.raises(ValueError, match="no days to average"):
        mean_profile([])


def test_a_baseline_never_reads_the_event_day_or_later() -> None:
    seen: list[date] = []

    def spy(d: date) -> np.ndarray:
        seen.append(d)
        return profile_of(d)

    baseline_mw(EVENT, spy, lambda d: True, "recent_mean", count=3, window=slice(0, 1))
    assert seen and max(seen) == EVENT - timedelta(days=1)
