"""A replayed day (vpp/replay.py, ``vpp replay``): plan day-ahead, live the day with the actuals, compare.

Hand cases: the 8-hour day of tests/vpp/test_redispatch.py (1 MW of load, a lossless
1 MW / 2 MWh battery, rising morning prices, deviations 1000 CNY/MWh above the plan and
800 below). Its day-ahead optimum, by hand: fill 1 MWh at hour 0 (100), give 1 MW at
hours 4 (500) and 5 (450), refill 1 MWh at hour 6 (200): net import [2, 1, 1, 1, 0, 0, 2, 1],
energy 1140 + wear 20 = 1160 CNY, the declared plan that net import.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pytest import approx
from typer.testing import CliRunner

from models import SolveOptions
from vpp.case import load_case
from vpp.cli import app
from vpp.errors import CaseError
from vpp.replay import (
    PARTS,
    OutageScenario,
    Settings,
    read_actuals,
    replay,
    with_outage_scenario,
)

EXACT = SolveOptions(mip_gap=0.0)
HAND: dict[str, Any] = {  # tests/vpp/test_redispatch.py's day (this file runs on its own), with a value of lost load
    "name": "hand", "start": "2026-07-15T00:00:00+08:00", "step_minutes": 60, "steps": 8, "voll_cny_per_mwh": 10000,
    "grid": {"import_max_mw": 10, "buy_cny_per_mwh": [100, 105, 110, 115, 500, 450, 200, 210],
             "deviation": {"short_cny_per_mwh": 1000, "long_cny_per_mwh": 800}},
    "assets": [{"id": "load", "type": "load", "demand_mw": 1},
               {"id": "bat", "type": "battery", "power_mw": 1, "energy_mwh": 2, "charge_efficiency": 1,
                "discharge_efficiency": 1, "soc_min": 0, "soc_max": 1, "degradation_cny_per_mwh": 10}],
}
HAND_OBJECTIVE = 1160.0
DETERMINISTIC = Settings(strategies=("deterministic",), every_minutes=60)


def bill(**lines: float) -> dict[str, float]:
    """The realised bill by line [CNY], the lines not given 0."""
    return {part: float(lines.pop(part, 0.0)) for part in PARTS} | lines


def actuals_file(path: Path, case: Any, load_mw: Any, pv_mw: Any = 0.0) -> Path:
    """A measured CSV (timestamp, load_mw, pv_mw) over the case's steps."""
    n = case.steps
    frame = pd.DataFrame({"timestamp": [t.isoformat() for t in case.timestamps],
                          "load_mw": np.broadcast_to(load_mw, (n,)), "pv_mw": np.broadcast_to(pv_mw, (n,))})
    frame.to_csv(path, index=False)
    return path


def run_hand(tmp_path: Path, load_mw: Any, settings: Settings = DETERMINISTIC, case: dict | None = None) -> Any:
    c = load_case(case or HAND)
    return replay(c, read_actuals(actuals_file(tmp_path / "actuals.csv", c, load_mw), c), settings, EXACT)


def test_perfect_actuals_reproduce_the_day_ahead_objective(tmp_path: Path) -> None:
    r = run_hand(tmp_path, 1.0).runs[0]
    assert r.plan.summary["objective_cny"] == approx(HAND_OBJECTIVE)
    assert r.realised_cny == approx(HAND_OBJECTIVE, abs=1e-6)
    assert r.cost_cny == approx(bill(energy=1140, demand=0, deviation=0, demand_response=0,
                                 operation=20, unserved=0), abs=1e-6)
    assert r.steps["net_import_mw"].tolist() == approx([2, 1, 1, 1, 0, 0, 2, 1], abs=1e-6)


def test_perfect_actuals_at_15_minute_steps_re_dispatched_every_half_hour(tmp_path: Path) -> None:
    # The same day on quarter hours (each hour's price over its four steps): the same optimum, 1160 CNY,
    # re-dispatched every 2 steps.
    quarter = dict(HAND, step_minutes=15, steps=32,
                   grid=dict(HAND["grid"], buy_cny_per_mwh=list(np.repeat(HAND["grid"]["buy_cny_per_mwh"], 4))))
    r = run_hand(tmp_path, 1.0, Settings(strategies=("deterministic",), every_minutes=30), quarter).runs[0]
    assert r.plan.summary["objective_cny"] == approx(HAND_OBJECTIVE)
    assert r.realised_cny == approx(HAND_OBJECTIVE, abs=1e-6)


