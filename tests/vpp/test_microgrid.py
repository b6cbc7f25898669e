"""The district as a microgrid: a day with a known outage, a backup reserve, TEDA's critical loads.

Hand cases (Δ = 1 h, buy in CNY/MWh, the value of lost load 20000) solved through the product's
paths: the case transformations of :mod:`vpp.microgrid.islanding` and ``vpp dispatch --outage
--backup-hours`` run as a subprocess.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from models import SolveOptions
from tests.vpp.test_cli import vpp, write_json
from vpp.case import load_case
from vpp.cases import materialize
from vpp.dispatch import solve_case
from vpp.errors import CaseError, InfeasibleError
from vpp.microgrid import (
    outage_series,
    parse_outage,
    plan_microgrid,
    with_backup_hours,
    with_outage,
)
from vpp.microgrid.islanding import outage_steps
from vpp.results import DispatchResult

OPTS = SolveOptions(mip_gap=1e-9)
START = "2026-07-15T00:00:00+08:00"
LOSSLESS = {"charge_efficiency": 1.0, "discharge_efficiency": 1.0, "soc_min": 0.0, "soc_max": 1.0}


def day(steps: int, assets: list[dict[str, Any]], buy: Any = 100.0, minutes: int = 60, **kw: Any) -> dict[str, Any]:
    grid = {"import_max_mw": 10.0, "buy_cny_per_mwh": buy} | kw.pop("grid", {})
    return {"name": "micro", "start": kw.pop("start", START), "step_minutes": minutes, "steps": steps, "grid": grid,
            "assets": assets, **kw}


def series(result: DispatchResult, element: str, quantity: str) -> np.ndarray:
    s = result.schedule
    return s[(s["asset"] == element) & (s["quantity"] == quantity)].sort_values("step")["value"].to_numpy(float)


def solved(case: Any) -> DispatchResult:
    result = solve_case(case, OPTS)
    assert result.status == "optimal"
    return result


approx = pytest.approx


# ---------------------------------------------------------------------------
# The outage window
# ---------------------------------------------------------------------------


def test_a_window_reads_as_clock_times_and_may_run_past_midnight() -> None:
    w = parse_outage("10:00-12:30")
    assert (w.start_minute, w.end_minute, w.minutes, w.text) == (600, 750, 150, "10:00-12:30")
    assert parse_outage("22:00-02:00").minutes == 240
    assert parse_outage(" 23:00 - 24:00 ").minutes == 60
    assert parse_outage("00:00-24:00").minutes == 1440  # the whole day


FORM = "; an outage is HH:MM-HH:MM in local time, e.g. 10:00-12:30"


@pytest.mark.parametrize(("text", "message"), [
    ("10-12", "expected a time as HH:MM, got '10'" + FORM),
    ("10:00", "expected HH:MM-HH:MM in local time, e.g. 10:00-12:30, got '10:00'"),
    ("25:00-26:00", "25:00 is not a time of the day (00:00 to 24:00)" + FORM),
    ("24:00-02:00", "an outage starts by 23:59: 24:00 may only end a window" + FORM),
    ("10:60-11:00", "10:60 is not a time of the day (00:00 to 24:00)" + FORM),
    ("10:00-10:00", "the window '10:00-10:00' is empty: its start and end are the same time"),
])
def test_a_bad_window_says_what_was_expected(text: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_outage(text)
    assert str(info.value) == message


def test_the_steps_of_a_window_are_every_step_it_touches() -> None:
    hourly = load_case(day(24, []))
    assert outage_steps(hourly, parse_outage("10:00-12:00")) == ([10, 11], False)
    assert outage_steps(hourly, parse_outage("10:30-11:15")) == ([10, 11], False)  # partly covered: whole step
    assert outage_steps(hourly, parse_outage("23:00-01:00")) == ([23], True)  # runs past the horizon's end
    # a day that starts at 06:00: a window that began before it and ends after its start counts
    late = load_case(day(24, [], start="2026-07-15T06:00:00+08:00"))
    assert outage_steps(late, parse_outage("05:00-07:00")) == ([0], False)
    assert outage_steps(late, parse_outage("02:00-03:00")) == ([20], False)  # the next night, within the horizon


def test_an_outage_sets_both_maxima_to_zero_over_its_steps_in_every_scenario_and_voids_the_plan() -> None:
    data = day(4, [{"id": "l", "type": "load", "demand_mw": 1}],
               grid={"export_max_mw": 5, "schedule_mw": [1, 2, 3, 4],
                     "deviation": {"short_cny_per_mwh": 10, "long_cny_per_mwh": 10}},
               scenarios=[{"id": "a", "probability": 0.5, "series": {"grid.import_max_mw": [8, 8, 8, 8]}},
                          {"id": "b", "probability": 0.5, "series": {}}])
    case = with_outage(load_case(data), "01:00-03:00")
    assert case.grid.import_max_mw == [10, 0, 0, 10]
    assert case.grid.export_max_mw == [5, 0, 0, 5]
    assert case.grid.schedule_mw == [1, 0, 0, 4]
    assert case.scenarios[0].series["grid.import_max_mw"] == [8, 0, 0, 8]
    assert case.meta["outage"] | {"source": ""} == {
        "window": "01:00-03:00", "from": "2026-07-15T01:00:00+08:00", "to": "2026-07-15T03:00:00+08:00",
        "steps": [1, 3], "beyond_horizon": False, "source": ""}


def test_an_outage_as_a_scenarios_series_solves_as_the_known_outage() -> None:
    # A stochastic day whose second scenario is the outage of hour 1 (import and export 0 then):
    # the battery of the islanded-hour case below carries it in that scenario only.
    base = load_case(day(2, [{"id": "l", "type": "load", "demand_mw": 1}, BATTERY], grid={"export_max_mw": 2}))
    series = outage_series(base, "01:00-02:00")
    assert series == {"grid.import_max_mw": [10, 0], "grid.export_max_mw": [2, 0]}
    stochastic = load_case(base.model_dump(mode="json", exclude_none=True)
                           | {"scenarios": [{"id": "normal", "probability": 0.9, "series": {}},
                                            {"id": "outage", "probability": 0.1, "series": series}]})
    r = solved(stochastic)
    s = r.schedule
    import_mw = s[(s["asset"] == "grid") & (s["quantity"] == "import_mw")]
    assert import_mw[import_mw["scenario"] == "outage"].sort_values("step")["value"].tolist() == approx([1, 0])
    assert [sc["cost_cny"] for sc in r.summary["scenarios"]] == approx([100, 100])


def test_an_outage_outside_the_horizon_and_a_reserve_of_no_hours_are_both_reported() -> None:
    case = load_case(day(2, []))
    with pytest.raises(CaseError) as info:
        plan_microgrid(case, "05:00-06:00", 0, where=("--outage", "--backup-hours"))
    assert [str(p) for p in info.value.problems] == [
        "--outage: the outage 05:00-06:00 is not within the case's horizon 2026-07-15T00:00:00+08:00 to "
        "2026-07-15T02:00:00+08:00",
        "--backup-hours: expected a number of hours > 0, got 0",
    ]
    assert info.value.step == "planning the islanded day"
    with pytest.raises(CaseError, match="backup_hours: expected at most 8760 hours \\(a year\\), got 1e\\+300"):
        with_backup_hours(case, 1e300)


# ---------------------------------------------------------------------------
# Islanded steps: carried, and not
# ---------------------------------------------------------------------------

BATTERY = {"id": "b", "type": "battery", "power_mw": 1, "energy_mwh": 2, "soc_initial": 0.5, "soc_final_min": 0,
           **LOSSLESS}


def test_an_islanded_step_the_battery_carries() -> None:
    # load 1 MW, buy 100; the supply point is out in hour 1. The battery (1 MW, 1 MWh in it, may end
    # empty) carries hour 1; hour 0 is bought: 100. Discharging in hour 0 instead would leave hour 1
    # unserved at 20000.
    r = solved(with_outage(load_case(day(2, [{"id": "l", "type": "load", "demand_mw": 1}, BATTERY])), "01:00-02:00"))
    assert r.objective_cny == approx(100)
    assert series(r, "grid", "import_mw") == approx([1, 0])
    assert series(r, "b", "discharge_mw") == approx([0, 1])
    assert r.summary["unserved"] == []


def test_an_islanded_step_beyond_the_battery_is_unserved_at_the_value_of_lost_load_and_named() -> None:
    # load [1, 2]: in hour 1 the battery gives its 1 MW; the other 1 MWh is unserved at 20000:
    # 100 (hour 0) + 20000 = 20100.
    r = solved(with_outage(load_case(day(2, [{"id": "l", "type": "load", "demand_mw": [1, 2]}, BATTERY])),
                           "01:00-02:00"))
    assert r.objective_cny == approx(100 + 20000)
    assert r.summary["cost_cny"]["unserved"] == approx(20000)
    [u] = r.summary["unserved"]
    assert (u["where"], u["energy_mwh"], u["steps"]) == ("grid", approx(1), [1])
    assert r.summary["messages"] == ["unserved energy at node grid: 1.000 MWh (max 1.000 MW) during 01:00-02:00"]


def test_an_islanded_step_with_surplus_pv_curtails_it() -> None:
    # PV 3 MW against a 1 MW load and a battery that can take 1 MW: 1 MW is curtailed (no export).
    r = solved(with_outage(load_case(day(1, [{"id": "l", "type": "load", "demand_mw": 1},
                                             {"id": "pv", "type": "pv", "available_mw": 3},
                                             dict(BATTERY, soc_final_min=0.5)],
                                            grid={"export_max_mw": 5, "sell_cny_per_mwh": 50})), "00:00-01:00"))
    assert series(r, "grid", "export_mw") == approx([0])
    assert series(r, "pv", "curtailed_mw") == approx([1])
    assert series(r, "b", "charge_mw") == approx([1])


# ---------------------------------------------------------------------------
# The backup reserve
# ---------------------------------------------------------------------------


def test_a_reserve_that_binds_costs_the_arbitrage_it_forbids() -> None:
    # buy [1000, 100], load 1 MW of which 0.5 critical; battery 1 MW / 2 MWh, lossless, 1 MWh in it,
    # soc_min 0.1 (0.2 MWh), must end at 1 MWh. Without a reserve it discharges 0.8 in hour 0 and buys
    # it back in hour 1: 1000·0.2 + 100·1.8 = 380. A 1 h reserve holds 0.5 MWh above the minimum at
    # every step: it may discharge 0.3 only: 1000·0.7 + 100·1.3 = 830. The reserve costs 450.
    b = {"id": "b", "type": "battery", "power_mw": 1, "energy_mwh": 2, "charge_efficiency": 1,
         "discharge_efficiency": 1}
    case = load_case(day(2, [{"id": "l", "type": "load", "demand_mw": 1, "critical_fraction": 0.5}, b],
                         buy=[1000, 100]))
    assert solved(case).objective_cny == approx(380)
    r = solved(with_backup_hours(case, 1))
    assert r.objective_cny == approx(830)
    assert series(r, "backup", "required_mwh") == approx([0.5, 0.5])
    assert series(r, "backup", "held_mwh") == approx([0.5, 0.8])


def test_the_reserve_at_the_end_of_the_day_covers_the_start_of_the_next() -> None:
    # Critical 2 MW in hour 0 only ([2, 0, 0, 0]), another 2 MW in hours 1–3: 2 MW every hour. buy
    # [100, 100, 100, 1000]; battery 2 MW / 4 MWh, lossless, 2 MWh in it, may end empty.
    # Without a reserve it empties into hour 3: 6 MWh bought at 100 = 600. A 1 h reserve: the next
    # hour of the last step is hour 0 of the repeated day, Q = [0, 0, 0, 2]: the day must end with
    # 2 MWh, bought at 100: 800.
    b = {"id": "b", "type": "battery", "power_mw": 2, "energy_mwh": 4, "soc_initial": 0.5, "soc_final_min": 0,
         **LOSSLESS}
    case = load_case(day(4, [{"id": "c", "type": "load", "demand_mw": [2, 0, 0, 0], "critical_fraction": 1},
                             {"id": "o", "type": "load", "demand_mw": [0, 2, 2, 2]}, b],
                         buy=[100, 100, 100, 1000]))
    assert solved(case).objective_cny == approx(600)
    r = solved(with_backup_hours(case, 1))
    assert series(r, "backup", "required_mwh") == approx([0, 0, 0, 2])
    assert r.objective_cny == approx(800)
    assert series(r, "b", "soc_mwh")[-1] == approx(2)


def test_a_reserve_the_batteries_cannot_hold_is_infeasible_naming_backup_hours() -> None:
    # 4 MW critical for the next hour: 4 MWh, twice what the 2 MWh battery holds
    case = load_case(day(2, [{"id": "l", "type": "load", "demand_mw": 4, "critical_fraction": 1}, BATTERY]))
    with pytest.raises(InfeasibleError, match="backup_hours=1 needs 4 MWh in the batteries above their minimum"):
        solve_case(with_backup_hours(case, 1), OPTS)


# ---------------------------------------------------------------------------
# TEDA east as a microgrid
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def teda() -> Any:
    return materialize("teda-east", "2026-07-15", step_minutes=60)


def test_teda_loads_carry_their_critical_share_with_its_sources(teda: Any) -> None:
    kinds = {k: v for k, v in teda.meta["sources"].items() if k.startswith("critical_load.kinds.")}
    assert set(kinds) == {f"critical_load.kinds.{k}" for k in
                          ("hospitals", "water", "data_centres", "process_safety", "life_safety")}
    assert all(v["source"].startswith("[assumed]") for v in kinds.values())
    share = sum(v["value"] for v in kinds.values())
    assert share == approx(0.05)
    assert teda.meta["derived"]["critical_load.district_fraction"]["value"] == approx(share)
    loads = [a for a in teda.assets if a.type == "load"]
    assert len(loads) == 5 and all(a.critical_fraction == approx(share) for a in loads)
    assert all(a.meta["sources"]["critical_fraction"].startswith("[assumed]") for a in loads)
    [plant] = [a for a in teda.assets if a.type == "curtailable_load"]
    assert plant.critical_fraction == teda.meta["sources"]["critical_load.plant_fraction"]["value"] == 0.15
    # 5 % of the district's 500 MW peak plus 3 of the plant's 20 MW, on the day's profile
    critical = sum(a.critical_fraction * teda.series(a.demand_mw) for a in [*loads, plant])
    district = sum(teda.series(a.demand_mw) for a in loads)
    assert critical == approx(0.05 * district + 3)


def test_teda_holds_a_one_hour_reserve_and_not_a_two_hour_one(teda: Any) -> None:
    # The four batteries deliver at most 0.9 · 0.8 · 53.5 = 38.52 MWh; the evening's critical load
    # after sunset is about 21 MW, so two hours of it do not fit.
    r = solved(with_backup_hours(teda, 1))
    assert np.all(series(r, "backup", "held_mwh") >= series(r, "backup", "required_mwh") - 1e-6)
    assert series(r, "backup", "required_mwh").max() <= 0.9 * 0.8 * 53.5
    with pytest.raises(InfeasibleError, match=r"backup_hours=2 needs \d+(\.\d+)? MWh in the batteries"):
        solve_case(with_backup_hours(teda, 2), OPTS)


# ---------------------------------------------------------------------------
# vpp dispatch --outage --backup-hours
# ---------------------------------------------------------------------------


def test_vpp_dispatch_plans_a_known_outage_and_a_reserve(tmp_path: Path) -> None:
    # The reserve case above with the supply point out in hour 1, and the day allowed to end at 0.7 MWh.
    # Hour 1 is islanded: the battery carries the 1 MW load, and still holds the reserve's 0.5 MWh
    # above its 0.2 MWh minimum at the end: soc[1] = soc[0] − 1 ≥ 0.7, so soc[0] ≥ 1.7 MWh: it
    # charges 0.7 in hour 0, at 1000: 1000·(1 + 0.7) = 1700, nothing unserved.
    b = {"id": "b", "type": "battery", "power_mw": 1, "energy_mwh": 2, "charge_efficiency": 1,
         "discharge_efficiency": 1, "soc_final_min": 0.35}
    path = write_json(tmp_path / "case.json", day(2, [{"id": "l", "type": "load", "demand_mw": 1,
                                                       "critical_fraction": 0.5}, b], buy=[1000, 100]))
    done = vpp("dispatch", "--case", str(path), "--outage", "01:00-02:00", "--backup-hours", "1",
               "--out", str(tmp_path / "out"), "--no-chart", "--mip-gap", "0")
    assert done.returncode == 0, done.stderr
    assert "islanded 01:00-02:00: steps 1-1 without import or export" in done.stdout
    assert "backup reserve 1 h: the batteries hold up to 0.5 MWh for the critical load" in done.stdout
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["objective_cny"] == approx(1700)
    assert summary["unserved"] == []
    written = json.loads((tmp_path / "out" / "case.json").read_text())
    assert written["backup_hours"] == 1 and written["grid"]["import_max_mw"] == [10, 0]
    assert written["meta"]["outage"]["window"] == "01:00-02:00"


@pytest.mark.parametrize(("args", "message"), [
    (["--outage", "10-12"], "--outage: expected a time as HH:MM, got '10'" + FORM),
    (["--outage", "05:00-06:00"], "--outage: the outage 05:00-06:00 is not within the case's horizon"),
    (["--backup-hours", "-1"], "--backup-hours: expected a number of hours > 0, got -1.0"),
])
def test_vpp_dispatch_names_a_bad_outage_or_reserve(tmp_path: Path, args: list[str], message: str) -> None:
    path = write_json(tmp_path / "case.json", day(2, [{"id": "l", "type": "load", "demand_mw": 1}]))
    done = vpp("dispatch", "--case", str(path), *args, "--out", str(tmp_path / "out"), "--no-chart")
    assert done.returncode == 2
    assert "problem(s) while planning the islanded day" in done.stderr
    assert message in done.stderr


def test_vpp_dispatch_says_when_the_reserve_cannot_be_held(tmp_path: Path) -> None:
    path = write_json(tmp_path / "case.json", day(2, [{"id": "l", "type": "load", "demand_mw": 4,
                                                       "critical_fraction": 1}, BATTERY]))
    done = vpp("dispatch", "--case", str(path), "--backup-hours", "1", "--out", str(tmp_path / "out"), "--no-chart")
    assert done.returncode == 1
    assert "no schedule (infeasible)" in done.stderr and "backup_hours=1 needs 4 MWh" in done.stderr
    assert "[bold red]" not in done.stderr  # the console's markup is read, not printed
