"""How Tianjin bills the TEDA east district: the two-part tariff, the maximum-demand charge and the
month's peak so far, firm substation capacities and the emission factor, checked by hand."""

from __future__ import annotations

import datetime as dt
from importlib import resources

import numpy as np
import pandas as pd
import pytest

from forecasts.load import district_load_mw
from forecasts.pv import clear_sky_pv_mw
from vpp.cases import materialize
from vpp.cases.teda_east import firm_capacity_mw, pv_fleet, template_data
from vpp.dispatch import solve_case

ENERGY = 400 + 100  # market energy + network energy charge [CNY/MWh], the floating part at the flat period
FIXED = 26 + 25 + 30  # funds and surcharges + line loss + system operation [CNY/MWh], not floating
RATIO = {"valley": 0.4, "flat": 1.0, "peak": 1.6, "critical_peak": 1.92}
SHIPPED = str(resources.files("forecasts.data").joinpath("teda_east_2025_15min.csv.gz"))


@pytest.fixture(scope="module")
def july():
    return materialize("teda-east", "2026-07-15")


@pytest.mark.parametrize(
    ("day", "step", "period"),
    [
        ("2026-07-15", 12, "valley"),  # 03:00
        ("2026-07-15", 40, "flat"),  # 10:00
        ("2026-07-15", 60, "peak"),  # 15:00
        ("2026-07-15", 82, "critical_peak"),  # 20:30
        ("2026-01-14", 74, "critical_peak"),  # 18:30
        ("2026-01-14", 52, "valley"),  # 13:00
        ("2026-04-15", 74, "peak"),  # 18:30: no critical peak in April
    ],
)
def test_the_price_of_an_hour_is_energy_times_the_ratio_plus_the_fixed_parts(day: str, step: int, period: str) -> None:
    case = materialize("teda-east", day, demand_response=False)
    assert case.meta["tariff"]["periods"][step] == period
    assert case.series(case.grid.buy_cny_per_mwh)[step] == pytest.approx(ENERGY * RATIO[period] + FIXED)


def test_the_tariff_parts_are_in_meta_and_only_the_energy_part_floats(july) -> None:
    t = july.meta["tariff"]
    assert t["floating_cny_per_mwh"] == {"market_energy_cny_per_mwh": 400, "network_energy_cny_per_mwh": 100}
    assert t["fixed_cny_per_mwh"] == {"government_funds_cny_per_mwh": 26, "line_loss_cny_per_mwh": 25,
                                      "system_operation_cny_per_mwh": 30}
    assert t["period_prices_cny_per_mwh"] == {"valley": 281.0, "flat": 581.0, "peak": 881.0, "critical_peak": 1041.0}
    # A dearer market moves only the floating part: valley +50 × 0.4, critical peak +50 × 1.92.
    dear = materialize("teda-east", "2026-07-15", market_energy_cny_per_mwh=450, demand_response=False)
    delta = dear.series(dear.grid.buy_cny_per_mwh) - july.series(july.grid.buy_cny_per_mwh)
    assert delta[12] == pytest.approx(50 * 0.4) and delta[82] == pytest.approx(50 * 1.92)
    assert dear.meta["sources"]["tariff.floating.market_energy_cny_per_mwh"]["source"].startswith("[override]")


def test_the_maximum_demand_charge_is_metered_by_default(july) -> None:
    assert july.grid.demand_charge_cny_per_mw == 36_000  # 36 CNY/kW·month
    assert july.grid.declared_demand_mw is None and july.meta["tariff"]["demand_basis"] == "metered"
    assert july.meta["sources"]["grid.demand_charge_cny_per_mw"]["source"].startswith("[assumed]")
    declared = materialize("teda-east", "2026-07-15", declared_demand_mw=450, demand_response=False)
    assert declared.grid.declared_demand_mw == 450 and declared.meta["tariff"]["demand_basis"] == "declared"


def _shipped_day(day: str) -> pd.DataFrame:
    frame = pd.read_csv(SHIPPED, skiprows=1)
    return frame[frame["timestamp"].str.startswith(day)]


