"""The simple rules, the kind-of-day reference, the robust linear part and conformal quantiles,
on small series whose right answers are worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasts.backtest import rolling_backtest
from forecasts.metrics import mae
from forecasts.model import DayAheadForecaster, robust_linear_fit
from forecasts.quantiles import conformal_quantile
from forecasts.rules import (
    ADJUSTED_WORKING,
    HOLIDAY,
    LOAD_RULES,
    day_kinds,
    kind_reference,
    load_rules,
    pv_rules,
)

TZ = "Asia/Shanghai"
P = 4  # steps per day in the hand-made day matrices


def weekly(days: int, step_at: int | None = None, step: float = 0.0) -> np.ndarray:
    """Day matrix: value = 10·weekday + step of the day (+ ``step`` from day ``step_at`` on)."""
    wd = np.arange(days) % 7
    Y = 10.0 * wd[:, None] + np.arange(P)[None, :]
    if step_at is not None:
        Y[step_at:] += step
    return Y


def test_every_weekly_rule_predicts_a_weekly_periodic_series_exactly():
    Y = weekly(42)
    kinds = day_kinds(np.arange(42) % 7, (np.arange(42) % 7 < 5).astype(float))
    rules = load_rules(Y, kinds)
    for name in ("seasonal_naive", "two_line", "two_line_ratio", "two_line_4w", "last_value", "same_kind_two_line"):
        assert np.allclose(rules[name][35:], Y[35:]), name
    # Yesterday is off by the weekday difference: 10 for Tuesday–Sunday, −60 on Mondays.
    err = Y[35:] - rules["yesterday"][35:]
    assert np.allclose(err[:, 0], [-60, 10, 10, 10, 10, 10, 10])
    assert set(rules) == set(LOAD_RULES)


def test_the_two_line_rule_follows_a_level_step_the_day_after_it():
    """+50 from day 30 on. Seasonal naive is 50 low for a week. The two-line rule
    y(D−7) + y(D−1) − y(D−8) is exact from day 31 (the step enters through yesterday) except a
    week after the step, when y(D−7) has it too: 50 high on day 37. On four-week means the
    overshoot is a quarter of the step, on days 37 and 44."""
    Y = weekly(49, step_at=30, step=50.0)
    kinds = day_kinds(np.arange(49) % 7, (np.arange(49) % 7 < 5).astype(float))
    rules = load_rules(Y, kinds)
    assert np.allclose(Y[30:37] - rules["seasonal_naive"][30:37], 50.0)
    err = (Y - rules["two_line"])[30:, 0]
    assert np.allclose(err, [50.0] + [0.0] * 6 + [-50.0] + [0.0] * 11)
    err4 = (Y - rules["two_line_4w"])[31:, 0]
    expected = np.zeros(18)
    expected[[37 - 31, 44 - 31]] = -12.5
    assert np.allclose(err4, expected)
    assert np.allclose(rules["same_kind_two_line"][31:], rules["two_line_4w"][31:])  # no holidays


def test_rules_read_only_days_before_the_origin():
    Y = weekly(42)
    kinds = day_kinds(np.arange(42) % 7, np.ones(42))
    spiked = Y.copy()
    spiked[40] = 1e6  # the target day itself
    for h in (1, 2):
        a, b = load_rules(Y, kinds, h), load_rules(spiked, kinds, h)
        for name in a:
            assert np.allclose(a[name][40], b[name][40], equal_nan=True), (name, h)
    assert np.allclose(pv_rules(Y)["yesterday"][40], Y[39])
    assert np.allclose(pv_rules(Y)["week_mean"][40], Y[33:40].mean(axis=0))


def test_day_kinds_and_the_reference_compare_like_with_like():
    # Monday 0 … Sunday 6; day 9 (a Wednesday) is a public holiday, day 12 (a Saturday) a working day.
    weekday = np.arange(21) % 7
    working = (weekday < 5).astype(float)
    working[9], working[12] = 0.0, 1.0
    kinds = day_kinds(weekday, working)
    assert kinds[9] == HOLIDAY and kinds[12] == ADJUSTED_WORKING
    assert kinds[2] == 2 and kinds[6] == 6 and kinds[5] == 5
    Y = np.repeat(np.arange(21, dtype=float)[:, None], P, axis=1)  # value = day number
    ref = kind_reference(Y, kinds, count=2)
    assert ref[20, 0] == (13 + 6) / 2  # a Sunday: the last two Sundays
    assert ref[9, 0] == 6.0  # the holiday: holidays and Sundays before it (Sunday 6 only)
    assert ref[16, 0] == 2.0  # a Wednesday: Wednesdays only (9 was a holiday)
    assert ref[19, 0] == 5.0  # a Saturday: Saturdays only (12 was a working day)
    assert ref[12, 0] == (10 + 8) / 2  # the adjusted working Saturday: Tuesday to Thursday
    assert np.isnan(ref[0]).all()  # nothing before the first day


def test_conformal_quantile_on_a_known_score_set():
    scores = np.arange(1.0, 100.0)  # 1 … 99, n = 99
    assert conformal_quantile(scores, 0.9) == 90.0  # ⌈100 · 0.9⌉ = 90th smallest
    assert conformal_quantile(scores, 0.1) == 10.0  # ⌊100 · 0.1⌋ = 10th smallest
    assert conformal_quantile(scores, 0.5) == 50.0
    nine = np.arange(1.0, 10.0)
    assert conformal_quantile(nine, 0.9) == 9.0 and conformal_quantile(nine, 0.1) == 1.0
    assert conformal_quantile(np.array([3.0, 1.0, 2.0, np.nan]), 0.95) == 3.0  # too few: the largest
    with pytest.raises(ValueError, match="no finite held-out scores"):
        conformal_quantile(np.array([np.nan]), 0.9)
    with pytest.raises(ValueError, match="level must be within"):
        conformal_quantile(scores, 1.0)


def test_weighted_conformal_quantile_by_hand():
    scores = np.array([4.0, 1.0, 3.0, 2.0])  # sorted 1, 2, 3, 4
    # Weights of 1, 2, 3, 4 (by score) [4, 1, 3, 2] → sorted [1 → 1, 2 → 2, 3 → 3, 4 → 4]: cumulative 1, 3, 6, 10,
    # and the new score weighs 1: W + 1 = 11.
    w = np.array([4.0, 1.0, 3.0, 2.0])
    assert conformal_quantile(scores, 0.5, w) == 3.0  # 5.5: the first cumulative ≥ 5.5 is 6
    assert conformal_quantile(scores, 0.8, w) == 4.0  # 8.8 → 10
    assert conformal_quantile(scores, 0.95, w) == 4.0  # 10.45 > 10: too little weight, the largest
    assert conformal_quantile(scores, 0.3, w) == 2.0  # 3.3: the last cumulative ≤ 3.3 is 3
    assert conformal_quantile(scores, 0.05, w) == 1.0  # 0.55: none that low, the smallest
    # A zero weight drops a score; unit weights give the unweighted quantile.
    assert conformal_quantile(scores, 0.8, np.array([0.0, 1.0, 1.0, 1.0])) == 3.0  # 4 gone: none reaches 3.2, the largest
    rng = np.random.default_rng(3)
    many = rng.normal(size=501)
    for level in (0.05, 0.1, 0.5, 0.9, 0.95):
        assert conformal_quantile(many, level, np.ones(501)) == conformal_quantile(many, level)
    with pytest.raises(ValueError, match=r"weights must be finite numbers >= 0, one per score \(4\)"):
        conformal_quantile(scores, 0.9, np.array([1.0, -1.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match="one per score"):
        conformal_quantile(scores, 0.9, np.ones(3))


def test_robust_linear_fit_recovers_the_coefficients_and_shrinks_to_the_prior():
    rng = np.random.default_rng(3)
    A = np.column_stack([rng.normal(size=400), rng.normal(size=400), np.ones(400)])
    b = A @ np.array([0.7, -0.3, 0.1])
    prior = np.array([1.0, 0.0, 0.0])
    assert np.allclose(robust_linear_fit(A, b, prior, 0.0), [0.7, -0.3, 0.1], atol=1e-6)
    # Ten gross outliers move least squares, not the Huber fit.
    bad = b.copy()
    bad[:10] += 50.0
    huber = robust_linear_fit(A, bad, prior, 0.0)
    ols = np.linalg.lstsq(A, bad, rcond=None)[0]
    assert np.abs(huber - [0.7, -0.3, 0.1]).max() < 0.05 < np.abs(ols - [0.7, -0.3, 0.1]).max()
    # A huge shrinkage gives the prior (the rule) back.
    assert np.allclose(robust_linear_fit(A, b, prior, 1e6), prior, atol=1e-3)


def toy_load(days: int, step_day: int | None = None, step_mw: float = 0.0) -> pd.Series:
    idx = pd.date_range("2025-03-03", periods=96 * days, freq="15min", tz=TZ)
    hour = idx.hour + idx.minute / 60
    working = idx.day_of_week < 5
    values = 100 + 20 * np.sin(2 * np.pi * (hour - 6) / 24) + 30 * working
    if step_day is not None:
        values = values + step_mw * (np.arange(len(idx)) >= 96 * step_day)
    s = pd.Series(values, index=idx, name="load_mw")
    s.attrs["step_minutes"] = 15
    return s


def test_the_learned_load_forecast_follows_a_new_level_as_the_two_line_rule_does():
    """A +25 MW step on Monday 14 April (day 42): by Wednesday the learned forecast has the new level
    (the lags of yesterday against its own reference carry it), within 2 MW of 150."""
    s = toy_load(46, step_day=42, step_mw=25.0)
    day = pd.Timestamp("2025-04-16")  # Wednesday, two days after the step
    origin = day.tz_localize(TZ)
    history = s[s.index < origin]
    model = DayAheadForecaster("load", calendar="weekday").fit(history)
    fc = model.predict(day, history)
    truth = s.reindex(fc.index)
    assert np.abs(fc[0.5] - truth).max() < 2.0
    assert model.coef_ is not None and model.offsets_[0.9] >= model.offsets_[0.1]


def test_backtest_reports_every_rule_side_by_side_on_the_same_steps():
    s = toy_load(40) + np.random.default_rng(2).normal(0, 3.0, 96 * 40)
    s.attrs["step_minutes"] = 15
    r = rolling_backtest(s, "load", min_train_days=30, retrain_every_days=5, calendar="weekday")
    sbs = r.metrics["side_by_side"]
    assert set(sbs) == {"learned", *LOAD_RULES}
    assert sbs["learned"]["mae"] == pytest.approx(r.metrics["mae"])
    assert sbs["seasonal_naive"]["mae"] == pytest.approx(r.metrics["baseline_mae"])
    assert sbs["seasonal_naive"]["skill_vs_seasonal_naive"] == pytest.approx(0.0)
    # The rule columns are the rules computed independently from the whole series' day matrix.
    frame = r.frame
    y = s.to_numpy().reshape(40, 96)
    two_line = (y[23:33] + y[29:39] - y[22:32]).reshape(-1)  # days 30 … 39
    assert np.allclose(frame["rule:two_line"].to_numpy(), two_line)
    assert sbs["two_line"]["mae"] == pytest.approx(mae(frame["actual"].to_numpy(), two_line))
    assert isinstance(r.metrics["beats_every_rule"], bool)
