"""The PyPSA arm reaches the product's optimum on every case it supports, and says why it refuses the rest.

The reference is the product's MIP solved to a 1e-9 gap; the arm's LP must
agree to 1e-6 relative. The hand cases are small (24 or 48 steps) but each makes
the feature under test matter: a branch limit that binds both ways, prices that
change through the day, energy left unserved, a battery whose self-discharge,
degradation, asymmetric limits and cycle limit change its schedule.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from benchmarks.arms import Settings
from benchmarks.arms import pypsa_arm as arm
from models import SolveOptions
from vpp.case import Battery, Case, load_case
from vpp.dispatch import solve_case

RTOL = 1e-6
SETTINGS = Settings(mip_gap=1e-9, time_limit_s=60.0, threads=1)


def _hand(step_minutes: int = 60, **changes: Any) -> dict[str, Any]:
    """A day at one feeder below the root: PV, loads, a battery, TOU prices (raw case data).

    The feeder's branch (3.5 MW) binds upwards at noon (PV surplus, curtailed
    beyond it) and downwards in the evening (load above it, the battery helps).
    """
    steps = 24 * 60 // step_minutes
    hour = (np.arange(steps) + 0.5) * step_minutes / 60
    pv = np.clip(np.sin((hour - 6) / 12 * np.pi), 0, None) * 9.0
    feeder_load = 2.5 + 1.8 * np.exp(-(((hour - 19.5) / 2.5) ** 2))
    buy = np.where(hour < 7, 320.0, np.where((hour >= 17) & (hour < 21), 1150.0, 690.0))
    buy = buy + 15 * np.sin(hour)  # no two steps quite alike
    data: dict[str, Any] = {
        "name": "hand",
        "start": "2026-07-15T00:00:00+08:00",
        "step_minutes": step_minutes,
        "steps": steps,
        "network": {"root": "grid", "nodes": [{"id": "feeder", "parent": "grid", "capacity_mw": 3.5}]},
        "grid": {"import_max_mw": 40.0, "buy_cny_per_mwh": buy.round(3).tolist()},
        "assets": [
            {"id": "pv", "type": "pv", "node": "feeder", "available_mw": pv.round(4).tolist()},
            {"id": "feeder-load", "type": "load", "node": "feeder", "demand_mw": feeder_load.round(4).tolist()},
            {"id": "root-load", "type": "load", "demand_mw": 6.0},
            {"id": "bess", "type": "battery", "node": "feeder", "power_mw": 1.5, "energy_mwh": 4.0},
        ],
    }
    for key, value in changes.items():
        data[key] = value
    return data


def _with_asset(data: dict[str, Any], asset_id: str, **fields: Any) -> dict[str, Any]:
    data["assets"] = [({**a, **fields} if a["id"] == asset_id else a) for a in data["assets"]]
    return data


def _agree(case: Case) -> tuple[arm.ArmResult, arm.Schedule, Any]:
    """Solve with both; assert the objectives agree; return the arm's result and schedule and the product's."""
    assert arm.supports(case) is None
    result, schedule = arm.solve(case, SETTINGS)
    product = solve_case(case, SolveOptions(mip_gap=1e-9))
    assert result.status == "optimal", result.note
    assert schedule is not None
    assert result.objective_cny == pytest.approx(product.objective_cny, rel=RTOL, abs=1e-6)
    assert set(result.phases) == {"build", "handover", "solve", "extract"}
    assert all(v >= 0 for v in result.phases.values())
    assert result.binaries == 0 and result.variables > 0 and result.nonzeros > 0
    return result, schedule, product


def _balance_residual(case: Case, s: arm.Schedule) -> float:
    """Largest node-balance residual of the arm's schedule, recomputed from the spec (§2) [MW]."""
    root = case.network.root
    bal = {n: s.unserved_mw[n].copy() for n in [root, *case.node_ids]}
    bal[root] += s.import_mw - s.export_mw
    for node in case.network.nodes:
        bal[node.id] -= s.flow_mw[node.id]
        bal[case.parent_of(node)] += s.flow_mw[node.id]
    for a in case.assets:
        bal[case.node_of(a)] += s.assets[a.id]["injection_mw"]
    return max(float(np.abs(b).max()) for b in bal.values())


def _soc_residual(case: Case, s: arm.Schedule, bid: str) -> float:
    """Largest residual of the spec's SoC recursion (§4.3) for battery ``bid`` [MWh]."""
    b = next(a for a in case.assets if a.id == bid)
    v = s.assets[bid]
    keep = 1 - b.self_discharge_per_hour * case.dt_hours
    prev = np.concatenate([[b.soc_initial * b.energy_mwh], v["soc_mwh"][:-1]])
    dt = case.dt_hours
    rhs = keep * prev + b.charge_efficiency * dt * v["charge_mw"] - dt / b.discharge_efficiency * v["discharge_mw"]
    return float(np.abs(v["soc_mwh"] - rhs).max())