def test_a_known_forecast_error_pays_the_deviation_derived_by_hand(tmp_path: Path) -> None:
    # The load is 1.5 MW at hour 4, forecast 1. The battery already gives its full 1 MW there, so the
    # 0.5 MW more is imported above the plan (0): 0.5 MWh at 500 = 250 CNY of energy and
    # 0.5 MWh × 1000 = 500 CNY of deviation. Nothing else changes: 1160 + 750 = 1910 CNY.
    load = [1, 1, 1, 1, 1.5, 1, 1, 1]
    r = run_hand(tmp_path, load).runs[0]
    assert r.cost_cny == approx(bill(energy=1390, demand=0, deviation=500, demand_response=0,
                                 operation=20, unserved=0), abs=1e-6)
    assert r.realised_cny == approx(1910)
    totals = r.totals()
    assert totals["deviation_mwh"] == approx(0.5)
    assert totals["deviation_above_mwh"] == approx(0.5)
    assert totals["energy_not_served_mwh"] == approx(0)


def test_an_outage_nobody_announced_costs_what_the_hand_says(tmp_path: Path) -> None:
    # The supply point is out 06:00-07:00. The battery gave its energy at hours 4 and 5, so it is empty:
    # the 1 MW load is not served (1 MWh × 10000), the plan's 2 MW import is missed (2 × 800 = 1600).
    # At hour 7 the battery must still end at 1 MWh: import 2 MW (2 × 210 = 420), 1 MW above the
    # plan (1000). Hours 0-5 as planned: 530 of energy, 20 of wear. 13570 CNY.
    settings = Settings(strategies=("deterministic",), every_minutes=60, scenarios=1,
                        outage=OutageScenario("06:00", 1.0, rate_per_year=876.0))
    runs = {r.world: r for r in run_hand(tmp_path, 1.0, settings).runs}
    assert runs["normal"].realised_cny == approx(HAND_OBJECTIVE)
    out = runs["outage"]
    assert out.cost_cny == approx(bill(energy=950, demand=0, deviation=2600, demand_response=0,
                                   operation=20, unserved=10000), abs=1e-6)
    assert out.totals()["energy_not_served_mwh"] == approx(1.0)
    assert out.totals()["deviation_mwh"] == approx(3.0)


def test_the_outage_scenario_takes_its_probability_from_the_rate() -> None:
    outage = OutageScenario("06:00", 2.0, rate_per_year=0.5)
    assert outage.probability == approx(0.5 * 2 / 8760)
    assert outage.window == "06:00-08:00"
    assert OutageScenario("23:00", 1.0).window == "23:00-24:00"
    stochastic = with_outage_scenario(load_case(HAND), outage)
    assert [s.id for s in stochastic.scenarios] == ["forecast", "outage"]
    assert [s.probability for s in stochastic.scenarios] == approx([1 - outage.probability, outage.probability])
    series = stochastic.scenarios[1].series
    assert series["grid.import_max_mw"] == [10, 10, 10, 10, 10, 10, 0, 0]
    assert stochastic.meta["outage_scenario"]["probability"] == approx(outage.probability)


def test_the_hedged_plan_against_the_deterministic_plan_in_both_worlds(tmp_path: Path) -> None:
    # The stochastic plan knows a 10 % outage at hour 6 (876 a year × 1 h / 8760 h); its first stage is the
    # declared plan D (the battery is recourse in each scenario). Two candidates for hours 6 and 7:
    # A, refill at hour 6: D = [.., 2, 1]. Normal 1160. Outage scenario (its battery keeps 1 MWh for hour 6:
    #   hour 5 imports 1, 450 + 1000 above D; hour 6 islanded, 2 × 800 below D; hour 7 imports 2, 420 + 1000
    #   above D): energy 1400 + wear 20 + deviation 3600 = 5020. Expected 0.9·1160 + 0.1·5020 = 1546.
    # B, refill at hour 7: D = [.., 1, 2]. Normal: 1150 + 20 = 1170. Outage scenario: energy 1400 + wear 20 +
    #   deviation 1000 + 800 = 3220. Expected 0.9·1170 + 0.1·3220 = 1375: the hedge, B.
    # Replayed: the intraday re-dispatch does not foresee the outage, so the battery is empty at hour 6 either
    # way (1 MWh not served, 10000). Hedged, outage: energy 950, wear 20, 1 MWh below D at hour 6 (800),
    # hour 7 as declared: 11770 against the deterministic plan's 13570; normal day: 1170 against 1160.
    settings = Settings(every_minutes=60, scenarios=1, outage=OutageScenario("06:00", 1.0, rate_per_year=876.0))
    runs = {(r.strategy, r.world): r for r in run_hand(tmp_path, 1.0, settings).runs}
    assert list(runs) == [("deterministic", "normal"), ("deterministic", "outage"), ("stochastic", "normal"),
                          ("stochastic", "outage")]
    hedged = runs["stochastic", "normal"].plan
    assert [s.id for s in hedged.case.scenarios] == ["forecast", "outage"]
    assert hedged.summary["objective_cny"] == approx(1375)
    assert hedged.declared_mw.tolist() == approx([2, 1, 1, 1, 0, 0, 1, 2], abs=1e-6)
    assert runs["stochastic", "normal"].realised_cny == approx(1170)
    assert runs["stochastic", "outage"].cost_cny == approx(
        bill(energy=950, demand=0, deviation=800, demand_response=0, operation=20, unserved=10000),
        abs=1e-6)
    assert runs["deterministic", "normal"].realised_cny == approx(1160)
    assert runs["deterministic", "outage"].realised_cny == approx(13570)


