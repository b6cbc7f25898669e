"""The battery's sizing variant: at fixed sizes it is the day model; with binaries its big-M is exact."""

from __future__ import annotations

import pytest
from conftest import HAND_BATTERY, hand_case_data

from models import SolveOptions, extract, optimize
from models.sizing import SizedSite, co_optimise
from vpp.case import load_case
from vpp.cases import materialize
from vpp.sizing.schema import load_defaults
from vpp.sizing.year import candidate_sites, lean, with_storage


def test_fixed_sizes_reproduce_the_day_model_on_teda() -> None:
    # every site sized at will (placeholders at the bounds), then fixed: the day model's optimum at those sizes
    # (no auxiliaries: they are a load per MW of the placeholder, priced apart in the co-optimisation)
    defaults, _ = load_defaults({"battery": {"auxiliary_mw_per_mw": 0.0}})
    case = lean(materialize("teda-east", "2025-07-15"))
    sites = candidate_sites(case, None, defaults)
    placeholder = with_storage(case, sites, {s.id: (s.power_max_mw, s.energy_max_mwh) for s in sites})
    sizes = {"s110-1": (10.0, 30.0), "s110-2": (5.0, 10.0), "s35-tiancheng": (8.0, 8.0), "s35-haijing": (2.0, 6.0)}
    fixed = [SizedSite(s.battery_id, 0.0, 0.0, power_fixed_mw=sizes[s.id][0], energy_fixed_mwh=sizes[s.id][1]) for s in sites]
    out = co_optimise([placeholder], [1.0], fixed, SolveOptions(mip_gap=1e-6))
    _, report = optimize(with_storage(case, sites, sizes), SolveOptions(mip_gap=1e-6), "spec")
    assert out.operating_cny == pytest.approx(report.objective_cny, rel=2e-6)


def test_binaries_with_variable_capacity_use_big_m_and_stay_exact() -> None:
    # negative prices in the night: charging and discharging at once burns energy (η = 0.9) and pays,
    # so the relaxed round does both and the lazy rounds add the binaries with big-M = Pmax
    data = hand_case_data()
    data["grid"]["buy_cny_per_mwh"] = [-200.0] * 6 + [100.0] * 12 + [500.0, 400.0, 300.0] + [100.0] * 3
    battery = {**HAND_BATTERY, "charge_efficiency": 0.9, "discharge_efficiency": 0.9}
    data["assets"].append({"id": "bess", "type": "battery", "power_mw": 50, "energy_mwh": 100, **battery})
    case = load_case(data)
    free = co_optimise([case], [1.0], [SizedSite("bess", 0.0, 0.0, power_fixed_mw=20.0, energy_fixed_mwh=40.0)])
    assert free.report.rounds == 2 and free.report.binaries == 24
    sized = case.model_copy(update={"assets": [a if a.id != "bess" else a.model_copy(update={"power_mw": 20.0, "energy_mwh": 40.0}) for a in case.assets]})
    _, spec = optimize(sized, SolveOptions(mip_gap=0.0), "spec")
    assert free.operating_cny == pytest.approx(spec.objective_cny, rel=1e-7)
    # with P free, the binaries' big-M (Pmax = 50) still keeps charge and discharge apart
    out = co_optimise([case], [1.0], [SizedSite("bess", 10.0, 10.0)])
    day = extract(out.built).scopes[0]  # the one day's outputs
    ch = next(v for e, v in day.values.items() if e.id == "bess")["charge_mw"].tolist()
    dis = next(v for e, v in day.values.items() if e.id == "bess")["discharge_mw"].tolist()
    assert all(min(c, d) <= 1e-6 for c, d in zip(ch, dis, strict=True))
    assert max(ch) <= out.power_mw["bess"] + 1e-6
