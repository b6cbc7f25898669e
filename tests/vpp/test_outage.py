"""What an outage would cost: outages simulated from every step of a solved day (vpp.microgrid.survival).

A tiny day whose survival curve is derived by hand; every simulation checked against an independent
route (a greedy walk of the battery, exact for one lossless-in-time battery at the root, and the
outage of every length solved on its own); the properties over small random days: the curve is
non-increasing in the outage's length, more energy at the start never lowers it, and a reserve of
H hours carries every start but the day's first through H hours when the batteries' power suffices;
``vpp outage`` end to end.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from models import SolveOptions
from tests.vpp.test_cli import vpp, write_json
from vpp.case import load_case
from vpp.dispatch import solve_case
from vpp.errors import CaseError, InfeasibleError
from vpp.microgrid.islanding import with_backup_hours
from vpp.microgrid.study import Dispatched, outage_study, read_dispatch, without_reserve
from vpp.microgrid.survival import Settings, outage_case, outage_inputs, simulate

START = "2026-07-15T00:00:00+08:00"
LOSSLESS = {"charge_efficiency": 1.0, "discharge_efficiency": 1.0, "soc_min": 0.0, "soc_max": 1.0}
OPTS = SolveOptions(mip_gap=1e-9, threads=1)
approx = pytest.approx


def levels_table(battery: str, soc_mwh: list[float]) -> pd.DataFrame:
    """A schedule holding only a battery's end-of-step levels [MWh] (what the simulations read of it)."""
    return pd.DataFrame({"asset": battery, "quantity": "soc_mwh", "step": range(len(soc_mwh)), "value": soc_mwh})


# ---------------------------------------------------------------------------
# The tiny day, by hand
# ---------------------------------------------------------------------------
#
# Δ = 1 h, 4 steps; a load of 1 MW, half of it critical; PV [0, 0, 0.5, 0]; a lossless battery of
# 1 MW / 2 MWh whose levels in the schedule are 0.6, 0.2, 0, 1 MWh at the ends of the steps (1 MWh
# before the day). Outages of up to 2 h, the other half of the load shed at 100 CNY/MWh:
#
#   start 0: 1.0 MWh in hand, 0.5 + 0.5 needed          → both hours carried, nothing else served
#   start 1: 0.6 MWh: hour 1 takes 0.5, hour 2 the PV   → both carried, 0.1 MWh of the rest served
#   start 2: 0.2 MWh: hour 2 the PV, hour 3 0.5 > 0.2    → one hour carried, 0.3 MWh at risk
#   start 3: nothing in hand, hours 3 and 0 (the day repeats): 1.0 MWh at risk
#
# Survival: 1 h: starts 0, 1, 2 (3 of 4); 2 h: starts 0 and 1 (2 of 4).
# Outage cost: 100·1.0, 100·0.9, 20000·0.3 + 100·1.0, 20000·1.0 + 100·1.0.

TINY = {"name": "tiny", "start": START, "step_minutes": 60, "steps": 4,
        "grid": {"import_max_mw": 10, "buy_cny_per_mwh": 100},
        "assets": [{"id": "l", "type": "load", "demand_mw": 1, "critical_fraction": 0.5},
                   {"id": "pv", "type": "pv", "available_mw": [0, 0, 0.5, 0]},
                   {"id": "b", "type": "battery", "power_mw": 1, "energy_mwh": 2, **LOSSLESS}]}
TINY_LEVELS = [0.6, 0.2, 0.0, 1.0]


def test_the_tiny_days_survival_curve_as_derived_by_hand() -> None:
    study = simulate(load_case(TINY), levels_table("b", TINY_LEVELS), Settings(hours=2, other_cny_per_mwh=100,
                                                                                  options=OPTS))
    s = study.starts
    assert s["survived_steps"].tolist() == [2, 2, 1, 0]
    assert s["battery_mwh"].tolist() == approx([1.0, 0.6, 0.2, 0.0])
    assert s["critical_mwh"].tolist() == approx([1, 1, 1, 1])
    assert s["critical_at_risk_mwh"].tolist() == approx([0, 0, 0.3, 1.0])
    assert s["other_served_mwh"].tolist() == approx([0, 0.1, 0, 0])
    assert s["outage_cost_cny"].tolist() == approx([100, 90, 6100, 20100])
    curve = study.curve()
    assert curve["length_hours"].tolist() == [1, 2]
    assert curve["share_survived"].tolist() == [0.75, 0.5]