def test_the_peak_so_far_is_read_from_the_metered_history_where_it_covers_the_month() -> None:
    # 14 October 2025: the maximum over 1–13 October of the shipped load − PV + the plant's 20 MW.
    frame = pd.read_csv(SHIPPED, skiprows=1)
    month = frame[frame["timestamp"].between("2025-10-01", "2025-10-14")]
    by_hand = float((month["load_mw"] - month["pv_mw"] + 20).max())
    case = materialize("teda-east", "2025-10-14")
    assert case.grid.peak_to_date_mw == pytest.approx(by_hand, abs=1e-6)
    assert case.meta["peak_to_date"]["metered_days"] == 13 and case.meta["peak_to_date"]["profile_days"] == 0
    assert not any("peak so far" in n for n in case.meta["assumptions"])
    # An hourly case compares hourly means, as its model does.
    hourly = materialize("teda-east", "2025-10-14", step_minutes=60)
    means = (month["load_mw"] - month["pv_mw"]).to_numpy().reshape(-1, 4).mean(axis=1) + 20
    assert hourly.grid.peak_to_date_mw == pytest.approx(float(means.max()), abs=1e-6)


def test_without_history_the_peak_so_far_takes_the_documented_profile(july) -> None:
    d, _ = template_data()
    best = 0.0
    for k in range(1, 15):
        ts = pd.date_range(f"2026-07-{k:02d}", periods=96, freq="15min", tz="Asia/Shanghai")
        pv = sum(clear_sky_pv_mw(ts, 39.03, 117.72, a.capacity_mw, a.tilt_deg, a.azimuth_deg, 0.576, altitude_m=3,
                                 step_minutes=15) for a in pv_fleet(d))
        best = max(best, float((district_load_mw(ts, 500) - pv + 20).max()))
    assert july.grid.peak_to_date_mw == pytest.approx(best, abs=1e-5)
    note = ("no metered history for 14 of the month's 14 earlier days: the month's peak so far "
            f"({best:.1f} MW) takes the documented profile for them; give the metered one with --peak-to-date MW "
            "(peak_to_date_mw)")
    assert note in july.meta["assumptions"]


def test_the_first_day_of_a_month_and_a_given_peak() -> None:
    first = materialize("teda-east", "2026-07-01", demand_response=False)
    assert first.grid.peak_to_date_mw == 0.0
    assert first.meta["peak_to_date"]["source"] == "the first day of the month: no peak yet in this billing period"
    given = materialize("teda-east", "2026-07-20", peak_to_date_mw=455.5)
    assert given.grid.peak_to_date_mw == 455.5 and given.meta["peak_to_date"]["given"]
    assert given.grid.meta["sources"]["peak_to_date_mw"].startswith("[override]")
    assert not any("peak so far" in n for n in given.meta["assumptions"])


def test_a_day_pays_the_demand_charge_only_for_raising_the_months_peak() -> None:
    # The first of the month: P̂ = 0, the day pays 36,000 CNY for every MW of its peak.
    first = solve_case(materialize("teda-east", "2026-07-01"))
    s = first.summary
    assert s["cost_cny"]["demand"] == pytest.approx(36_000 * s["peak_import_mw"], rel=1e-6)
    # Mid-month, below a given peak so far: nothing; above it: the excess only.
    mid = materialize("teda-east", "2026-07-14", demand_response=False)
    calm = solve_case(mid.model_copy(update={"grid": mid.grid.model_copy(update={"peak_to_date_mw": 600.0})}))
    assert calm.summary["cost_cny"].get("demand", 0.0) == pytest.approx(0.0, abs=1e-6)
    tight = solve_case(mid.model_copy(update={"grid": mid.grid.model_copy(update={"peak_to_date_mw": 470.0})}))
    t = tight.summary
    assert t["peak_import_mw"] >= 470.0 - 1e-6
    assert t["cost_cny"]["demand"] == pytest.approx(36_000 * (t["peak_import_mw"] - 470.0), rel=1e-6, abs=1e-3)


