"""HiGHS keeps one scheduler per process: solves asking for different thread counts in turn all work."""

from __future__ import annotations

import pytest

from models import SolveOptions
from vpp.case import load_case
from vpp.dispatch import solve_case

# One battery, prices 100 then 300, 1 MW load: charge 1 MW (soc 1 → 1.9 MWh), discharge
# 0.81 MW to end at 1 MWh: 2·100 + 0.19·300 = 257 CNY.
CASE = {
    "start": "2026-07-15T00:00:00+08:00",
    "step_minutes": 60,
    "steps": 2,
    "grid": {"import_max_mw": 10, "buy_cny_per_mwh": [100, 300]},
    "assets": [
        {"id": "l", "type": "load", "demand_mw": 1},
        {"id": "b", "type": "battery", "power_mw": 1, "energy_mwh": 2, "charge_efficiency": 0.9,
         "discharge_efficiency": 0.9, "soc_min": 0, "soc_max": 1},
    ],
}


def test_thread_counts_can_change_between_solves() -> None:
    case = load_case(CASE)
    for threads in (None, 1, 2, 1, None):
        result = solve_case(case, SolveOptions(threads=threads))
        assert result.status == "optimal", threads
        assert result.objective_cny == pytest.approx(257.0, rel=1e-9), threads