def test_the_network_limits_what_the_battery_can_carry() -> None:
    # The same day with the battery behind a 0.3 MW branch and the load at the root: 0.2 MW of the
    # 0.5 MW critical load is short whenever the PV does not cover it.
    #   start 0: 0.2 + 0.2 at risk, nothing carried; start 1: 0.2 (hour 1), hour 2 the PV: 0 carried;
    #   start 2: hour 2 the PV, hour 3 0.2 MWh left sent: 0.3 at risk, 1 carried; start 3: 1.0, 0.
    data = json.loads(json.dumps(TINY))
    data["network"] = {"nodes": [{"id": "n", "capacity_mw": 0.3}]}
    data["assets"][2]["node"] = "n"
    study = simulate(load_case(data), levels_table("b", TINY_LEVELS), Settings(hours=2, other_cny_per_mwh=100,
                                                                                  options=OPTS))
    assert study.starts["survived_steps"].tolist() == [0, 0, 1, 0]
    assert study.starts["critical_at_risk_mwh"].tolist() == approx([0.4, 0.2, 0.3, 1.0])
    assert study.curve()["share_survived"].tolist() == [0.25, 0.0]


def test_an_outage_case_is_the_window_islanded_with_the_battery_at_the_schedules_level() -> None:
    inputs = outage_inputs(load_case(TINY), levels_table("b", TINY_LEVELS))
    case = outage_case(inputs, 3, 2, 100)
    assert case.start.isoformat() == "2026-07-15T03:00:00+08:00"
    assert case.grid.import_max_mw == 0 and case.grid.export_max_mw == 0
    by_id = {a.id: a for a in case.assets}
    assert by_id["grid/critical"].demand_mw == [0.5, 0.5]
    assert by_id["grid/other"].max_reduction_mw == [0.5, 0.5] and by_id["grid/other"].cost_cny_per_mwh == 100
    assert by_id["grid/pv"].available_mw == [0, 0]  # hours 3 and 0
    assert by_id["b"].soc_initial == 0 and by_id["b"].soc_final_min == 0


def test_the_rest_of_the_day_counts_as_load_that_may_be_shed() -> None:
    # A shiftable, a flexible load and a thermal store consume what the schedule gave them; a
    # curtailable load its whole demand, its critical share apart.
    data = {"name": "mix", "start": START, "step_minutes": 60, "steps": 2,
            "grid": {"import_max_mw": 10, "buy_cny_per_mwh": [100, 200]},
            "assets": [{"id": "c", "type": "curtailable_load", "demand_mw": 2, "max_reduction_mw": 1,
                        "cost_cny_per_mwh": 50, "critical_fraction": 0.25},
                       {"id": "s", "type": "shiftable_load", "profile_mw": [3]},
                       {"id": "ev", "type": "flexible_load", "max_power_mw": 2, "energy_mwh": 1}]}
    case = load_case(data)
    result = solve_case(case, OPTS)
    inputs = outage_inputs(case, result.schedule)
    assert inputs.critical_mw["grid"] == approx([0.5, 0.5])
    # the plant's other 1.5 MW, the batch process (3 MW when it runs) and the EV's 1 MWh, all in hour 0
    assert inputs.other_mw["grid"] == approx([1.5 + 3 + 1, 1.5])


def test_a_stochastic_schedule_is_refused_naming_its_scenarios() -> None:
    data = dict(TINY, scenarios=[{"id": "a", "probability": 1.0, "series": {}}])
    with pytest.raises(CaseError, match="scenarios: a stochastic day has one schedule per scenario"):
        outage_inputs(load_case(data), levels_table("b", TINY_LEVELS))


# ---------------------------------------------------------------------------
# An independent route: a greedy walk of one battery at the root
# ---------------------------------------------------------------------------


def greedy(critical: np.ndarray, pv: np.ndarray, level: float, b: dict[str, Any], dt: float) -> tuple[int, float]:
    """Steps carried in full from the start, and the critical energy unserved [MWh], for one battery at the
    root without self-discharge: the PV serves the critical load, its surplus charges the battery (up to
    its power and room), the battery covers the shortfall (up to its power and what it holds above its
    minimum). Exact for one such battery: serving a shortfall now never costs more stored energy than
    serving it later, and frees room for later surplus."""
    E, lo, hi = b["energy_mwh"], b["soc_min"] * b["energy_mwh"], b["soc_max"] * b["energy_mwh"]
    eta_c, eta_d, p_ch, p_dis = b["charge_efficiency"], b["discharge_efficiency"], b["power_mw"], b["power_mw"]
    carried, unserved, failed = 0, 0.0, False
    assert E > 0
    for c, s in zip(critical, pv, strict=True):
        net = c - s
        if net <= 0:
            level = min(hi, level + min(p_ch, -net) * eta_c * dt)
            short = 0.0
        else:
            give = min(p_dis, net, max(0.0, level - lo) * eta_d / dt)
            level -= give * dt / eta_d
            short = net - give
        if short > 1e-7:
            failed = True
        elif not failed:
            carried += 1
        unserved += short * dt
    return carried, unserved