# ---------------------------------------------------------------------------
# The same optimum as the product
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("step_minutes", [60, 30])
def test_hand_case_binding_branch_and_prices(step_minutes: int) -> None:
    case = load_case(_hand(step_minutes))
    _, s, _ = _agree(case)
    flow = s.flow_mw["feeder"]
    assert flow.max() == pytest.approx(3.5, abs=1e-6)  # PV surplus presses against the limit upwards
    assert flow.min() == pytest.approx(-3.5, abs=1e-6)  # the evening load downwards
    assert _balance_residual(case, s) < 1e-6
    assert _soc_residual(case, s, "bess") < 1e-6
    bess = s.assets["bess"]
    assert bess["discharge_mw"].max() > 0.5 and bess["charge_mw"].max() > 0.5
    assert s.assets["pv"]["curtailed_mw"].max() > 0.1
    assert sum(u.sum() for u in s.unserved_mw.values()) == pytest.approx(0, abs=1e-9)


def test_unserved_energy() -> None:
    data = _with_asset(_hand(60), "feeder-load", demand_mw=6.0)  # 6 MW behind a 3.5 MW branch
    case = load_case(data)
    _, s, product = _agree(case)
    assert s.unserved_mw["feeder"].sum() > 1.0
    assert s.unserved_mw["feeder"].sum() == pytest.approx(product.solution.unserved_mw["feeder"].sum(), rel=1e-6)
    assert _balance_residual(case, s) < 1e-6


def test_self_discharge_degradation_asymmetric_battery() -> None:
    data = _with_asset(
        _hand(30), "bess", power_mw=None, charge_power_mw=1.2, discharge_power_mw=2.0,
        charge_efficiency=0.93, discharge_efficiency=0.97, self_discharge_per_hour=0.02,
        degradation_cny_per_mwh=80.0, soc_min=0.15, soc_max=0.95, soc_initial=0.4, soc_final_min=0.6,
    )
    case = load_case(data)
    _, s, _ = _agree(case)
    soc = s.assets["bess"]["soc_mwh"]
    assert soc[-1] >= 0.6 * 4.0 - 1e-6
    assert _soc_residual(case, s, "bess") < 1e-6
    assert s.assets["bess"]["discharge_mw"].max() <= 2.0 + 1e-6
    assert s.assets["bess"]["charge_mw"].max() <= 1.2 + 1e-6


def test_cycle_limit_demand_charge_carbon_export() -> None:
    """max_cycles (a linopy row), a demand charge (an extendable generator), carbon, export at sell ≤ buy."""
    data = _hand(60)
    data["carbon_price_cny_per_t"] = 90.0
    data["grid"].update(export_max_mw=2.0, sell_cny_per_mwh=250.0, demand_charge_cny_per_mw=400.0,
                        emission_t_per_mwh=0.6)
    data = _with_asset(data, "bess", max_cycles=0.5)
    case = load_case(data)
    _, s, product = _agree(case)
    assert s.assets["bess"]["discharge_mw"].sum() * case.dt_hours <= 0.5 * 4.0 + 1e-6
    assert product.solution.cost_cny.get("demand", 0) > 0


def test_flexible_thermal_and_curtailable_load() -> None:
    data = _hand(60)
    data["assets"] += [
        {"id": "ev", "type": "flexible_load", "node": "feeder", "max_power_mw": 1.0, "energy_mwh": 8.0,
         "requirements": [{"by_step": 8, "energy_mwh": 3.0}]},
        {"id": "ice", "type": "thermal_storage", "max_power_mw": 2.0, "cop": 3.0, "capacity_mwh_th": 12.0,
         "thermal_demand_mw": [0.0] * 9 + [4.0] * 9 + [0.0] * 6, "loss_per_hour": 0.01, "level_initial": 0.3},
        {"id": "plant", "type": "curtailable_load", "node": "feeder", "demand_mw": 1.0, "max_reduction_mw": 0.6,
         "cost_cny_per_mwh": 900.0},
    ]
    case = load_case(data)
    _, s, _ = _agree(case)
    ev = s.assets["ev"]["power_mw"]
    assert ev.sum() == pytest.approx(8.0, abs=1e-6) and ev[:8].sum() >= 3.0 - 1e-6
    assert s.assets["plant"]["reduction_mw"].max() > 0.1  # curtailed at the evening peak
    assert _balance_residual(case, s) < 1e-6


