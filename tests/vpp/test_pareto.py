"""The cost–carbon front (vpp/pareto.py) on a small day whose ends are worked out by hand.

Four one-hour steps at 200, 200, 800, 800 CNY/MWh and 0.5 tCO2/MWh; a fixed 10 MW load, a
4 MW plant with 2 MW curtailable at 300 CNY/MWh, a 3 MW green contract at 400 CNY/MWh, PV
of 0, 2, 2, 0 MW and a lossy battery (90 % each way). The least emission without shedding
load: curtail 2 MW and take the contract's 3 MW in every step, the battery idle (its losses
only add emissions): grid energy 4·(14 − 2 − 3) − 4 (PV) = 32 MWh, so 16 tCO2, at a cost of
(9 + 7)·200 + (7 + 9)·800 + 8·300 + 12·400 = 23,200 CNY.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from vpp.case import load_case, read_case
from vpp.cli import app
from vpp.dispatch import solve_case
from vpp.pareto import (
    carbon_price_ranges,
    cost_carbon_front,
    least_emission_carbon_price,
    write_front,
)


def front_case() -> dict[str, Any]:
    return {
        "name": "front", "start": "2026-07-15T00:00:00+08:00", "step_minutes": 60, "steps": 4,
        "carbon_price_cny_per_t": 50,
        "grid": {"import_max_mw": 100, "buy_cny_per_mwh": [200, 200, 800, 800], "emission_t_per_mwh": 0.5},
        "assets": [
            {"id": "load", "type": "load", "demand_mw": 10},
            {"id": "plant", "type": "curtailable_load", "demand_mw": 4, "max_reduction_mw": 2, "cost_cny_per_mwh": 300},
            {"id": "green", "type": "green_contract", "available_mw": 3, "price_cny_per_mwh": 400},
            {"id": "pv", "type": "pv", "available_mw": [0, 2, 2, 0]},
            {"id": "bat", "type": "battery", "power_mw": 1, "energy_mwh": 2, "soc_min": 0, "soc_max": 1,
             "charge_efficiency": 0.9, "discharge_efficiency": 0.9},
        ],
    }


def recompute(folder: Path) -> tuple[float, float]:
    """A point's cost [CNY] and emissions [tCO2] from its own files (case.json and schedule.csv)."""
    case = read_case(folder / "case.json")
    s = pd.read_csv(folder / "schedule.csv")

    def q(asset: str, quantity: str) -> pd.Series:
        return s[(s["asset"] == asset) & (s["quantity"] == quantity)].set_index("step")["value"]

    grid_energy = q("grid", "import_mw") - q("grid", "green_mw")
    buy = pd.Series(case.series(case.grid.buy_cny_per_mwh))
    cost = (buy * grid_energy).sum() + 400 * q("green", "purchase_mw").sum() + 300 * q("plant", "reduction_mw").sum()
    return float(cost), float(0.5 * grid_energy.sum())


@pytest.fixture(scope="module")
def front(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    out = tmp_path_factory.mktemp("front")
    f = cost_carbon_front(load_case(front_case()), 5, out)
    write_front(f, out)
    return f, out


def test_every_point_recomputed_from_its_files(front: tuple[Any, Path]) -> None:
    f, out = front
    table = pd.read_csv(out / "front.csv")
    assert len(table) == 5 and sorted(p.name for p in (out / "points").iterdir()) == ["00", "01", "02", "03", "04"]
    for row in table.itertuples():
        cost, emissions = recompute(out / "points" / f"{row.point:02d}")
        # schedule.csv holds 9 significant digits
        assert cost == pytest.approx(row.cost_cny, rel=1e-8)
        assert emissions == pytest.approx(row.emissions_t, rel=1e-8)
        if row.point > 0:
            assert row.emissions_t <= row.emissions_cap_t + 1e-6
    assert (out / "front.png").stat().st_size > 10_000


def test_the_front_is_monotone_and_its_ends_are_the_two_optima(front: tuple[Any, Path]) -> None:
    f, _ = front
    t = f.points
    assert f.monotone
    assert t["emissions_t"].is_monotonic_decreasing and t["cost_cny"].is_monotonic_increasing
    # the least-cost end is the case solved as it is, at carbon price 0 (the front is the money cost)
    plain = solve_case(load_case(front_case() | {"carbon_price_cny_per_t": 0}))
    assert t["cost_cny"].iloc[0] == pytest.approx(plain.objective_cny, abs=1e-6)
    assert t["emissions_t"].iloc[0] == pytest.approx(plain.summary["emissions_t"], abs=1e-9)
    # the least-emission end, by hand
    assert t["emissions_t"].iloc[-1] == pytest.approx(16.0, abs=1e-6)
    assert t["cost_cny"].iloc[-1] == pytest.approx(23_200.0, abs=1e-3)
    assert t["unserved_mwh"].max() == 0.0
    # marginal abatement cost between points, and the carbon prices at which each is chosen
    e, c = t["emissions_t"].to_numpy(), t["cost_cny"].to_numpy()
    for k in range(1, 5):
        assert t["marginal_abatement_cny_per_t"].iloc[k] == pytest.approx((c[k] - c[k - 1]) / (e[k - 1] - e[k]))
    assert t["chosen_from_cny_per_t"].iloc[0] == 0.0 and math.isinf(t["chosen_to_cny_per_t"].iloc[-1])
    data = json.loads((front[1] / "front.json").read_text(encoding="utf-8"))
    assert data["case_carbon_price_cny_per_t"] == 50 and data["monotone"] is True


def test_least_emission_price_stays_below_what_shedding_load_saves() -> None:
    case = load_case(front_case())
    # (VOLL − the highest buy price) per tonne the shed MWh avoids: 0.95 × (20000 − 800) / 0.5
    assert least_emission_carbon_price(case) == pytest.approx(0.95 * 19_200 / 0.5)


def test_carbon_price_ranges_by_hand() -> None:
    # convex: MACs 5 then 15 CNY/t
    assert carbon_price_ranges([10, 8, 6], [0, 10, 40]) == [(0.0, 5.0), (5.0, 15.0), (15.0, math.inf)]
    # the middle point lies above the hull (MAC 15 then 5): chosen at no price; the ends meet at 10
    assert carbon_price_ranges([10, 8, 6], [0, 30, 40]) == [(0.0, 10.0), (None, None), (10.0, math.inf)]


def test_cli_writes_the_front(tmp_path: Path) -> None:
    path = tmp_path / "case.json"
    path.write_text(json.dumps(front_case()), encoding="utf-8")
    result = CliRunner().invoke(app, ["pareto", "--case", str(path), "--points", "3", "--scheduler", "serial",
                                      "--no-chart", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "front is monotone" in result.output
    assert (tmp_path / "out" / "front.csv").exists() and not (tmp_path / "out" / "front.png").exists()
    bad = CliRunner().invoke(app, ["pareto", "--case", str(path), "--points", "1"])
    assert bad.exit_code == 2 and "expected at least 2 (the two ends), got 1" in bad.output
