"""Green power as Tianjin trades it (vpp.cases.green), by hand; and the teda-east contracts it makes."""

from __future__ import annotations

import calendar

import numpy as np
import pandas as pd
import pytest

from forecasts.pv import clear_sky_pv_mw
from vpp.cases import materialize
from vpp.cases.green import (
    delivery_profile_mw,
    import_floor_mw,
    settled_mw,
    settlement_price_cny_per_mwh,
)
from vpp.dispatch import solve_case

LAT, LON, ALT, DERATE = 39.03, 117.72, 3, 0.576


def test_delivery_profile_spreads_the_month_in_the_generators_shape() -> None:
    # 300 MWh this month; the generator expects 600 MWh over the month and [0, 2, 4, 2] MW today.
    assert delivery_profile_mw(300, np.array([0, 2, 4, 2.0]), 600) == pytest.approx([0, 1, 2, 1])
    assert delivery_profile_mw(300, np.array([1.0, 1.0]), 0) == pytest.approx([0, 0])


def test_import_floor_is_what_the_district_draws_whatever_the_dispatch() -> None:
    assets = [
        {"type": "load", "demand_mw": [10, 10, 10]},
        {"type": "curtailable_load", "demand_mw": 5, "max_reduction_mw": 2},  # 3 MW cannot be shed
        {"type": "pv", "available_mw": [0, 8, 20]},
        {"type": "battery", "power_mw": 1},
        {"type": "battery", "power_mw": 4, "discharge_power_mw": 2},
        {"type": "flexible_load", "min_power_mw": 0, "max_power_mw": 6, "energy_mwh": 3},  # may be 0
    ]
    # 10 + 3 − PV − (1 + 2) → [10, 2, −10] → never below 0
    assert import_floor_mw(assets, 3) == pytest.approx([10, 2, 0])


def test_settled_energy_is_the_minimum_and_shares_a_short_floor() -> None:
    gen = [np.array([4.0, 4.0, 1.0]), np.array([2.0, 2.0, 2.0])]
    due = [np.array([3.0, 3.0, 3.0]), np.array([3.0, 3.0, 3.0])]
    floor = np.array([10.0, 2.5, 0.0])
    a, b = settled_mw(gen, due, floor)
    # min(generation, contract) = [3, 3, 1] and [2, 2, 2]; step 1: 5 MW wanted, 2.5 available → halves.
    assert a == pytest.approx([3, 1.5, 0]) and b == pytest.approx([2, 1.0, 0])
    assert settled_mw([], [], floor) == []


def test_settlement_price_is_the_delivery_weighted_grid_price_plus_the_premium() -> None:
    buy = np.array([281.0, 581.0, 881.0])
    g = np.array([0.0, 1.0, 3.0])
    assert settlement_price_cny_per_mwh(buy, 10, g) == pytest.approx((581 + 3 * 881) / 4 + 10)
    assert settlement_price_cny_per_mwh(buy, 10, np.zeros(3)) == pytest.approx(581 + 10)


@pytest.fixture(scope="module")
def july():
    return materialize("teda-east", "2026-07-15")


def month_mwh_per_mw(year: int, month: int) -> float:
    """Clear sky × derate of 1 MW at 10° south over a whole month, computed here from forecasts.pv."""
    start = pd.Timestamp(year=year, month=month, day=1, tz="Asia/Shanghai")
    ts = pd.date_range(start, periods=calendar.monthrange(year, month)[1] * 96, freq="15min")
    return float(clear_sky_pv_mw(ts, LAT, LON, 1.0, 10, 180, DERATE, altitude_m=ALT, step_minutes=15).sum() / 4)


def test_the_days_contracts_are_the_months_volumes_in_the_generators_shape(july) -> None:
    ts = pd.date_range("2026-07-15", periods=96, freq="15min", tz="Asia/Shanghai")
    day_per_mw = clear_sky_pv_mw(ts, LAT, LON, 1.0, 10, 180, DERATE, altitude_m=ALT, step_minutes=15)
    month = month_mwh_per_mw(2026, 7)
    wind = (40_000 - 10 * 1250) / 8760  # MW: Jinqiao's 40 GWh less its 10 MW of PV at 1,250 kWh/kWp
    expected = {
        "green-haiyun": 1230 * (10 * day_per_mw) / (10 * month),  # July volumes of the data file [MWh]
        "green-fenghua": 1840 * (15 * day_per_mw) / (15 * month),
        "green-jinqiao": 3330 * (10 * day_per_mw + wind) / (10 * month + wind * 31 * 24),
    }
    green = {a.id: a for a in july.assets if a.type == "green_contract"}
    assert set(green) == set(expected)
    for gid, want in expected.items():
        g = green[gid]
        # no weather: generation is the expectation, the contract (≈ 90 % of it) is below it, the floor far above
        assert july.series(g.available_mw) == pytest.approx(want, abs=2e-6), gid
        assert not g.optional and g.min_take == 1.0
        buy = july.series(july.grid.buy_cny_per_mwh)
        assert g.price_cny_per_mwh == pytest.approx((buy * want).sum() / want.sum() + 10, abs=1e-5)
        assert g.meta["contract_mwh_month"] == {"green-haiyun": 1230, "green-fenghua": 1840, "green-jinqiao": 3330}[gid]


def test_settled_green_is_taken_whole_and_costs_the_grid_price_plus_the_premium(july) -> None:
    result = solve_case(july)
    s = result.summary
    buy = july.series(july.grid.buy_cny_per_mwh)
    cost = 0.0
    for item in s["green_contracts"]:
        g = next(a for a in july.assets if a.id == item["id"])
        avail = july.series(g.available_mw)
        assert item["taken"] and item["energy_mwh"] == pytest.approx(avail.sum() / 4, abs=1e-6)
        cost += ((buy + 10) * avail).sum() / 4
    assert s["cost_cny"]["green_energy"] == pytest.approx(cost, rel=1e-6)


def test_a_floor_below_the_contracts_settles_less_and_never_makes_the_day_infeasible() -> None:
    # 3,000 MW of rooftop PV: at noon the district exports nothing and imports nothing more than its floor.
    big = materialize("teda-east", "2026-05-02", pv_capacity_mw=3000, demand_response=False)
    green = [big.series(a.available_mw) for a in big.assets if a.type == "green_contract"]
    total = np.sum(green, axis=0)
    assert total[48] == 0.0 and total.max() > 0  # nothing settled at noon, some in the morning and evening
    result = solve_case(big)
    assert result.summary["status"] == "optimal"
    assert all(item["taken"] for item in result.summary["green_contracts"])


def test_a_cloudy_forecast_settles_on_the_generation() -> None:
    from tests.vpp.test_teda_east_reference import _weather

    # 29 July 2025, the dullest July day of the shipped history: the PV generators fall far short of their contracts.
    cloudy = materialize("teda-east", "2025-07-29", weather=_weather("2025-07-29"))
    green = {a.id: a.meta for a in cloudy.assets if a.type == "green_contract"}
    for m in green.values():
        assert m["settled_mwh"] <= min(m["generation_mwh"], m["delivery_mwh"]) + 1e-4
    haiyun = green["green-haiyun"]
    assert haiyun["settled_mwh"] == pytest.approx(haiyun["generation_mwh"], abs=1e-4)  # all it generated
    assert haiyun["settled_mwh"] < 0.2 * haiyun["delivery_mwh"]