def test_without_batteries_negative_prices_and_curtailment_cost() -> None:
    """No battery, no loop: any price sign and a PV curtailment cost (a constant plus −c on PV) are exact."""
    data = _hand(60)
    data["assets"] = [a for a in data["assets"] if a["type"] != "battery"]
    data["grid"]["buy_cny_per_mwh"] = [p - 800.0 if 10 <= i < 14 else p for i, p in enumerate(data["grid"]["buy_cny_per_mwh"])]
    data = _with_asset(data, "pv", curtailment_cny_per_mwh=150.0)
    case = load_case(data)
    assert min(case.series(case.grid.buy_cny_per_mwh)) < 0
    _agree(case)


def test_teda_east_restricted() -> None:
    from vpp.cases import materialize

    teda = materialize("teda-east", "2026-07-15")
    assert arm.supports(teda) is not None
    case = arm.restrict(teda)
    assert arm.supports(case) is None
    kinds = {a.type for a in case.assets}
    assert kinds == {"pv", "load", "battery", "curtailable_load", "flexible_load", "thermal_storage"}
    assert not case.demand_response and case.grid.export_max_mw == 0
    assert len(case.assets_of(Battery)) == 4
    result, s, _ = _agree(case)
    assert _balance_residual(case, s) < 1e-6
    for b in case.assets_of(Battery):
        assert _soc_residual(case, s, b.id) < 1e-6


def test_generated_cases_restricted() -> None:
    from benchmarks import generator

    for scale in (
        generator.Scale(substations=3, pv=3, loads=3, batteries=3, seed=1),
        generator.Scale(substations=5, batteries=2, step_minutes=60, days=2, export=True, seed=2),
        generator.Scale(substations=2, binaries=False, events=False, contracts=0, seed=3),
    ):
        case = arm.restrict(generator.generate(scale))
        assert arm.supports(case) is None, scale.label()
        _agree(case)


# ---------------------------------------------------------------------------
# What it refuses, and why
# ---------------------------------------------------------------------------

_REFUSED: dict[str, tuple[Any, str]] = {
    "green contract": (
        lambda d: d["assets"].append({"id": "g", "type": "green_contract", "available_mw": 2.0,
                                      "price_cny_per_mwh": 600.0}),
        "green contracts",
    ),
    "shiftable load": (
        lambda d: d["assets"].append({"id": "s", "type": "shiftable_load", "profile_mw": [1.0, 1.0]}),
        "shiftable loads",
    ),
    "curtailable load with event binaries": (
        lambda d: d["assets"].append({"id": "c", "type": "curtailable_load", "demand_mw": 2.0,
                                      "max_reduction_mw": 1.0, "cost_cny_per_mwh": 500.0,
                                      "min_duration_steps": 2}),
        "event binaries",
    ),
    "demand response": (
        lambda d: d.update(demand_response=[{"id": "dr", "start_step": 18, "end_step": 20, "baseline_mw": 10.0,
                                             "reduction_mw": 1.0, "price_cny_per_mwh": 2000.0,
                                             "shortfall_penalty_cny_per_mwh": 3000.0}]),
        "demand-response",
    ),
    "green share": (lambda d: d.update(green_share_min=0.2), "green_share_min"),
    "export above the buy price": (
        lambda d: d["grid"].update(export_max_mw=2.0, sell_cny_per_mwh=500.0),
        "import and export at once",
    ),
    "negative price with a battery": (
        lambda d: d["grid"].update(buy_cny_per_mwh=[-50.0] * 3 + d["grid"]["buy_cny_per_mwh"][3:]),
        "negative import price",
    ),
    "PV curtailment cost with a battery": (
        lambda d: _with_asset(d, "pv", curtailment_cny_per_mwh=100.0),
        "curtailment cost",
    ),
    "battery above soc_max at the start": (
        lambda d: _with_asset(d, "bess", soc_initial=0.95, soc_final_min=0.5),
        "starts above soc_max",
    ),
    # model version 2 beyond the arm's mapping
    "grid maxima that change, with an outage": (
        lambda d: d["grid"].update(import_max_mw=[40.0] * 10 + [0.0] * 2 + [40.0] * 12),
        "grid maxima that change over the day (an outage, both 0, at steps 10, 11)",
    ),
    "grid maxima that change, without an outage": (
        lambda d: d["grid"].update(import_max_mw=[40.0] * 12 + [30.0] * 12),
        "grid maxima that change over the day: the connection is one generator of fixed p_nom",
    ),
    "peak to date": (
        lambda d: d["grid"].update(demand_charge_cny_per_mw=100.0, peak_to_date_mw=5.0),
        "peak_to_date_mw / declared_demand_mw",
    ),
    "declared demand": (
        lambda d: d["grid"].update(demand_charge_cny_per_mw=100.0, declared_demand_mw=8.0),
        "peak_to_date_mw / declared_demand_mw",
    ),
    "deviation from a declared plan": (
        lambda d: d["grid"].update(deviation={"short_cny_per_mwh": 100.0, "long_cny_per_mwh": 50.0}),
        "grid.deviation",
    ),
    "curtailable load with a minimum reduction": (
        lambda d: d["assets"].append({"id": "c", "type": "curtailable_load", "demand_mw": 2.0,
                                      "max_reduction_mw": 1.0, "cost_cny_per_mwh": 500.0, "min_reduction_mw": 0.5}),
        "min_reduction_mw or start_cny",
    ),
    "curtailable load with a start cost": (
        lambda d: d["assets"].append({"id": "c", "type": "curtailable_load", "demand_mw": 2.0,
                                      "max_reduction_mw": 1.0, "cost_cny_per_mwh": 500.0, "start_cny": 200.0}),
        "min_reduction_mw or start_cny",
    ),
    "valley filling": (
        lambda d: d.update(demand_response=[{"id": "fill", "kind": "valley_filling", "start_step": 2, "end_step": 4,
                                             "baseline_mw": 8.0, "increase_mw": 1.0, "price_cny_per_mwh": 300.0,
                                             "shortfall_penalty_cny_per_mwh": 100.0}]),
        "demand-response events (valley filling)",
    ),
    "emissions cap": (lambda d: d.update(emissions_max_t=1000.0), "emissions_max_t"),
    "backup reserve": (lambda d: d.update(backup_hours=2.0), "backup_hours"),
    "frequency regulation": (
        lambda d: _with_asset(d, "bess", regulation=True).update(regulation={"capacity_price_cny_per_mw_h": 10.0}),
        "frequency regulation by ['bess']",
    ),
    "scenarios": (
        lambda d: d.update(scenarios=[{"id": "base", "probability": 0.5},
                                      {"id": "hot", "probability": 0.5, "series": {"root-load.demand_mw": 7.0}}]),
        "scenarios: a two-stage stochastic day",
    ),
}


