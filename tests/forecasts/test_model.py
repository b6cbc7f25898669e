"""The learned day-ahead forecaster and the rolling backtest (forecasts.model, forecasts.backtest)."""

from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from forecasts.backtest import rolling_backtest, training_window
from forecasts.model import DayAheadForecaster, seasonal_naive, to_day_matrix
from forecasts.series import read_series

TZ = "Asia/Shanghai"


def toy(days: int, noise_sd: float = 0.0, seed: int = 0, start: str = "2025-03-03") -> pd.Series:
    """A weekly-periodic load [MW]: 100 + 20·sin over the day, +30 on working days, plus iid normal noise."""
    idx = pd.date_range(start, periods=96 * days, freq="15min", tz=TZ)
    hour = idx.hour + idx.minute / 60
    working = idx.day_of_week < 5
    base = 100 + 20 * np.sin(2 * np.pi * (hour - 6) / 24) + 30 * working
    rng = np.random.default_rng(seed)
    s = pd.Series(base + rng.normal(0, noise_sd, len(idx)), index=idx, name="load_mw")
    s.attrs["step_minutes"] = 15
    return s


@pytest.fixture(scope="module")
def teda() -> pd.Series:
    path = resources.files("forecasts.data").joinpath("teda_east_2025_15min.csv.gz")
    return read_series(str(path), value_column="load_mw")


def test_seasonal_naive_is_the_value_a_week_or_a_day_earlier():
    s = pd.Series(np.arange(96 * 10, dtype=float), index=pd.date_range("2025-03-01", periods=960, freq="15min", tz=TZ))
    s.attrs["step_minutes"] = 15
    week = seasonal_naive(s, pd.Timestamp("2025-03-09").date(), 7)
    assert week.iloc[0] == 96 * 1 and week.iloc[95] == 96 * 1 + 95  # 2 Mar, same times
    day = seasonal_naive(s, pd.Timestamp("2025-03-11").date(), 1)  # past the end: 10 Mar is the persistence
    assert np.array_equal(day.to_numpy(), np.arange(96 * 9, 96 * 10, dtype=float))


def test_day_matrix():
    dm = to_day_matrix(toy(3), 15)
    assert dm.values.shape == (3, 96) and dm.steps_per_day == 96
    assert dm.days[1] == pd.Timestamp("2025-03-04", tz=TZ)


def test_learns_a_noiseless_weekly_pattern_exactly_enough():
    s = toy(42)
    day = pd.Timestamp("2025-04-14").date()  # a Monday, after a weekend
    origin = pd.Timestamp(day, tz=TZ)
    model = DayAheadForecaster("load").fit(training_window(s, origin))
    fc = model.predict(day, training_window(s, origin))
    truth = toy(49).reindex(fc.index)
    assert np.abs(fc[0.5] - truth).max() < 3.0  # MW, of ~150
    assert list(fc.columns) == [0.1, 0.5, 0.9]
    assert (fc[0.1] <= fc[0.5]).all() and (fc[0.5] <= fc[0.9]).all()


def test_no_leakage_the_forecast_day_never_reaches_training():
    s = toy(40, noise_sd=2.0)
    day = pd.Timestamp("2025-04-10")
    origin = day.tz_localize(TZ)
    spiked = s.copy()
    spiked[(spiked.index >= origin) & (spiked.index < origin + pd.Timedelta(days=1))] = 1e6
    window = training_window(spiked, origin)
    assert window.index.max() < origin and window.index.max() == origin - pd.Timedelta(minutes=15)
    a = DayAheadForecaster("load").fit(training_window(s, origin)).predict(day, training_window(s, origin))
    b = DayAheadForecaster("load").fit(window).predict(day, window)
    assert np.allclose(a.to_numpy(), b.to_numpy())  # a 1e6 spike on the day changes nothing
    model = DayAheadForecaster("load").fit(window)
    with pytest.raises(ValueError, match="leakage: the history runs to"):
        model.predict(day, spiked[spiked.index <= origin])
    later = DayAheadForecaster("load").fit(training_window(s, origin + pd.Timedelta(days=1)))
    with pytest.raises(ValueError, match="leakage: the models were trained on data up to"):
        later.predict(day, window)


def test_backtest_trains_strictly_before_every_origin():
    s = toy(45, noise_sd=2.0)
    seen: list[tuple[pd.Timestamp, pd.Timestamp]] = []

    class Spy(DayAheadForecaster):
        def fit(self, history, temperature=None):
            out = super().fit(history, temperature)
            seen.append((history.index.max(), self.train_end_))
            return out

        def predict(self, day, history, temperature=None):
            first = pd.Timestamp(pd.Timestamp(day).date()).tz_localize(TZ)
            assert history.index.max() < first, "the history touches the forecast day"
            return super().predict(day, history, temperature)

    r = rolling_backtest(s, "load", min_train_days=28, retrain_every_days=3, forecaster=lambda: Spy("load"))
    assert len(r.fits) == len(seen) >= 5
    for fit, (last, train_end) in zip(r.fits, seen, strict=True):
        origin = pd.Timestamp(fit["origin"])
        assert last < origin and train_end < origin
        assert pd.Timestamp(fit["train_end"]) == origin - pd.Timedelta(minutes=15)
    assert (r.frame["origin"] == r.frame.index.normalize()).all()