# ---------------------------------------------------------------------------
# Frequency regulation: the bands the day-ahead plan offered, held and billed
# ---------------------------------------------------------------------------

REGULATED: dict[str, Any] = {  # four hours at a flat 100 CNY/MWh; the battery earns only by regulating
    "name": "regulated", "start": "2026-07-15T00:00:00+08:00", "step_minutes": 60, "steps": 4,
    "voll_cny_per_mwh": 10000,
    "grid": {"import_max_mw": 10, "export_max_mw": 10, "buy_cny_per_mwh": 100,
             "deviation": {"short_cny_per_mwh": 1000, "long_cny_per_mwh": 800}},
    "assets": [{"id": "load", "type": "load", "demand_mw": 1},
               {"id": "bat", "type": "battery", "power_mw": 1, "energy_mwh": 2, "charge_efficiency": 1,
                "discharge_efficiency": 1, "soc_min": 0, "soc_max": 1, "soc_final_min": 0,
                "degradation_cny_per_mwh": 100, "regulation": True, "regulation_performance": 1.5}],
    "regulation": {"capacity_price_cny_per_mw_h": [10, 40, 40, 40], "mileage_price_cny_per_mw": 5,
                   "mileage_mw_per_mw_h": 2},
}
# By hand: a band r earns Δ·r·(π_c + π_m·μ·K) = r × (π_c + 5 × 2 × 1.5) = r × [25, 55, 55, 55] CNY. Giving
# energy saves 100 CNY/MWh and wears 100: nothing to gain, and a battery giving or taking p MW holds at most
# 1 − p of band. So the plan offers r = 1 MW every hour and leaves the battery idle, importing the load:
# energy 4 × 100 = 400, capacity 10 + 40 + 40 + 40 = 130, mileage 4 × 15 = 60: 400 − 190 = 210 CNY.
REGULATED_OBJECTIVE = 210.0


def test_perfect_actuals_bill_the_regulation_the_plan_offered(tmp_path: Path) -> None:
    r = run_hand(tmp_path, 1.0, case=REGULATED).runs[0]
    assert r.plan.summary["objective_cny"] == approx(REGULATED_OBJECTIVE)
    assert r.cost_cny == approx(bill(energy=400, regulation_capacity=-130, regulation_mileage=-60), abs=1e-6)
    assert r.realised_cny == approx(REGULATED_OBJECTIVE, abs=1e-6)
    assert r.steps["regulation_mw"].tolist() == approx([1, 1, 1, 1], abs=1e-6)
    totals = r.totals()
    assert totals["regulation_held_mw_h"] == approx(4) and totals["regulation_released_mw_h"] == approx(0, abs=1e-6)


def test_a_held_band_keeps_the_battery_from_following_the_load(tmp_path: Path) -> None:
    # The load is 1.5 MW at hour 1, forecast 1. The 1 MW band sold for hour 1 leaves the battery no power
    # to give (1 − 1 = 0 MW), so the 0.5 MW comes from the grid above the plan: 50 CNY of energy and
    # 0.5 MWh × 1000 = 500 of deviation; the band is paid in full. 450 + 500 − 190 = 760 CNY.
    r = run_hand(tmp_path, [1, 1.5, 1, 1], case=REGULATED).runs[0]
    assert r.cost_cny == approx(bill(energy=450, deviation=500, regulation_capacity=-130, regulation_mileage=-60),
                                abs=1e-6)
    assert r.realised_cny == approx(760)