@pytest.mark.parametrize("feature", list(_REFUSED))
def test_supports_refuses_with_reason_and_restrict_removes_it(feature: str) -> None:
    change, words = _REFUSED[feature]
    data = _hand(60)
    change(data)
    case = load_case(data)
    reason = arm.supports(case)
    assert reason is not None and words in reason, reason
    restricted = arm.restrict(case)
    assert arm.supports(restricted) is None
    unsupported = arm.run(case, SETTINGS)
    assert unsupported.status == "error" and "unsupported" in unsupported.note


def test_restricted_negative_price_case_agrees() -> None:
    data = _hand(60)
    data["grid"]["buy_cny_per_mwh"] = [-50.0] * 3 + data["grid"]["buy_cny_per_mwh"][3:]
    case = arm.restrict(load_case(data))
    assert min(case.series(case.grid.buy_cny_per_mwh)) == 0.0
    _agree(case)


@pytest.mark.parametrize(
    "feature", ["export above the buy price", "negative price with a battery", "PV curtailment cost with a battery"]
)
def test_refusals_are_needed(feature: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Forced through anyway, the LP undercuts the spec's MIP on these cases: the guard is not idle."""
    change, _ = _REFUSED[feature]
    data = _hand(60)
    change(data)
    case = load_case(data)
    product = solve_case(case, SolveOptions(mip_gap=1e-9))
    monkeypatch.setattr(arm, "supports", lambda _case: None)
    result, _ = arm.solve(case, SETTINGS)
    assert result.objective_cny is not None
    assert result.objective_cny < product.objective_cny * (1 - 1e-5)


def test_forced_through_a_regulation_case_the_arm_solves_the_day_without_the_market(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Why regulation is refused: the LP has no band and no revenue, so it finds the day without regulation."""
    from vpp.regulation import without_regulation

    change, _ = _REFUSED["frequency regulation"]
    data = _hand(60)
    change(data)
    case = load_case(data)
    product = solve_case(case, SolveOptions(mip_gap=1e-9))
    plain = solve_case(without_regulation(case), SolveOptions(mip_gap=1e-9))
    assert product.summary["cost_cny"]["regulation_capacity"] < -1.0  # the band earns something
    monkeypatch.setattr(arm, "supports", lambda _case: None)
    result, _ = arm.solve(case, SETTINGS)
    assert result.objective_cny == pytest.approx(plain.objective_cny, rel=RTOL)
    assert result.objective_cny > product.objective_cny + 1.0