def test_quantile_coverage_on_noise_of_known_distribution():
    """iid N(0, 8 MW) noise on a known weekly pattern: the true P10–P90 covers 80 % and the median is the pattern."""
    sd = 8.0
    s = toy(120, noise_sd=sd, seed=5)
    truth = toy(120)
    # The toy works Monday to Friday, so it is told so (the Chinese calendar would call 2 June,
    # the Dragon Boat holiday, a day off).
    r = rolling_backtest(s, "load", min_train_days=90, retrain_every_days=14, start="2025-06-01", calendar="weekday")
    frame = r.frame
    cov = r.metrics["coverage_p10_p90"]
    assert 0.72 <= cov <= 0.88, cov
    # The forecast quantiles sit near the true ones: pattern ± 1.2816 σ.
    assert np.abs(frame[0.5] - truth.reindex(frame.index)).mean() < 0.35 * sd
    width = (frame[0.9] - frame[0.1]).mean()
    assert width == pytest.approx(2 * norm.ppf(0.9) * sd, rel=0.2)


def test_beats_seasonal_naive_on_the_synthetic_teda_history(teda):
    r = rolling_backtest(teda, "load", start="2025-03-10", end="2025-03-23", retrain_every_days=14)
    m = r.metrics
    assert m["n_days"] == 14 and m["skill_vs_seasonal_naive"] > 0.1, m
    assert 0.6 < m["coverage_p10_p90"] < 0.95


def test_pv_forecast_beats_yesterday_on_the_synthetic_teda_history():
    path = resources.files("forecasts.data").joinpath("teda_east_2025_15min.csv.gz")
    pv = read_series(str(path), value_column="pv_mw")
    r = rolling_backtest(pv, "pv", start="2025-04-01", end="2025-06-30", retrain_every_days=30,
                         latitude=39.03, longitude=117.72)
    m = r.metrics
    assert m["n_days"] == 91 and m["skill_vs_seasonal_naive"] > 0.03, m  # ≈ 0.09 on this quarter
    # Conformal on the held-out daylight errors (recent ones weighing most): P10–P90 covers 80 % ± 3 % of the
    # daylight steps (80.1 % on this quarter; 76.9 % from the error-quantile models alone).
    assert 0.77 <= m["coverage_p10_p90_daylight"] <= 0.83, m["coverage_p10_p90_daylight"]
    night = (r.frame.index.hour < 4) | (r.frame.index.hour >= 21)  # the sun is down: exactly 0
    assert (r.frame.loc[night, [0.1, 0.5, 0.9]] == 0).all().all()


def test_input_checks():
    with pytest.raises(ValueError, match="kind"):
        DayAheadForecaster("wind")
    with pytest.raises(ValueError, match="horizon_days"):
        DayAheadForecaster("load", horizon_days=9)
    with pytest.raises(ValueError, match="calibration_half_life_days must be a number of days > 0, got 0"):
        DayAheadForecaster("pv", calibration_half_life_days=0)
    with pytest.raises(ValueError, match="too little history"):
        DayAheadForecaster("load").fit(toy(5))
    with pytest.raises(ValueError, match="not fitted"):
        DayAheadForecaster("load").predict("2025-03-10", toy(5))
    with pytest.raises(ValueError, match="no day to backtest"):
        rolling_backtest(toy(20), "load", min_train_days=28)


def test_two_day_horizon_uses_lags_of_two_days_or_more():
    s = toy(40, noise_sd=1.0)
    model = DayAheadForecaster("load", horizon_days=2)
    day = pd.Timestamp("2025-04-08")
    origin = model.origin_of(day, TZ)
    assert origin == pd.Timestamp("2025-04-07", tz=TZ)
    fc = model.fit(training_window(s, origin)).predict(day, training_window(s, origin))
    assert len(fc) == 96 and "lag_1d" not in model.feature_names_


def test_temperature_is_used_where_given():
    """Load = pattern + 4 MW/K × a daily temperature anomaly: with the temperature forecast the model sees it."""
    days = 70
    s = toy(days)
    rng = np.random.default_rng(11)
    anomaly = np.repeat(rng.normal(0, 4, days), 96)
    temp = pd.Series(25 + anomaly, index=s.index, name="temp_air_c")
    temp.attrs["step_minutes"] = 15
    load = s + 4 * anomaly
    load.attrs["step_minutes"] = 15
    with_t = rolling_backtest(load, "load", min_train_days=56, retrain_every_days=14, temperature=temp)
    without = rolling_backtest(load, "load", min_train_days=56, retrain_every_days=14)
    assert with_t.metrics["mae"] < 0.9 * without.metrics["mae"]
    assert with_t.metrics["skill_vs_seasonal_naive"] > 0.15
    assert with_t.settings["temperature"] == "measured temperature used as a perfect forecast"


def test_net_load_that_crosses_zero():
    """A net load (load − PV) is negative at noon: the level is the mean absolute value, so it still forecasts."""
    s = toy(70, noise_sd=1.0) - 120.0  # about −40 … +30 MW
    s.attrs["step_minutes"] = 15
    # Monday to Friday, as the toy works (the Chinese calendar has May Day holidays in the window).
    r = rolling_backtest(s, "load", min_train_days=56, retrain_every_days=14, calendar="weekday")
    assert 0.3 < (s < 0).mean() < 0.9
    # A weekly series with iid noise: averaging the same weekdays beats seasonal naive, whose
    # error has the noise of two days (MAE ≈ 1.13 MW against ≈ 0.9 MW for a perfect median).
    assert r.metrics["mae"] < r.metrics["baseline_mae"]