def test_the_bands_are_withdrawn_and_not_paid_from_the_outage_on(tmp_path: Path) -> None:
    # The supply point is out 02:00-03:00. The re-dispatch at hour 2 learns it: islanded, the district cannot
    # regulate and serves its load first, so it withdraws its offers for the rest of the day (hours 2 and 3,
    # 55 + 55 CNY not paid). The battery gives its 1 MWh at hour 2 (wear 100), nothing is unserved; net
    # import 0 against the plan's 1: 800 below the plan. Hour 3 imports the load as planned.
    # Energy 300, deviation 800, wear 100, capacity −(10 + 40), mileage −2 × 15: 1120 CNY.
    settings = Settings(strategies=("deterministic",), every_minutes=60, scenarios=1,
                        outage=OutageScenario("02:00", 1.0, rate_per_year=876.0))
    runs = {r.world: r for r in run_hand(tmp_path, 1.0, settings, case=REGULATED).runs}
    assert runs["normal"].realised_cny == approx(REGULATED_OBJECTIVE)
    out = runs["outage"]
    assert out.cost_cny == approx(bill(energy=300, deviation=800, operation=100, regulation_capacity=-50,
                                       regulation_mileage=-30), abs=1e-6)
    assert out.realised_cny == approx(1120)
    assert out.steps["regulation_mw"].tolist() == approx([1, 1, 0, 0], abs=1e-6)
    totals = out.totals()
    assert (totals["regulation_offered_mw_h"], totals["regulation_held_mw_h"], totals["regulation_released_mw_h"]) \
        == approx((4, 2, 2), abs=1e-6)
    assert totals["energy_not_served_mwh"] == approx(0, abs=1e-6)


# ---------------------------------------------------------------------------
# The command: files, the independent recomputation, bad input
# ---------------------------------------------------------------------------

RUNNER = CliRunner()

PRICED: dict[str, Any] = {
    **HAND, "name": "priced",
    "grid": {**HAND["grid"], "demand_charge_cny_per_mw": 100, "peak_to_date_mw": 1.2, "sell_cny_per_mwh": 50,
             "export_max_mw": 5, "deviation": {"short_cny_per_mwh": 1000, "long_cny_per_mwh": 800,
                                               "tolerance_mw": 0.1}},
    "assets": [*HAND["assets"][:1], {**HAND["assets"][1], "regulation": True, "regulation_performance": 1.2},
               {"id": "pv", "type": "pv", "available_mw": [0, 0, 0.5, 1.5, 2, 1, 0, 0]}],
    "regulation": {"capacity_price_cny_per_mw_h": [30, 30, 5, 5, 5, 5, 60, 60], "mileage_price_cny_per_mw": 4,
                   "mileage_mw_per_mw_h": 2.5},
}


def cli(*args: str) -> Any:
    return RUNNER.invoke(app, ["replay", *args])


