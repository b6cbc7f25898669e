"""What each participant is worth (vpp/coalitions.py): hand games, inflexible assets, the core.

The two-participant hand day: two one-hour steps at 100 then 500 CNY/MWh, a fixed 10 MW
load, participant A's battery (1 MW, 2 MWh, lossless, half full) and participant B's
plant (5 MW, 1 MW curtailable at 300 CNY/MWh). An optional event pays 1000 CNY for
1 MW below a 15 MW baseline in step 1 (penalty 2000). With nothing flexible the day
costs 15·100 + 15·500 = 9000 CNY and the event is not joined. A alone charges 1 MWh at
100 and gives it back at 500 (saves 400) and earns the event (1000): v(A) = −1400.
B alone curtails 1 MW at 500 for 300 (saves 200) and earns the event: v(B) = −1200.
Together the event pays once: v(AB) = −(400 + 200 + 1000) = −1600. Shapley:
φ_A = ½(−1400) + ½(−1600 + 1200) = −900, φ_B = ½(−1200) + ½(−1600 + 1400) = −700.
The two are substitutes for the event, so each would save more alone (1400 > 900,
1200 > 700): the core is empty, and the least core is ε* = 500 at (−900, −700).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from vpp.case import load_case
from vpp.coalitions import (
    Pool,
    coalition_case,
    core_check,
    earliest_profile_mw,
    least_core,
    participant_worth,
    sample_orders,
    shapley_exact,
    shapley_sampled,
)


def two_case() -> dict[str, Any]:
    return {
        "name": "two", "start": "2026-07-15T00:00:00+08:00", "step_minutes": 60, "steps": 2,
        "grid": {"import_max_mw": 100, "buy_cny_per_mwh": [100, 500], "emission_t_per_mwh": 0.5},
        "assets": [
            {"id": "load", "type": "load", "demand_mw": 10},
            {"id": "bat", "type": "battery", "power_mw": 1, "energy_mwh": 2, "charge_efficiency": 1,
             "discharge_efficiency": 1, "soc_min": 0, "soc_max": 1, "participant": "A"},
            {"id": "cl", "type": "curtailable_load", "demand_mw": 5, "max_reduction_mw": 1, "cost_cny_per_mwh": 300,
             "participant": "B"},
        ],
        "demand_response": [{"id": "dr", "start_step": 1, "end_step": 2, "baseline_mw": 15, "reduction_mw": 1,
                             "price_cny_per_mwh": 1000, "shortfall_penalty_cny_per_mwh": 2000}],
    }


def test_two_participants_by_hand() -> None:
    w = participant_worth(load_case(two_case()))
    assert w.players == ["A", "B"] and w.null_players == ["load"] and w.method == "exact"
    v = w.value
    assert w.solves[frozenset()]["cost_cny"] == pytest.approx(9000)
    assert (v[frozenset({"A"})], v[frozenset({"B"})], v[frozenset({"A", "B"})]) == pytest.approx((-1400, -1200, -1600))
    assert w.shapley == pytest.approx({"A": -900, "B": -700})
    assert sum(w.shapley.values()) == pytest.approx(w.total_cny, abs=1e-9)  # efficiency
    assert not w.core.in_core and w.core.max_excess == pytest.approx(500)
    assert w.least_core_epsilon == pytest.approx(500) and w.fix == pytest.approx({"A": -900, "B": -700})
    rows = {r["participant"]: r for r in w.table()}
    assert rows["A"]["standalone_saving_cny"] == pytest.approx(1400) and rows["A"]["marginal_saving_cny"] == pytest.approx(400)
    assert rows["load"]["shapley_saving_cny"] == 0.0


def test_local_processes_give_the_serial_values() -> None:
    with Pool("processes", workers=2) as pool:
        w = participant_worth(load_case(two_case()), pool)
    assert w.shapley == pytest.approx({"A": -900, "B": -700}) and w.runner == "2 local worker processes"


GLOVES = {frozenset(): 0.0, frozenset("1"): 0.0, frozenset("2"): 0.0, frozenset("3"): 0.0,
          frozenset("12"): -1.0, frozenset("13"): -1.0, frozenset("23"): 0.0, frozenset("123"): -1.0}
"""Three players, one left glove (1) and two right gloves (2, 3): a pair saves 1 (a cost game, so −1)."""


def test_three_players_shapley_outside_the_core_and_its_least_core_fix() -> None:
    phi = shapley_exact(["1", "2", "3"], GLOVES)
    # 1 is pivotal in 4 of the 6 orders (after 2 or 3), 2 in 1 (1 then 2), 3 in 1
    assert phi == pytest.approx({"1": -2 / 3, "2": -1 / 6, "3": -1 / 6})
    assert sum(phi.values()) == pytest.approx(-1.0, abs=1e-15)
    check = core_check(["1", "2", "3"], GLOVES, phi)
    assert not check.in_core
    assert check.max_excess == pytest.approx(1 / 6) and check.worst == ["1", "2"]  # 1 and 2 alone save 1, get 5/6
    eps, fix = least_core(["1", "2", "3"], GLOVES, near=phi)
    # the core is the single point where the left glove takes all: ε* = 0, x = (−1, 0, 0)
    assert eps == pytest.approx(0.0, abs=1e-9)
    assert fix == pytest.approx({"1": -1.0, "2": 0.0, "3": 0.0}, abs=1e-8)  # the second LP has 1e-9 of slack per unit
    assert core_check(["1", "2", "3"], GLOVES, fix).in_core


def test_sampled_shapley_with_its_standard_error() -> None:
    players = ["1", "2", "3"]
    orders = sample_orders(players, 4000, seed=7)
    est, se = shapley_sampled(orders, GLOVES)
    assert sum(est.values()) == pytest.approx(-1.0, abs=1e-12)  # every order adds up to v(N)
    for p, exact in {"1": -2 / 3, "2": -1 / 6, "3": -1 / 6}.items():
        # player 2's marginal is −1 with probability 1/6: sd = √(1/6·5/6), se = sd/√4000 ≈ 0.0059
        assert abs(est[p] - exact) < 4 * se[p]
    assert se["2"] == pytest.approx(np.sqrt(1 / 6 * 5 / 6 / 4000), rel=0.1)


def test_beyond_the_exact_limit_the_values_are_sampled() -> None:
    w = participant_worth(load_case(two_case()), orders=50, seed=1, exact_max_players=1)
    assert w.method == "sampled" and w.orders == 50
    # with two players each order gives A either −1400 or −400: the estimate is their sample mean
    assert -1400 <= w.shapley["A"] <= -400 and sum(w.shapley.values()) == pytest.approx(-1600, abs=1e-9)
    assert w.standard_error["A"] > 0
    assert w.to_dict()["core"]["coalitions_checked"] == 2


def test_inflexible_assets_by_type() -> None:
    case = load_case({
        "name": "kinds", "start": "2026-07-15T00:00:00+08:00", "step_minutes": 60, "steps": 4,
        "grid": {"import_max_mw": 100, "buy_cny_per_mwh": 100},
        "assets": [
            {"id": "bat", "type": "battery", "power_mw": 1, "energy_mwh": 2, "regulation": True,
             "self_discharge_per_hour": 0.01},
            {"id": "cl", "type": "curtailable_load", "demand_mw": [5, 6, 7, 8], "max_reduction_mw": 1,
             "cost_cny_per_mwh": 1, "critical_fraction": 0.5},
            {"id": "sh", "type": "shiftable_load", "profile_mw": [2, 3], "earliest_start": 1},
            {"id": "ev", "type": "flexible_load", "min_power_mw": [0, 0, 1, 1], "max_power_mw": 3, "energy_mwh": 6},
            {"id": "ts", "type": "thermal_storage", "max_power_mw": 2, "cop": 3, "thermal_demand_mw": 3,
             "capacity_mwh_th": 6},
            {"id": "pv", "type": "pv", "available_mw": 1},
            {"id": "gc", "type": "green_contract", "available_mw": 1, "price_cny_per_mwh": 50},
        ],
        "regulation": {"capacity_price_cny_per_mw_h": 10},
    })
    none = {a.id: a for a in coalition_case(case, []).assets}
    assert (none["bat"].charge_mw, none["bat"].discharge_mw, none["bat"].regulation) == (0.0, 0.0, False)
    assert none["bat"].self_discharge_per_hour == 0.0 and none["bat"].energy_mwh == 2
    assert (none["cl"].type, none["cl"].demand_mw, none["cl"].critical_fraction) == ("load", [5, 6, 7, 8], 0.5)
    assert (none["sh"].type, none["sh"].demand_mw) == ("load", [0, 2, 3, 0])
    # 6 MWh as early as it can within 3 MW, keeping the 1 MW minimum of steps 2 and 3: 3, 1, 1, 1
    assert (none["ev"].type, none["ev"].demand_mw) == ("load", [3, 1, 1, 1])
    assert none["ts"].type == "thermal_storage" and none["ts"].capacity_mwh_th == 0.0
    assert none["pv"] == case.assets[5] and none["gc"] == case.assets[6]
    assert coalition_case(case, []).regulation is None  # no battery left to offer it
    every = coalition_case(case, ["bat", "cl", "sh", "ev", "ts"])
    assert every.assets == case.assets and every.regulation == case.regulation


@pytest.mark.parametrize("seed", range(10))
def test_the_earliest_profile_takes_the_most_energy_by_every_step(seed: int) -> None:
    from scipy.optimize import linprog

    rng = np.random.default_rng(seed)
    lo = rng.uniform(0, 1, 8)
    hi = lo + rng.uniform(0, 2, 8)
    energy = float(rng.uniform(lo.sum(), hi.sum())) * 0.5
    p = earliest_profile_mw(lo, hi, energy, 0.5)
    assert p.sum() * 0.5 == pytest.approx(energy) and np.all(p >= lo - 1e-12) and np.all(p <= hi + 1e-12)
    for k in range(1, 8):  # an LP: the most energy any feasible profile takes before step k
        best = linprog(-np.r_[np.ones(k), np.zeros(8 - k)] * 0.5, A_eq=np.full((1, 8), 0.5), b_eq=[energy],
                       bounds=list(zip(lo, hi, strict=True)), method="highs")
        assert p[:k].sum() * 0.5 == pytest.approx(-best.fun, abs=1e-9)


def test_cli_writes_the_worth_of_each_participant(tmp_path: Any) -> None:
    import json

    import pandas as pd
    from typer.testing import CliRunner

    from vpp.cli import app

    path = tmp_path / "two.json"
    path.write_text(json.dumps(two_case()), encoding="utf-8")
    result = CliRunner().invoke(app, ["worth", "--case", str(path), "--scheduler", "serial", "--out", str(tmp_path / "w")])
    assert result.exit_code == 0, result.output
    assert "the plant saves 1,600.00 CNY; Shapley values (exact)" in result.output
    assert "not in the core" in result.output and "least core ε = 500.00 CNY" in result.output
    table = pd.read_csv(tmp_path / "w" / "worth.csv").set_index("participant")
    assert table.loc["A", "shapley_saving_cny"] == pytest.approx(900) and table.loc["B", "least_core_saving_cny"] == pytest.approx(700)
    assert len(pd.read_csv(tmp_path / "w" / "coalitions.csv")) == 4
    bad = CliRunner().invoke(app, ["worth", "--case", str(path), "--scheduler", "mpi"], env={"COLUMNS": "1000"})
    assert bad.exit_code == 2 and "expected 'serial', 'processes', 'local' or a Dask address" in bad.output
    both = CliRunner().invoke(app, ["worth"])
    assert both.exit_code == 2 and "give either --case (a built-in case or a case file) or --schedule DIR" in both.output


def test_a_local_dask_cluster_gives_the_same_values() -> None:
    with Pool("local", workers=1) as pool:
        w = participant_worth(load_case(two_case()), pool)
    assert w.shapley == pytest.approx({"A": -900, "B": -700})
    assert w.runner == "local Dask cluster, 1 single-threaded worker process"
