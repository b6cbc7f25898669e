"""Small cases for the service's tests, with their optima derived by hand where it matters."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

START = "2026-07-15T00:00:00+08:00"


def flat(price: float, name: str = "flat", start: str = START, steps: int = 4) -> dict[str, Any]:
    """1 MW of load for ``steps`` hours at a flat ``price``: the optimum is steps × price CNY."""
    return {"name": name, "start": start, "step_minutes": 60, "steps": steps,
            "grid": {"import_max_mw": 10, "buy_cny_per_mwh": price},
            "assets": [{"id": "load", "type": "load", "demand_mw": 1}]}


def day(name: str = "day", start: str = START) -> dict[str, Any]:
    """96 quarter-hours: a load, PV and a battery at a substation under time-of-use prices."""
    t = np.arange(96)
    pv = np.clip(np.sin((t - 24) / 48 * math.pi), 0, None) * 3
    buy = [250.0 if s < 32 else 1000.0 if 68 <= s < 84 else 600.0 for s in range(96)]
    return {"name": name, "start": start, "step_minutes": 15, "steps": 96,
            "network": {"root": "grid", "nodes": [{"id": "sub", "capacity_mw": 20}]},
            "grid": {"import_max_mw": 20, "buy_cny_per_mwh": buy, "emission_t_per_mwh": 0.6},
            "assets": [{"id": "load", "type": "load", "node": "sub", "demand_mw": np.round(4 + np.sin(t / 15), 4).tolist()},
                       {"id": "pv", "type": "pv", "node": "sub", "available_mw": np.round(pv, 4).tolist()},
                       {"id": "bat", "type": "battery", "node": "sub", "power_mw": 1, "energy_mwh": 2,
                        "degradation_cny_per_mwh": 10}],
            "demand_response": [{"id": "dr", "start_step": 80, "end_step": 88, "baseline_mw": 6, "reduction_mw": 0.5,
                                 "price_cny_per_mwh": 500, "shortfall_penalty_cny_per_mwh": 2000,
                                 "optional": True}]}


def many_loads(count: int = 32) -> dict[str, Any]:
    """96 steps × ``count`` loads: larger than the test servers' async threshold (3,000 step-assets)."""
    return {"name": "many-loads", "start": START, "step_minutes": 15, "steps": 96,
            "grid": {"import_max_mw": 100, "buy_cny_per_mwh": 300},
            "assets": [{"id": f"l{i}", "type": "load", "demand_mw": 1} for i in range(count)]}


def big(time_limit_gap: bool = True) -> dict[str, Any]:
    """Many shiftable loads and batteries (tests/models/test_solve.py): a MIP HiGHS cannot close quickly."""
    n = 96
    t = np.arange(n)
    buy = np.round(300 + 200 * np.sin(t / n * 6 * math.pi) + 25 * np.cos(t * 1.7), 1).tolist()
    assets: list[dict[str, Any]] = [{"id": "base", "type": "load", "demand_mw": (5 + 3 * np.sin(t / 10)).tolist()}]
    assets += [{"id": f"sh{i}", "type": "shiftable_load", "profile_mw": [1 + 0.1 * i, 2, 1.5, 0.5] * 3} for i in range(20)]
    assets += [{"id": f"b{i}", "type": "battery", "power_mw": 1 + i % 3, "energy_mwh": 4,
                "degradation_cny_per_mwh": 20 + i} for i in range(10)]
    return {"name": "big", "start": START, "step_minutes": 15, "steps": n,
            "grid": {"import_max_mw": 40, "export_max_mw": 10, "buy_cny_per_mwh": buy, "sell_cny_per_mwh": 200,
                     "demand_charge_cny_per_mw": 500},
            "assets": assets}


def unservable() -> dict[str, Any]:
    """2 MW of load behind a 1 MW connection for 4 hours: 4 MWh unserved at the root."""
    data = flat(100, name="short")
    data["grid"]["import_max_mw"] = 1
    data["assets"][0]["demand_mw"] = 2
    return data


def infeasible() -> dict[str, Any]:
    """A mandatory green contract must take 10 MW through a 5 MW connection: no schedule at all."""
    data = flat(100, name="infeasible")
    data["grid"]["import_max_mw"] = 5
    data["assets"].append({"id": "gc", "type": "green_contract", "available_mw": 10, "price_cny_per_mwh": 1,
                           "min_take": 1, "optional": False})
    return data


def broken() -> dict[str, Any]:
    """A case with several problems at once (every one must be named with its path)."""
    data = flat(100, name="broken")
    data["step_minutes"] = 7
    data["assets"].append({"id": "bat", "type": "battery", "power_mw": -1, "energy_mwh": 2, "soc_min": 0.9,
                           "soc_max": 0.1})
    data["assets"].append({"id": "load", "type": "load", "demand_mw": [1, 2]})
    return data


def slow() -> dict[str, Any]:
    """Two days of the benchmark generator's VPP at eight substations, with binaries and two optional
    events: optimal after about 3 s of HiGHS on one thread; at 1 s a schedule with a finite gap."""
    import json

    from benchmarks.generator import Scale, generate

    scale = Scale(days=2, substations=8, pv=8, loads=8, batteries=8, curtailable=2, shiftable=2)
    return json.loads(generate(scale).to_json(indent=None))