def test_the_realised_cost_recomputed_from_replay_csv(tmp_path: Path) -> None:
    case = load_case(PRICED)
    (tmp_path / "case.json").write_text(case.to_json(), encoding="utf-8")
    actuals = actuals_file(tmp_path / "actuals.csv", case, [1, 1.2, 0.9, 1, 1.6, 1, 1.1, 1], [0, 0, 0.8, 1, 2.5, 0.4, 0, 0])
    res = cli("--date", "2026-07-15", "--case", str(tmp_path / "case.json"), "--actuals", str(actuals),
              "--strategy", "deterministic", "--every", "60", "--mip-gap", "0", "--out", str(tmp_path / "out"))
    assert res.exit_code == 0, res.output
    csv = pd.read_csv(tmp_path / "out" / "replay.csv")
    done = json.loads((tmp_path / "out" / "replay.json").read_text())["results"][0]
    assert (tmp_path / "out" / "replay.png").stat().st_size > 0
    # The flows balance the actual load and PV at every step (no heat, no other asset).
    supply = csv["import_mw"] - csv["export_mw"] + csv["pv_actual_mw"] - csv["pv_curtailed_mw"] \
        + csv["battery_discharge_mw"] - csv["battery_charge_mw"] + csv["unserved_mw"]
    assert supply.tolist() == approx(csv["load_actual_mw"].tolist(), abs=1e-6)
    # The bill, from the flows and the case's prices (step 1 h).
    buy, sell = np.array(PRICED["grid"]["buy_cny_per_mwh"]), 50.0
    net = csv["import_mw"] - csv["export_mw"]
    d, eps = csv["declared_mw"], 0.1
    energy = float((buy * csv["import_mw"] - sell * csv["export_mw"]).sum())
    deviation = float((1000 * np.maximum(0, net - d - eps) + 800 * np.maximum(0, d - net - eps)).sum())
    demand = 100 * (max(1.2, csv["import_mw"].max()) - 1.2)
    wear = 10 * float(csv["battery_discharge_mw"].sum())
    unserved = 10000 * float(csv["unserved_mw"].sum())
    band = csv["regulation_mw"].to_numpy()
    assert band.sum() > 1  # the plan offers regulation
    capacity = float((band * np.array(PRICED["regulation"]["capacity_price_cny_per_mw_h"])).sum())
    mileage = float((band * 4 * 2.5 * 1.2).sum())
    assert done["cost_cny"] == approx(bill(energy=energy, demand=demand, deviation=deviation,
                                           demand_response=0, regulation_capacity=-capacity,
                                           regulation_mileage=-mileage, operation=wear, unserved=unserved),
                                      abs=1e-6)
    assert done["realised_cost_cny"] == approx(energy + demand + deviation + wear + unserved - capacity - mileage)
    assert done["deviation_mwh"] == approx(float((np.maximum(0, net - d - eps) + np.maximum(0, d - net - eps)).sum()))
    assert "realised cost [CNY]" in res.output and "deterministic" in res.output


def bad_actuals(tmp_path: Path, frame: pd.DataFrame, *extra: str) -> Any:
    case = load_case(HAND)
    (tmp_path / "case.json").write_text(case.to_json(), encoding="utf-8")
    frame.to_csv(tmp_path / "bad.csv", index=False)
    return cli("--date", "2026-07-15", "--case", str(tmp_path / "case.json"), "--actuals", str(tmp_path / "bad.csv"),
               "--strategy", "deterministic", "--out", str(tmp_path / "out"), *extra)


def good_frame() -> pd.DataFrame:
    case = load_case(HAND)
    return pd.DataFrame({"timestamp": [t.isoformat() for t in case.timestamps], "load_mw": 1.0, "pv_mw": 0.0})


def test_an_actuals_file_without_its_columns_is_named(tmp_path: Path) -> None:
    res = bad_actuals(tmp_path, good_frame().rename(columns={"pv_mw": "solar"}))
    assert res.exit_code == 2
    assert "--actuals:" in res.output and "has no column 'pv_mw': expected the columns timestamp, load_mw, pv_mw" \
        in res.output


def test_an_actuals_file_of_the_wrong_length_is_named(tmp_path: Path) -> None:
    res = bad_actuals(tmp_path, good_frame().drop(index=3))
    assert res.exit_code == 2
    assert "--actuals: 7 row(s) of" in res.output and "fall on 2026-07-15: expected 8, one per 60-minute step " \
        "from 00:00 to 07:00" in res.output


def test_an_actuals_value_that_is_not_a_number_is_named(tmp_path: Path) -> None:
    frame = good_frame().astype({"load_mw": object})
    frame.loc[2, "load_mw"] = "n/a"
    frame.loc[5, "pv_mw"] = -1.0
    res = bad_actuals(tmp_path, frame)
    assert res.exit_code == 2
    assert "--actuals.load_mw: at 2026-07-15 02:00: expected a number >= 0 [MW], got 'n/a'" in res.output
    assert "--actuals.pv_mw: at 2026-07-15 05:00: expected a number >= 0 [MW], got '-1.0'" in res.output


def test_a_bad_timestamp_in_the_actuals_is_named(tmp_path: Path) -> None:
    frame = good_frame()
    frame.loc[1, "timestamp"] = "yesterday"
    res = bad_actuals(tmp_path, frame)
    assert res.exit_code == 2
    assert "--actuals.timestamp: row 2: 'yesterday' is not an ISO 8601 time" in res.output