@st.composite
def days(draw: Any, with_levels: bool = True) -> dict[str, Any]:
    n = draw(st.integers(3, 6))
    minutes = draw(st.sampled_from([30, 60]))
    grid = [round(0.1 * k, 1) for k in range(0, 31)]

    def series(lo: int, hi: int) -> list[float]:
        return [draw(st.sampled_from(grid[lo:hi])) for _ in range(n)]

    E = draw(st.sampled_from([1.0, 2.0, 4.0]))
    smin, smax = draw(st.sampled_from([0.0, 0.1])), draw(st.sampled_from([0.9, 1.0]))
    battery = {"id": "b", "type": "battery", "power_mw": draw(st.sampled_from([0.5, 1.0, 3.0])), "energy_mwh": E,
               "charge_efficiency": draw(st.sampled_from([0.9, 1.0])),
               "discharge_efficiency": draw(st.sampled_from([0.9, 1.0])), "soc_min": smin, "soc_max": smax,
               "soc_initial": draw(st.sampled_from([smin, 0.5, smax]))}
    data = {"name": "random", "start": START, "step_minutes": minutes, "steps": n,
            "grid": {"import_max_mw": 20, "buy_cny_per_mwh": series(1, 31)},
            "assets": [{"id": "l", "type": "load", "demand_mw": series(0, 31),
                        "critical_fraction": draw(st.sampled_from([0.25, 0.5, 1.0]))},
                       {"id": "pv", "type": "pv", "available_mw": series(0, 21)}, battery]}
    if with_levels:
        data["levels"] = [draw(st.sampled_from(list(np.linspace(smin * E, smax * E, 5)))) for _ in range(n)]
    data["hours"] = draw(st.sampled_from([0.5, 1.0, 2.0])) if minutes == 30 else draw(st.sampled_from([1.0, 2.0]))
    return data


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(days())
def test_the_simulations_match_a_greedy_walk_and_the_curve_falls_with_the_outages_length(data: dict[str, Any]) -> None:
    levels, hours = data.pop("levels"), data.pop("hours")
    case = load_case(data)
    study = simulate(case, levels_table("b", levels), Settings(hours=hours, other_cny_per_mwh=100, options=OPTS))
    inputs = outage_inputs(case, levels_table("b", levels))
    b, dt, n = data["assets"][2], case.dt_hours, case.steps
    K = math.ceil(hours / dt - 1e-9)
    for s, row in study.starts.iterrows():
        window = (s + np.arange(K)) % n
        carried, unserved = greedy(inputs.critical_mw["grid"][window], inputs.pv_mw["grid"][window],
                                   inputs.level_mwh["b"][s], b, dt)
        assert row["survived_steps"] == carried, (s, row.to_dict())
        assert row["critical_at_risk_mwh"] == approx(unserved, abs=1e-5), (s, row.to_dict())
    share = study.curve()["share_survived"].to_numpy()
    assert np.all(np.diff(share) <= 1e-12)
    # more energy at the start never lowers the survival (the same day, every level raised)
    E = b["energy_mwh"]
    fuller = [min(v + 0.25 * E, b["soc_max"] * E) for v in levels]
    more = simulate(case, levels_table("b", fuller), Settings(hours=hours, other_cny_per_mwh=100, options=OPTS))
    assert np.all(more.starts["survived_steps"].to_numpy() >= study.starts["survived_steps"].to_numpy())
    assert np.all(more.starts["critical_at_risk_mwh"].to_numpy() <= study.starts["critical_at_risk_mwh"].to_numpy() + 1e-6)


def test_each_outage_length_solved_on_its_own_agrees_with_the_bisection() -> None:
    # The network case above, where the battery's power is not the only limit: an outage of every
    # length from every start solved alone (the rest unpriced) is carried exactly up to survived_steps.
    data = json.loads(json.dumps(TINY))
    data["network"] = {"nodes": [{"id": "n", "capacity_mw": 0.6}]}
    data["assets"][2]["node"] = "n"
    data["assets"][0]["demand_mw"] = [1, 1.4, 1, 1.6]
    case, table = load_case(data), levels_table("b", TINY_LEVELS)
    study = simulate(case, table, Settings(hours=4, other_cny_per_mwh=100, options=OPTS))
    inputs = outage_inputs(case, table)
    for s, row in study.starts.iterrows():
        carried = []
        for m in range(1, 5):
            r = solve_case(outage_case(inputs, s, m, 0.0), OPTS)
            carried.append(r.summary["energy_mwh"]["unserved_mwh"] <= 1e-6)
        assert carried == [m <= row["survived_steps"] for m in range(1, 5)], (s, carried, row.to_dict())


