"""Demand-response baselines from metered history: which past days count, and their mean.

A baseline is what the district would have drawn without the event; grid
companies compute it from the metered net import of recent comparable days,
never from a counterfactual of the user's own making ([pub] provincial DR
rules, ``shared/data/teda-east/facts.md``). Two published rules:

``recent_mean`` (Jiangsu)
    the mean, step by step, of the ``count`` most recent normal days before the
    event (event days and holidays excluded);
``top_of_recent`` (Beijing)
    of the ``count`` most recent normal days from ``skip_days + 1`` days before
    the event, the ``top`` with the highest mean net import over the event's
    window, averaged step by step.

Which days are "normal" is the caller's (:func:`baseline_mw` takes a
predicate): for the teda-east template, days of the event day's kind (working
or not) that are not on the demand-response calendar.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, timedelta
from typing import Literal

import numpy as np

BaselineRule = Literal["recent_mean", "top_of_recent"]
RULES: tuple[str, ...] = ("recent_mean", "top_of_recent")


def candidate_days(
    day: date,
    is_normal: Callable[[date], bool],
    *,
    count: int,
    skip_days: int = 0,
    lookback_days: int = 60,
) -> list[date]:
    """The ``count`` most recent days before ``day`` for which ``is_normal`` holds, newest first.

    The search starts ``skip_days + 1`` days before ``day`` and looks back at
    most ``lookback_days`` days; fewer days are returned when it runs out.
    """
    if count < 1:
        raise ValueError(f"count: expected at least 1 day, got {count}")
    out: list[date] = []
    for k in range(skip_days + 1, skip_days + 1 + lookback_days):
        d = day - timedelta(days=k)
        if is_normal(d):
            out.append(d)
            if len(out) == count:
                break
    return out


def top_days(profiles: Mapping[date, np.ndarray], window: slice, top: int) -> list[date]:
    """The ``top`` days whose mean over ``window`` (steps) is highest; ties go to the more recent day."""
    ranked = sorted(profiles, key=lambda d: (float(np.mean(profiles[d][window])), d), reverse=True)
    return ranked[:top]


def mean_profile(profiles: Sequence[np.ndarray]) -> np.ndarray:
    """The step-by-step mean of equally long profiles [MW]."""
    if not profiles:
        raise ValueError("no days to average: the baseline needs at least one past day")
    return np.mean(np.vstack([np.asarray(p, dtype=float) for p in profiles]), axis=0)


def baseline_mw(
    day: date,
    profile_of: Callable[[date], np.ndarray],
    is_normal: Callable[[date], bool],
    rule: BaselineRule,
    *,
    count: int,
    window: slice,
    top: int | None = None,
    skip_days: int = 0,
    lookback_days: int = 60,
) -> tuple[np.ndarray, list[date]]:
    """The baseline of an event on ``day`` [MW per step] and the days it was computed from (newest first).

    ``profile_of(d)`` is the metered net import of past day ``d`` [MW per step];
    ``rule`` and its numbers are those of the module doc.
    """
    if rule not in RULES:
        raise ValueError(f"rule: expected one of {list(RULES)}, got {rule!r}")
    days = candidate_days(day, is_normal, count=count, skip_days=skip_days, lookback_days=lookback_days)
    if not days:
        raise ValueError(f"no normal day in the {lookback_days} days before {day.isoformat()} to take a baseline from")
    profiles = {d: np.asarray(profile_of(d), dtype=float) for d in days}
    if rule == "top_of_recent":
        if top is None or top < 1:
            raise ValueError(f"top: expected at least 1 day for the top_of_recent rule, got {top}")
        days = sorted(top_days(profiles, window, top), reverse=True)
    return mean_profile([profiles[d] for d in days]), days