def test_a_date_outside_the_actuals_is_named(tmp_path: Path) -> None:
    frame = good_frame()
    frame["timestamp"] = [t.replace("2026-07-15", "2026-07-20") for t in frame["timestamp"]]
    res = bad_actuals(tmp_path, frame)
    assert res.exit_code == 2
    assert "--date: 2026-07-15 is outside the actuals of" in res.output and \
        "which cover 2026-07-20 to 2026-07-20" in res.output


def test_a_date_outside_the_synthetic_year_is_named() -> None:
    from vpp.cases import materialize

    with pytest.raises(CaseError) as info:
        read_actuals(None, materialize("teda-east", "2026-07-15", step_minutes=60))
    assert str(info.value.problems[0]) == ("date: 2026-07-15 is outside the actuals of the shipped synthetic year, "
                                           "which cover 2025-01-01 to 2025-12-31")


def test_bad_options_are_named(tmp_path: Path) -> None:
    res = bad_actuals(tmp_path, good_frame(), "--every", "45", "--strategy", "psychic")
    assert res.exit_code == 2
    assert "--strategy: expected some of deterministic, stochastic, got ['deterministic', 'psychic']" in res.output
    assert "--every: expected a whole multiple of the case's 60-minute step (e.g. 60), got 45" in res.output
    res = bad_actuals(tmp_path, good_frame(), "--outage-rate", "2")
    assert res.exit_code == 2
    assert "--outage-hours: give the length of the outage scenario [h] with --outage-rate" in res.output
    res = bad_actuals(tmp_path, good_frame(), "--outage-rate", "-1", "--outage-hours", "30")
    assert "--outage-rate: expected a number of outages a year > 0, got -1.0" in res.output
    assert "--outage-hours: expected at most 24 hours (a day), got 30" in res.output
    res = bad_actuals(tmp_path, good_frame(), "--outage-hours", "2", "--outage-start", "25:00")
    assert res.exit_code == 2
    assert "--outage-start: 25:00 is not a time of the day (00:00 to 24:00): expected HH:MM in local time" in res.output


def test_a_case_file_of_another_day_is_named(tmp_path: Path) -> None:
    case = load_case(HAND)
    (tmp_path / "case.json").write_text(case.to_json(), encoding="utf-8")
    res = cli("--date", "2026-07-16", "--case", str(tmp_path / "case.json"))
    assert res.exit_code == 2
    assert "--date: the case file" in res.output and "is the day 2026-07-15, not 2026-07-16" in res.output


# ---------------------------------------------------------------------------
# TEDA east at hourly steps
# ---------------------------------------------------------------------------


def teda_hourly() -> Any:
    from vpp.cases import materialize

    return materialize("teda-east", "2025-07-15", step_minutes=60)


def test_the_synthetic_year_gives_an_hourly_case_the_means_of_its_quarter_hours() -> None:
    from vpp.replay import shipped_history

    case = teda_hourly()
    got = read_actuals(None, case)
    year = pd.read_csv(shipped_history(), skiprows=1)
    day = year[year["timestamp"].str.startswith("2025-07-15")]
    assert len(day) == 96
    assert got.load_mw.tolist() == approx(day["load_mw"].to_numpy().reshape(24, 4).mean(axis=1).tolist())
    assert got.pv_mw.tolist() == approx(day["pv_mw"].to_numpy().reshape(24, 4).mean(axis=1).tolist())


def test_teda_with_perfect_actuals_reproduces_its_day_ahead_objective() -> None:
    # Every state the replay carries (batteries, the EV fleet's energy, the batch process's start, the plant's
    # curtailments, the green contracts taken) on the real template, re-dispatched every hour on the forecast
    # itself. The ice store is left out: a re-dispatch cannot yet start a thermal store above its day-ahead
    # initial level without holding it there to the end (vpp.redispatch, a canonical store ends at its
    # initial level), which the replay of a day that pre-cools runs into.
    from vpp.replay import Actuals

    data = json.loads(teda_hourly().to_json())
    data["assets"] = [a for a in data["assets"] if a["type"] != "thermal_storage"]
    case = load_case(data)

    def total(kind: str, name: str) -> np.ndarray:
        return sum((case.series(getattr(a, name)) for a in case.assets if a.type == kind), np.zeros(case.steps))

    perfect = Actuals(total("load", "demand_mw"), total("pv", "available_mw"), "the forecast")
    r = replay(case, perfect, DETERMINISTIC, EXACT).runs[0]
    assert r.realised_cny == approx(r.plan.summary["objective_cny"], rel=1e-9)
    assert r.cost_cny["deviation"] == approx(0, abs=1e-6)