# ---------------------------------------------------------------------------
# With and without a reserve
# ---------------------------------------------------------------------------


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(days(with_levels=False), st.sampled_from([1, 2]))
def test_a_reserve_of_h_hours_carries_every_start_but_the_first_through_h_hours(data: dict[str, Any], k: int) -> None:
    # With enough battery power for the critical load and no network, a reserve of H hours keeps,
    # at the end of each step, the energy the next H hours' critical load less PV needs (§5.5): an
    # outage starting at any step after the first is carried through H hours. The first step starts
    # from the day's initial level, the same whatever the reserve. So a larger reserve (here against
    # none and against one of half its length) never lowers the survival of outages up to its length.
    data.pop("hours")
    data["assets"][2]["power_mw"] = 10.0
    case = load_case(data)
    K = k if case.step_minutes == 60 else 2 * k
    reserve_h = K * case.dt_hours
    try:
        with_reserve = solve_case(with_backup_hours(case, reserve_h), OPTS)
    except InfeasibleError:
        assume(False)
    settings_ = Settings(hours=reserve_h, other_cny_per_mwh=100, options=OPTS)
    a = simulate(with_backup_hours(case, reserve_h), with_reserve.schedule, settings_)
    assert np.all(a.starts["survived_steps"].to_numpy()[1:] == K)
    smaller = [case] + ([with_backup_hours(case, reserve_h / 2)] if K >= 2 else [])
    for other in smaller:
        solved = solve_case(other, OPTS)
        b = simulate(other, solved.schedule, settings_)
        assert a.starts["survived_steps"][0] == b.starts["survived_steps"][0]
        assert np.all(a.curve()["share_survived"].to_numpy() >= b.curve()["share_survived"].to_numpy())
        assert with_reserve.objective_cny >= solved.objective_cny - 1e-6


# ---------------------------------------------------------------------------
# The study and vpp outage
# ---------------------------------------------------------------------------

RESERVE_DAY = {"name": "reserve", "start": START, "step_minutes": 60, "steps": 4,
               "grid": {"import_max_mw": 10, "buy_cny_per_mwh": [1000, 100, 100, 1000]},
               "assets": [{"id": "l", "type": "load", "demand_mw": 1, "critical_fraction": 0.5},
                          {"id": "b", "type": "battery", "power_mw": 1, "energy_mwh": 2, "charge_efficiency": 1,
                           "discharge_efficiency": 1}]}


def test_the_study_sets_the_reserves_cost_beside_the_survival_it_buys() -> None:
    case = load_case(RESERVE_DAY)
    plain = solve_case(case, OPTS)
    reserved = solve_case(with_backup_hours(case, 1), OPTS)
    study = outage_study(Dispatched(case, plain.schedule, plain.objective_cny, 0.0), 1, backup_hours=1,
                         other_cny_per_mwh=100, options=OPTS)
    without, with_ = study.variants
    assert (without.label, with_.label) == ("without a reserve", "with a 1 h reserve")
    assert study.reserve_cost_cny == approx(reserved.objective_cny - plain.objective_cny)
    assert study.reserve_cost_cny > 0  # it forbids emptying the battery into the 1000 CNY/MWh hours
    assert with_.curve()["share_survived"].tolist() == [1.0]
    assert without.curve()["share_survived"].tolist()[0] < 1.0
    d = study.to_dict()
    assert d["outage_cost_saved_cny"] == approx(without.starts["outage_cost_cny"].mean()
                                                - with_.starts["outage_cost_cny"].mean())
    assert d["break_even_outage_probability"] == approx(d["reserve_cost_cny"] / d["outage_cost_saved_cny"])
    # the same from the day solved with its reserve: the other one is solved without it
    again = outage_study(Dispatched(with_backup_hours(case, 1), reserved.schedule, reserved.objective_cny, 0.0), 1,
                         other_cny_per_mwh=100, options=OPTS)
    assert again.reserve_cost_cny == approx(study.reserve_cost_cny)
    assert without_reserve(with_backup_hours(case, 1)).backup_hours is None


