"""The seeded case generator: reproducible, canonical, and each axis scales on its own."""

from __future__ import annotations

import json

import pytest

from benchmarks.generator import Scale, generate
from models import optimize
from vpp.case import load_case


def test_same_scale_same_case_and_another_seed_another() -> None:
    a, b = generate(Scale(seed=3)), generate(Scale(seed=3))
    assert a.to_json() == b.to_json()
    assert generate(Scale(seed=4)).to_json() != a.to_json()


def test_cases_are_canonical_and_round_trip() -> None:
    case = generate(Scale(green_share=True, export=True))
    assert load_case(json.loads(case.to_json())) == case


@pytest.mark.parametrize(("days", "minutes", "steps"), [(1, 60, 24), (1, 15, 96), (1, 5, 288), (7, 15, 672), (2, 60, 48)])
def test_horizon_and_resolution(days: int, minutes: int, steps: int) -> None:
    case = generate(Scale(days=days, step_minutes=minutes))
    assert (case.steps, case.step_minutes) == (steps, minutes)
    assert len(case.series(case.grid.buy_cny_per_mwh)) == steps
    assert len(case.demand_response) == days  # one evening event a day


def test_each_axis_moves_alone() -> None:
    base = generate(Scale())
    more_nodes = generate(Scale(substations=9))
    assert len(more_nodes.network.nodes) == 9 and len(base.network.nodes) == 4
    assert len(more_nodes.assets) == len(base.assets)
    more_pv = generate(Scale(pv=10))
    assert sum(a.type == "pv" for a in more_pv.assets) == 10
    assert len(more_pv.network.nodes) == len(base.network.nodes)
    # two levels: every third substation hangs from the root, the others from the one before
    parents = {n.id: n.parent for n in more_nodes.network.nodes}
    assert [p for p in parents.values() if p == "grid"] == ["grid"] * 3


def test_features_switch_on_and_off() -> None:
    plain = generate(Scale(binaries=False, events=False))
    assert plain.demand_response == []
    assert not any(a.type == "shiftable_load" for a in plain.assets)
    assert all(not getattr(a, "needs_binaries", False) for a in plain.assets)
    assert all(not a.optional for a in plain.assets if a.type == "green_contract")
    # With binary-free features and no export, the spec's only binaries are the batteries' b[t].
    _, spec = optimize(plain, exclusivity="spec")
    assert spec.binaries == 4 * plain.steps
    rich = generate(Scale(green_share=True, export=True))
    assert rich.green_share_min is not None and 0 < rich.green_share_min <= 0.5
    assert rich.grid.export_max_mw > 0
    assert optimize(rich)[1].status == "optimal"  # the target is reachable by construction


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"days": 8}, r"days: expected 1 to 7, got 8"),
        ({"step_minutes": 7}, r"step_minutes: expected a divisor of 1440 such as 5, 15 or 60, got 7"),
        ({"substations": -1}, r"substations: expected >= 0, got -1"),
        ({"batteries": -2}, r"batteries: expected >= 0, got -2"),
    ],
)
def test_bad_scales_are_rejected(change: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Scale(**change)


@pytest.mark.parametrize("seed", [4, 5, 6, 7])
def test_green_share_targets_are_reachable_whatever_the_seed(seed: int) -> None:
    # The target counts every kind of consumption the green share counts (flexible and
    # thermal too), so it can always be met: no generated case is infeasible.
    case = generate(Scale(green_share=True, seed=seed))
    assert optimize(case)[1].status == "optimal"


@pytest.mark.parametrize("minutes", [15, 60])
def test_regulation_is_a_market_for_every_battery_on_top_of_the_same_case(minutes: int) -> None:
    plain = generate(Scale(step_minutes=minutes))
    case = generate(Scale(step_minutes=minutes, regulation=True))
    assert case.name == plain.name.replace("-be-", "-bef-") and case.name.endswith("-bef-r0")
    reg = case.regulation
    assert reg is not None and reg.block_steps == 60 // minutes  # hourly blocks
    batteries = [a for a in case.assets if a.type == "battery"]
    assert batteries and all(b.regulation and 1.5 <= b.regulation_performance <= 2.5 for b in batteries)
    assert reg.min_offer_mw == pytest.approx(0.2 * sum(b.power_mw for b in batteries), abs=1e-3)
    # the market is drawn last: without it (and the batteries' flags) the case is the plain one
    data = case.model_dump(mode="json", exclude={"name", "meta"})
    data["regulation"] = None
    for a in data["assets"]:
        if a["type"] == "battery":
            a.update(regulation=False, regulation_performance=1.0)
    assert data == plain.model_dump(mode="json", exclude={"name", "meta"})