def test_substations_at_firm_n_minus_1_capacity(july) -> None:
    assert firm_capacity_mw(2, 120, 1.3, 0.95) == pytest.approx(120 * 1.3 * 0.95)  # 148.2 MW
    assert firm_capacity_mw(3, 50, 1.0, 1.0) == pytest.approx(100)
    assert firm_capacity_mw(1, 120, 1.3, 0.95) == 0.0  # one transformer: nothing firm
    nodes = {n.id: n.capacity_mw for n in july.network.nodes}
    assert nodes == pytest.approx({"s110-1": 148.2, "s110-2": 148.2, "s35-tiancheng": 38.9025, "s35-haijing": 38.9025})
    src = july.meta["sources"]["network.nodes[s110-1].overload_factor"]["source"]
    assert src.startswith("[pub, weak]") and "1.3" in src


def test_the_emission_factor_is_stated_in_meta(july) -> None:
    ef = july.meta["emission_factor"]
    assert ef["value_t_per_mwh"] == july.grid.emission_t_per_mwh == 0.6361
    assert ef["source"].startswith("[pub] North China regional grid emission factor 2023")
    assert "location-based" in ef["basis"]
    assert {k: v["value_t_per_mwh"] for k, v in ef["alternatives"].items()} == {"tianjin_2022": 0.7041,
                                                                             "national_2023": 0.5306}
    assert any(line.startswith("emission factor: 0.6361 tCO2/MWh") for line in july.meta["notes"])


def test_the_notes_say_what_an_operator_asks_first(july) -> None:
    notes = july.meta["notes"]
    assert notes[0].startswith("tariff: two-part tariff of a large-industry user at 110 kV")
    assert "valley 281, flat 581, peak 881, critical peak 1041 CNY/MWh" in notes[0]
    assert "maximum demand 36 CNY/kW·month on the metered maximum demand" in notes[0]
    assert notes[1].startswith(f"peak so far this month: {july.grid.peak_to_date_mw:.1f} MW")
    assert notes[2] == "demand response: no event called on 2026-07-15 (7 days on the 2026 calendar)"
    heat = materialize("teda-east", "2026-07-16").meta["notes"][2]
    assert heat.startswith("demand response: dr-peak-shaving-2026-07-16, peak shaving 20:00-22:00, 8 MW at 1500 CNY/MWh "
                           "(on the calendar: heat wave: the summer critical peak); baseline recent_mean of 2026-07-15, ")


def test_load_is_that_of_an_industrial_zone_with_continuous_processes(july) -> None:
    load = sum(july.series(a.demand_mw) for a in july.assets if a.type == "load")
    assert load[12] / load.max() == pytest.approx(0.72, abs=0.02)  # 03:00: the continuous processes
    assert load.mean() / load.max() == pytest.approx(0.88, abs=0.01)  # a working day's load factor
    holiday = materialize("teda-east", "2026-05-02", demand_response=False)
    hload = sum(holiday.series(a.demand_mw) for a in holiday.assets if a.type == "load")
    assert hload.min() / hload.max() > 0.85  # a holiday runs the processes only: a flat day


def test_the_shipped_history_has_the_same_shape() -> None:
    # Mean 03:00 / mean 10:00 over the working days of October 2025 in the metered history ≈ the profile's 0.72.
    frame = pd.read_csv(SHIPPED, skiprows=1)
    t = pd.to_datetime(frame["timestamp"].str.slice(0, 19))
    october = frame[(t.dt.month == 10) & (t.dt.day >= 9) & (t.dt.dayofweek < 5)]
    tt = pd.to_datetime(october["timestamp"].str.slice(0, 19))
    night = october[tt.dt.hour == 3]["load_mw"].mean()
    day = october[tt.dt.hour == 10]["load_mw"].mean()
    assert night / day == pytest.approx(0.72, abs=0.03)
    assert dt.date(2025, 10, 9).weekday() == 3 and np.isfinite(night)