def test_a_reserve_the_day_cannot_hold_is_a_note_and_the_schedule_is_still_studied() -> None:
    case = load_case(RESERVE_DAY)
    plain = solve_case(case, OPTS)
    study = outage_study(Dispatched(case, plain.schedule, plain.objective_cny, 0.0), 1, backup_hours=4,
                         other_cny_per_mwh=100, options=OPTS)
    assert [v.label for v in study.variants] == ["without a reserve"]
    assert study.reserve_cost_cny is None
    assert study.notes[0].startswith("with a 4 h reserve: no schedule (infeasible)")


@pytest.mark.parametrize(("kw", "message"), [
    ({"hours": 0}, "--hours: expected a number of hours > 0, got 0"),
    ({"hours": 5}, "--hours: expected at most the case's horizon (4 h), got 5"),
    ({"hours": 1, "other_cny_per_mwh": 20000}, "--other-value: expected a price >= 0 and below the value of lost "
                                               "load (20000 CNY/MWh), got 20000"),
])
def test_the_studys_inputs_are_checked_naming_the_option(kw: dict[str, Any], message: str) -> None:
    case = load_case(RESERVE_DAY)
    hours = kw.pop("hours")
    with pytest.raises(CaseError) as info:
        outage_study(Dispatched(case, pd.DataFrame(), 0.0, 0.0), hours, where=("--hours", "--backup-hours",
                                                                                 "--other-value"), **kw)
    assert str(info.value.problems[0]) == message


def _dispatched(tmp_path: Path) -> Path:
    path = write_json(tmp_path / "case.json", RESERVE_DAY)
    done = vpp("dispatch", "--case", str(path), "--out", str(tmp_path / "day"), "--no-chart", "--mip-gap", "0")
    assert done.returncode == 0, done.stderr
    return tmp_path / "day"


def test_vpp_outage_writes_the_study_of_a_dispatched_day(tmp_path: Path) -> None:
    folder = _dispatched(tmp_path)
    done = vpp("outage", "--schedule", str(folder), "--hours", "2", "--backup-hours", "1", "--other-value", "100",
               "--scheduler", "serial", "--mip-gap", "0")
    assert done.returncode == 0, done.stderr
    assert "outages of up to 2 h from each of the 4 steps of reserve 2026-07-15" in done.stdout
    assert "carried through 1 h" in done.stdout and "mean time carried [h]" in done.stdout
    written = json.loads((folder / "outage" / "outage.json").read_text())
    assert [v["label"] for v in written["variants"]] == ["without a reserve", "with a 1 h reserve"]
    day = read_dispatch(folder)
    reserved = solve_case(with_backup_hours(day.case, 1), OPTS)
    assert written["reserve_cost_cny"] == approx(reserved.objective_cny - day.objective_cny)
    assert f"the reserve costs {written['reserve_cost_cny']:,.0f} CNY on the day" in done.stdout
    rows = pd.read_csv(folder / "outage" / "outage_starts.csv")
    assert len(rows) == 8 and set(rows["schedule"]) == {"without a reserve", "with a 1 h reserve"}
    assert (folder / "outage" / "outage.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_vpp_outage_in_worker_processes_and_on_a_local_cluster_gives_the_serial_result(tmp_path: Path) -> None:
    folder = _dispatched(tmp_path)
    results = []
    for scheduler in ("serial", "processes", "local"):
        out = tmp_path / scheduler
        done = vpp("outage", "--schedule", str(folder), "--hours", "2", "--scheduler", scheduler, "--workers", "2",
                   "--out", str(out), "--no-chart", timeout=300)
        assert done.returncode == 0, done.stderr
        results.append(json.loads((out / "outage.json").read_text())["variants"])
    assert results[0] == results[1] == results[2]


@pytest.mark.parametrize(("args", "message"), [
    (["--schedule", "nowhere"], "--schedule: 'nowhere' is not a folder: expected a folder written by vpp dispatch"),
    (["--schedule", "."], "has no case.json, summary.json, schedule.parquet (or schedule.csv): expected a folder"),
])
def test_vpp_outage_names_a_folder_that_is_not_a_dispatch(tmp_path: Path, args: list[str], message: str) -> None:
    done = vpp("outage", *args, cwd=tmp_path)
    assert done.returncode == 2
    assert message in done.stderr


def test_vpp_outage_names_a_bad_scheduler(tmp_path: Path) -> None:
    folder = _dispatched(tmp_path)
    done = vpp("outage", "--schedule", str(folder), "--scheduler", "everywhere")
    assert done.returncode == 2
    assert "expected 'serial', 'processes', 'local' or a Dask address such as tcp://HOST:PORT, got 'everywhere'" in done.stderr
