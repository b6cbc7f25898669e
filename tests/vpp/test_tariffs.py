"""Tianjin TOU calendar (vpp.tariffs): prices checked against hand-computed numbers."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest

from vpp.tariffs import (
    TARIFFS,
    TIANJIN_TOU_2025,
    get_tariff,
    tianjin_tou_prices,
    tou_period,
)

FLAT = 634.0
VALLEY = 253.6  # 634 × 0.4
PEAK = 1014.4  # 634 × 1.6
CRITICAL = 1217.28  # 634 × 1.6 × 1.2


def day(
    date: str, freq: str = "15min", periods: int = 96, tz: str = "Asia/Shanghai"
) -> pd.DatetimeIndex:
    return pd.date_range(date, periods=periods, freq=freq, tz=tz)


def price_at(local: str) -> float:
    return float(
        tianjin_tou_prices(
            pd.DatetimeIndex([pd.Timestamp(local, tz="Asia/Shanghai")]), step_minutes=15
        )[0]
    )


def test_spot_prices_by_hand():
    assert price_at("2026-07-15 20:30") == pytest.approx(CRITICAL)
    assert price_at("2026-07-15 03:00") == pytest.approx(VALLEY)
    assert price_at("2026-07-15 00:30") == pytest.approx(FLAT)
    assert price_at("2026-07-15 15:00") == pytest.approx(PEAK)
    assert price_at("2026-07-15 22:59") == pytest.approx(PEAK)
    assert price_at("2026-07-15 23:00") == pytest.approx(FLAT)
    assert price_at("2025-12-10 18:30") == pytest.approx(CRITICAL)
    assert price_at("2025-12-10 13:00") == pytest.approx(VALLEY)
    assert price_at("2025-12-10 09:00") == pytest.approx(PEAK)
    assert price_at("2026-04-15 18:30") == pytest.approx(PEAK)  # no critical peak in April
    assert price_at("2026-04-15 12:30") == pytest.approx(VALLEY)


def test_periods_by_hand():
    assert tou_period(7, 20) == "critical_peak"
    assert tou_period(8, 21) == "critical_peak"
    assert tou_period(7, 22) == "peak"
    assert tou_period(7, 0) == "flat"
    assert tou_period(7, 1) == "valley"
    assert tou_period(7, 9) == "flat"
    assert tou_period(1, 18) == "critical_peak"
    assert tou_period(2, 20) == "peak"
    assert tou_period(12, 12) == "valley"
    assert tou_period(6, 18) == "peak"
    assert tou_period(9, 19) == "peak"
    with pytest.raises(ValueError, match="month"):
        tou_period(13, 0)
    with pytest.raises(ValueError, match="hour"):
        tou_period(1, 24)


@pytest.mark.parametrize(
    "months, hours",
    [
        ((7, 8), {"valley": 8, "flat": 8, "peak": 6, "critical_peak": 2}),
        ((1, 2, 12), {"valley": 8, "flat": 8, "peak": 6, "critical_peak": 2}),
        ((3, 4, 5, 6, 9, 10, 11), {"valley": 8, "flat": 8, "peak": 8}),
    ],
)
def test_hours_per_period(months, hours):
    for m in months:
        assert Counter(tou_period(m, h) for h in range(24)) == hours


def test_96_step_series_july():
    prices = tianjin_tou_prices(day("2026-07-15"))
    assert prices.shape == (96,)
    # 8 h valley, 8 h flat, 6 h peak, 2 h critical peak, by hand:
    mean = (8 * VALLEY + 8 * FLAT + 6 * PEAK + 2 * CRITICAL) / 24
    assert prices.mean() == pytest.approx(mean)
    assert prices[82] == pytest.approx(CRITICAL)  # 20:30
    assert prices[12] == pytest.approx(VALLEY)  # 03:00
    assert np.all(prices[80:88] == pytest.approx(CRITICAL))
    assert prices[79] == pytest.approx(PEAK) and prices[88] == pytest.approx(PEAK)


def test_other_step_lengths_and_time_zones():
    hourly = tianjin_tou_prices(day("2025-12-10", "h", 24))
    five_min = tianjin_tou_prices(day("2025-12-10", "5min", 288))
    assert np.allclose(five_min.reshape(24, 12), hourly[:, None])
    # The same instants given in UTC or as naive local time: same prices.
    utc = day("2025-12-10", "15min", 96).tz_convert("UTC")
    naive = pd.date_range("2025-12-10", periods=96, freq="15min")
    assert np.allclose(tianjin_tou_prices(utc), tianjin_tou_prices(day("2025-12-10")))
    assert np.allclose(tianjin_tou_prices(naive), tianjin_tou_prices(day("2025-12-10")))
    fixed = pd.date_range("2026-07-15T20:30+08:00", periods=1, freq="15min")
    assert tianjin_tou_prices(fixed)[0] == pytest.approx(CRITICAL)


def test_long_steps_start_or_average():
    two_hourly = day("2026-07-15", "2h", 12)
    start = tianjin_tou_prices(two_hourly)
    mean = tianjin_tou_prices(two_hourly, step_average=True)
    assert start[0] == pytest.approx(FLAT)  # 00:00–02:00 starts in flat
    assert mean[0] == pytest.approx((FLAT + VALLEY) / 2)  # 00–01 flat, 01–02 valley
    assert mean[11] == pytest.approx((PEAK + FLAT) / 2)  # 22–23 peak, 23–24 flat
    assert mean[10] == pytest.approx(CRITICAL)
    # Over the day both are energy-weighted the same way only on average:
    assert tianjin_tou_prices(day("2026-07-15", "h", 24)).mean() == pytest.approx(mean.mean())


def test_flat_price_scales_every_period():
    base = tianjin_tou_prices(day("2026-07-15"))
    assert np.allclose(
        tianjin_tou_prices(day("2026-07-15"), flat_cny_per_mwh=700.0), base * 700 / 634
    )
    with pytest.raises(ValueError):
        tianjin_tou_prices(day("2026-07-15"), flat_cny_per_mwh=-1.0)


def test_registry():
    assert TARIFFS["tianjin-tou-2025"] is TIANJIN_TOU_2025
    assert get_tariff("tianjin-tou-2025").period_prices_cny_per_mwh() == {
        "valley": VALLEY,
        "flat": FLAT,
        "peak": PEAK,
        "critical_peak": CRITICAL,
    }
    assert TIANJIN_TOU_2025.month_periods(4) == ["valley", "flat", "peak"]
    assert TIANJIN_TOU_2025.month_periods(8) == ["valley", "flat", "peak", "critical_peak"]
    assert "[pub]" in TIANJIN_TOU_2025.source
    with pytest.raises(KeyError, match="tianjin-tou-2025"):
        get_tariff("beijing")


def test_days_outside_the_calendar_in_force_are_named():
    from datetime import date

    assert TIANJIN_TOU_2025.in_force(date(2025, 10, 1)) and TIANJIN_TOU_2025.note(date(2026, 7, 15)) is None
    assert TIANJIN_TOU_2025.note(date(2025, 9, 30)) == (
        "2025-09-30 is before the tianjin-tou-2025 tariff came into force (2025-10-01): "
        "its periods and prices are applied anyway"
    )


def test_a_fixed_adder_does_not_float():
    # 500 CNY/MWh floating, 81 fixed: valley 500 × 0.4 + 81 = 281, critical peak 500 × 1.92 + 81 = 1041.
    prices = TIANJIN_TOU_2025.prices(day("2026-07-15"), 500.0, fixed_cny_per_mwh=81.0)
    assert prices[12] == pytest.approx(281.0) and prices[82] == pytest.approx(1041.0)
    assert prices[40] == pytest.approx(581.0) and prices[60] == pytest.approx(881.0)
    # The peak/valley spread is the floating part's alone: 500 × (1.92 − 0.4) = 760.
    assert prices.max() - prices.min() == pytest.approx(760.0)
    with pytest.raises(ValueError, match="fixed_cny_per_mwh must be a finite number >= 0, got -1"):
        TIANJIN_TOU_2025.period_prices_cny_per_mwh(500.0, -1)


def test_the_two_part_tariff_sums_its_parts():
    from vpp.tariffs import TwoPartTariff

    tp = TwoPartTariff(
        TIANJIN_TOU_2025,
        {"market_energy_cny_per_mwh": 400, "network_energy_cny_per_mwh": 100},
        {"funds": 26, "line_loss": 25, "system_operation": 30},
        demand_charge_cny_per_mw=36_000,
    )
    assert tp.energy_flat_cny_per_mwh == 500 and tp.fixed_adder_cny_per_mwh == 81
    assert tp.period_prices_cny_per_mwh() == {"valley": 281.0, "flat": 581.0, "peak": 881.0, "critical_peak": 1041.0}
    assert np.allclose(tp.prices(day("2025-12-10")), TIANJIN_TOU_2025.prices(day("2025-12-10"), 500, fixed_cny_per_mwh=81))
