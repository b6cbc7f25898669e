"""Reading and validating the canonical case (shared/spec/model.md §1, vpp/case.py).

Every rule of the case is checked at the edge, and *every* problem is reported
at once with its field path. Each error path below has one test that names the
path and matches the message; the positive tests pin the defaults of the spec.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from vpp.case import Battery, Case, load_case, read_case, read_case_data, validate_case
from vpp.errors import CaseError, Problem

STEPS = 4


def base_case() -> dict[str, Any]:
    """A valid case with two nodes, every asset type and one demand-response event."""
    return {
        "name": "unit",
        "start": "2026-07-15T00:00:00+08:00",
        "step_minutes": 60,
        "steps": STEPS,
        "network": {
            "root": "grid",
            "nodes": [
                {"id": "s1", "parent": "grid", "capacity_mw": 10},
                {"id": "s2", "parent": "s1", "capacity_mw": 5},
            ],
        },
        "grid": {"import_max_mw": 100, "buy_cny_per_mwh": [100, 200, 300, 400]},
        "assets": [
            {"id": "pv", "type": "pv", "node": "s1", "available_mw": [0, 1, 2, 0]},  # 0
            {"id": "load", "type": "load", "node": "s2", "demand_mw": 3},  # 1
            {"id": "bat", "type": "battery", "node": "s1", "power_mw": 2, "energy_mwh": 4},  # 2
            {"id": "shift", "type": "shiftable_load", "profile_mw": [1, 1]},  # 3
            {  # 4
                "id": "ev",
                "type": "flexible_load",
                "max_power_mw": 2,
                "energy_mwh": 4,
                "requirements": [{"by_step": 2, "energy_mwh": 2}],
            },
            {
                "id": "green",
                "type": "green_contract",
                "available_mw": 1,
                "price_cny_per_mwh": 50,
            },  # 5
            {  # 6
                "id": "ice",
                "type": "thermal_storage",
                "max_power_mw": 1,
                "cop": 3,
                "thermal_demand_mw": 1,
                "capacity_mwh_th": 4,
            },
            {  # 7
                "id": "cut",
                "type": "curtailable_load",
                "demand_mw": 1,
                "max_reduction_mw": 0.5,
                "cost_cny_per_mwh": 300,
            },
        ],
        "demand_response": [
            {
                "id": "dr1",
                "start_step": 1,
                "end_step": 3,
                "baseline_mw": [5, 5, 5, 5],
                "reduction_mw": 1,
                "price_cny_per_mwh": 100,
                "shortfall_penalty_cny_per_mwh": 200,
            }
        ],
    }


def minimal_case() -> dict[str, Any]:
    """Only the required keys, so that every default applies."""
    return {
        "start": "2026-07-15T00:00:00+08:00",
        "step_minutes": 15,
        "steps": STEPS,
        "grid": {"import_max_mw": 50, "buy_cny_per_mwh": 300},
        "assets": [
            {"id": "load", "type": "load", "demand_mw": 2.5},
            {"id": "bat", "type": "battery", "power_mw": 1, "energy_mwh": 2},
        ],
    }


def problems_of(data: Any) -> list[Problem]:
    case, problems = validate_case(data)
    assert case is None, "an invalid case must not come back as a Case"
    assert problems, "an invalid case must report at least one problem"
    return problems


def with_change(change: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    data = base_case()
    change(data)
    return data


def asset(data: dict[str, Any], i: int) -> dict[str, Any]:
    return data["assets"][i]


def node(data: dict[str, Any], i: int) -> dict[str, Any]:
    return data["network"]["nodes"][i]


def test_base_and_minimal_cases_are_valid() -> None:
    for data in (base_case(), minimal_case()):
        case, problems = validate_case(data)
        assert problems == []
        assert isinstance(case, Case)


# ---------------------------------------------------------------------------
# One error at a time: (change, path, message pattern). Each case must report
# exactly that one problem, at that path.
# ---------------------------------------------------------------------------

LENGTH = r"expected 4 values \(one per step\) or a single number, got {n} values"
TYPE_LIST = "expected one of ['battery', 'curtailable_load', 'flexible_load', 'green_contract', 'load', 'pv', 'shiftable_load', 'thermal_storage']"

SINGLE_ERRORS: list[tuple[str, Callable[[dict[str, Any]], Any], str, str]] = [
    # series of the wrong length
    (
        "grid-price-length",
        lambda d: d["grid"].update(buy_cny_per_mwh=[1, 2, 3]),
        "grid.buy_cny_per_mwh",
        LENGTH.format(n=3),
    ),
    (
        "asset-series-length",
        lambda d: asset(d, 0).update(available_mw=[1, 2]),
        "assets[0].available_mw",
        LENGTH.format(n=2),
    ),
    (
        "asset-series-too-long",
        lambda d: asset(d, 7).update(max_reduction_mw=[0.1] * 5),
        "assets[7].max_reduction_mw",
        LENGTH.format(n=5),
    ),
    (
        "dr-baseline-length",
        lambda d: d["demand_response"][0].update(baseline_mw=[1, 2, 3, 4, 5]),
        "demand_response[0].baseline_mw",
        LENGTH.format(n=5),
    ),
    # non-finite numbers and wrong types in a series
    (
        "nan-in-series",
        lambda d: d["grid"].update(buy_cny_per_mwh=[1, float("nan"), 3, 4]),
        "grid.buy_cny_per_mwh",
        r"expected a finite number at position 1, got nan",
    ),
    (
        "inf-in-series",
        lambda d: asset(d, 0).update(available_mw=[1, 1, float("inf"), 0]),
        "assets[0].available_mw",
        r"expected a finite number at position 2, got inf",
    ),
    (
        "inf-scalar-series",
        lambda d: asset(d, 1).update(demand_mw=float("-inf")),
        "assets[1].demand_mw",
        r"expected a finite number, got -inf",
    ),
    (
        "string-in-series",
        lambda d: d["grid"].update(buy_cny_per_mwh=[1, "x", 3, 4]),
        "grid.buy_cny_per_mwh",
        r"^expected a number at position 1",
    ),
    (
        "bool-in-series",
        lambda d: asset(d, 0).update(available_mw=[0, True, 0, 0]),
        "assets[0].available_mw",
        r"^expected a number at position 1",
    ),
    (
        "string-series",
        lambda d: d["grid"].update(buy_cny_per_mwh="100"),
        "grid.buy_cny_per_mwh",
        r"expected a number or a list of one number per step, got str",
    ),
    (
        "bool-series",
        lambda d: d["grid"].update(buy_cny_per_mwh=True),
        "grid.buy_cny_per_mwh",
        r"expected a number or a list of one number per step, got bool",
    ),
    (
        "negative-series",
        lambda d: asset(d, 0).update(available_mw=[0, -1, 0, 0]),
        "assets[0].available_mw",
        r"expected values >= 0, got -1(\.0)? at position 1",
    ),
    # references
    (
        "unknown-asset-node",
        lambda d: asset(d, 0).update(node="s9"),
        "assets[0].node",
        r"unknown node 's9': expected the root 'grid' or one of \['s1', 's2'\]",
    ),
    (
        "unknown-parent",
        lambda d: node(d, 1).update(parent="s9"),
        "network.nodes[1].parent",
        r"unknown node 's9': expected the root 'grid' or one of \['s1', 's2'\]",
    ),
    # not a tree
    (
        "two-cycle",
        lambda d: node(d, 0).update(parent="s2"),
        "network.nodes[0].parent",
        r"the network is not a tree: cycle s1 -> s2 -> s1; every node must lead up to the root 'grid'",
    ),
    (
        "three-cycle",
        lambda d: (
            d["network"]["nodes"].append({"id": "s3", "parent": "s2"}),
            node(d, 0).update(parent="s3"),
        ),
        "network.nodes[0].parent",
        r"the network is not a tree: cycle s1 -> s3 -> s2 -> s1",
    ),
    # capacities and ranges
    (
        "negative-node-capacity",
        lambda d: node(d, 0).update(capacity_mw=-1),
        "network.nodes[0].capacity_mw",
        r"^expected a number >= 0, got -",
    ),
    (
        "negative-battery-energy",
        lambda d: asset(d, 2).update(energy_mwh=-4),
        "assets[2].energy_mwh",
        r"^expected a number >= 0, got -",
    ),
    (
        "negative-import-max",
        lambda d: d["grid"].update(import_max_mw=-100),
        "grid.import_max_mw",
        r"^expected values >= 0, got -100",  # a series since model version 2
    ),
    (
        "efficiency-zero",
        lambda d: asset(d, 2).update(charge_efficiency=0),
        "assets[2].charge_efficiency",
        r"^expected a number > 0, got 0",
    ),
    (
        "efficiency-above-one",
        lambda d: asset(d, 2).update(discharge_efficiency=1.2),
        "assets[2].discharge_efficiency",
        r"^expected a number <= 1, got 1\.2",
    ),
    (
        "soc-min-above-max",
        lambda d: asset(d, 2).update(soc_min=0.8, soc_max=0.5),
        "assets[2].soc_min",
        r"SoC bounds out of order: expected soc_min <= soc_max, got soc_min=0\.8 > soc_max=0\.5",
    ),
    (
        "soc-final-above-max",
        lambda d: asset(d, 2).update(soc_final_min=0.95),
        "assets[2].soc_final_min",
        r"SoC bounds out of order: expected the final SoC minimum \(0\.95\) <= soc_max \(0\.9\)",
    ),
    # windows
    (
        "shiftable-window-short",
        lambda d: asset(d, 3).update(earliest_start=3),
        "assets[3].latest_end",
        r"the window \[earliest_start=3, latest_end=4\) has 1 steps?, shorter than the profile's 2 steps",
    ),
    (
        "shiftable-latest-end-beyond",
        lambda d: asset(d, 3).update(latest_end=5),
        "assets[3].latest_end",
        r"expected <= steps \(4\), got 5",
    ),
    (
        "dr-end-not-after-start",
        lambda d: d["demand_response"][0].update(end_step=1),
        "demand_response[0].end_step",
        r"^expected end_step > start_step \(1\), got 1$",
    ),
    (
        "dr-end-beyond-steps",
        lambda d: d["demand_response"][0].update(end_step=5),
        "demand_response[0].end_step",
        r"expected <= steps \(4\), got 5",
    ),
    # ids
    (
        "duplicate-asset-ids",
        lambda d: asset(d, 1).update(id="pv"),
        "assets[1].id",
        r"duplicate id 'pv' \(already used at assets\[0\]\.id\)",
    ),
    (
        "asset-id-equals-node-id",
        lambda d: asset(d, 1).update(id="s2", node="s1"),
        "assets[1].id",
        r"duplicate id 's2' \(already used at network\.nodes\[1\]\.id\)",
    ),
    (
        "duplicate-dr-ids",
        lambda d: d["demand_response"].append(dict(d["demand_response"][0], start_step=0)),
        "demand_response[1].id",
        r"duplicate event id 'dr1'",
    ),
    # start
    (
        "start-without-timezone",
        lambda d: d.update(start="2026-07-15T00:00:00"),
        "start",
        r"time zone missing: expected an ISO 8601 time with its UTC offset, e\.g\. 2026-07-15T00:00:00\+08:00, got 2026-07-15T00:00:00$",
    ),
    (
        "start-malformed",
        lambda d: d.update(start="15/07/2026 00:00"),
        "start",
        r"^expected an ISO 8601 time with its UTC offset, e\.g\. 2026-07-15T00:00:00\+08:00",
    ),
    # shape of the document
    (
        "unknown-asset-type",
        lambda d: asset(d, 0).update(type="wind"),
        "assets[0].type",
        re.escape(f"unknown asset type 'wind': {TYPE_LIST}"),
    ),
    (
        "missing-asset-type",
        lambda d: asset(d, 0).pop("type"),
        "assets[0].type",
        re.escape(f"required field is missing: {TYPE_LIST}"),
    ),
    (
        "misspelt-grid-field",
        lambda d: d["grid"].update(import_mx_mw=100),
        "grid.import_mx_mw",
        r"^unknown field 'import_mx_mw' \(did you mean 'import_max_mw'\?\)$",
    ),
    (
        "misspelt-asset-field",
        lambda d: asset(d, 2).update(enrgy_mwh=4),
        "assets[2].enrgy_mwh",
        r"^unknown field 'enrgy_mwh' \(did you mean 'energy_mwh'\?\)$",
    ),
    (
        "misspelt-top-level-field",
        lambda d: d.update(vol_cny_per_mwh=1),
        "vol_cny_per_mwh",
        r"^unknown field 'vol_cny_per_mwh' \(did you mean 'voll_cny_per_mwh'\?\)$",
    ),
    (
        "missing-required-field",
        lambda d: d["grid"].pop("import_max_mw"),
        "grid.import_max_mw",
        r"^required field is missing$",
    ),
    ("missing-steps", lambda d: d.pop("steps"), "steps", r"^required field is missing$"),
    (
        "battery-without-power",
        lambda d: asset(d, 2).pop("power_mw"),
        "assets[2].power_mw",
        r"^required unless both charge_power_mw and discharge_power_mw are given$",
    ),
    (
        "battery-with-one-directional-power",
        lambda d: (asset(d, 2).pop("power_mw"), asset(d, 2).update(charge_power_mw=1)),
        "assets[2].power_mw",
        r"^required unless both charge_power_mw and discharge_power_mw are given$",
    ),
    # hard requirements that cannot be met
    (
        "flexible-energy-above-max",
        lambda d: asset(d, 4).update(energy_mwh=9),
        "assets[4].energy_mwh",
        r"expected between 0 MWh \(min_power_mw over the horizon\) and 8 MWh \(max_power_mw over the horizon\), got 9",
    ),
    (
        "flexible-energy-below-min",
        lambda d: asset(d, 4).update(min_power_mw=1, energy_mwh=3),
        "assets[4].energy_mwh",
        r"expected between 4 MWh \(min_power_mw over the horizon\) and 8 MWh \(max_power_mw over the horizon\), got 3",
    ),
    (
        "flexible-requirement-unreachable",
        lambda d: asset(d, 4)["requirements"][0].update(energy_mwh=4.5),
        "assets[4].requirements[0].energy_mwh",
        r"unreachable: at most 4 MWh can be taken before step 2 within max_power_mw and energy_mwh=4, got 4\.5",
    ),
    (
        "flexible-requirement-beyond-horizon",
        lambda d: asset(d, 4)["requirements"][0].update(by_step=5),
        "assets[4].requirements[0].by_step",
        r"expected <= steps \(4\), got 5",
    ),
    (
        "soc-final-unreachable",
        lambda d: asset(d, 2).update(soc_initial=0.1, soc_final_min=0.9, power_mw=0.5),
        "assets[2].soc_final_min",
        r"unreachable: raising the level from 0\.1 to 0\.9 of 4 MWh needs 3\.2 MWh stored, but charging at most "
        r"0\.5 MW for 4 h at efficiency 0\.95 stores 1\.9 MWh",
    ),
    (
        "green-contract-below-root",
        lambda d: asset(d, 5).update(node="s1"),
        "assets[5].node",
        r"green contracts are settled at the grid connection: expected the root 'grid' or no node, got 's1'",
    ),
    (
        "self-discharge-times-step-above-one",
        lambda d: (d.update(step_minutes=120), asset(d, 2).update(self_discharge_per_hour=0.6)),
        "assets[2].self_discharge_per_hour",
        r"expected self_discharge_per_hour x step hours <= 1, got 1\.2",
    ),
    (
        "thermal-loss-times-step-above-one",
        lambda d: (d.update(step_minutes=180), asset(d, 6).update(loss_per_hour=0.5)),
        "assets[6].loss_per_hour",
        r"expected loss_per_hour x step hours <= 1, got 1\.5",
    ),
]


@pytest.mark.parametrize(
    ("change", "path", "pattern"),
    [pytest.param(c, p, m, id=i) for i, c, p, m in SINGLE_ERRORS],
)
def test_one_problem_is_reported_at_its_path(change: Callable, path: str, pattern: str) -> None:
    problems = problems_of(with_change(change))
    assert [p.path for p in problems] == [path], problems
    assert re.search(pattern, problems[0].message), problems[0].message


@pytest.mark.parametrize(
    ("change", "pattern"),
    [
        pytest.param(
            lambda d: d["grid"].update(buy_cny_per_mwh=[1, 2, 3]),
            r"grid\.buy_cny_per_mwh: expected 4 values",
            id="length",
        ),
        pytest.param(
            lambda d: asset(d, 1).update(id="pv"),
            r"assets\[1\]\.id: duplicate id 'pv'",
            id="duplicate",
        ),
        pytest.param(
            lambda d: node(d, 0).update(parent="s2"),
            r"network\.nodes\[0\]\.parent: the network is not a tree",
            id="cycle",
        ),
        pytest.param(
            lambda d: d.update(start="2026-07-15T00:00"), r"start: time zone missing", id="timezone"
        ),
    ],
)
def test_load_case_raises_case_error_naming_path_and_problem(
    change: Callable, pattern: str
) -> None:
    with pytest.raises(CaseError, match=pattern) as info:
        load_case(with_change(change))
    assert len(info.value.problems) == 1
    assert str(info.value).startswith("1 problem while reading the case:")


def test_efficiency_of_exactly_one_is_allowed() -> None:
    case = load_case(
        with_change(lambda d: asset(d, 2).update(charge_efficiency=1, discharge_efficiency=1))
    )
    bat = case.assets[2]
    assert isinstance(bat, Battery)
    assert (bat.charge_efficiency, bat.discharge_efficiency) == (1.0, 1.0)


def test_node_id_equal_to_root_is_reported() -> None:
    data = with_change(lambda d: d["network"]["nodes"].append({"id": "grid", "capacity_mw": 1}))
    problems = problems_of(data)
    root_problems = [p for p in problems if p.path == "network.nodes[2].id"]
    assert len(root_problems) == 1
    assert root_problems[0].message == "node id 'grid' is the root's id; the root is implicit"


def test_node_id_equal_to_custom_root_is_reported() -> None:
    data = with_change(
        lambda d: (d["network"].update(root="pcc"), d["network"]["nodes"].append({"id": "pcc"}))
    )
    for n in data["network"]["nodes"][:2]:
        n["parent"] = "pcc" if n["parent"] == "grid" else n["parent"]
    problems = problems_of(data)
    assert any(p.path == "network.nodes[2].id" and "root's id" in p.message for p in problems), (
        problems
    )


def test_node_id_equal_to_root_reports_only_that_problem() -> None:
    data = with_change(lambda d: d["network"]["nodes"].append({"id": "grid", "capacity_mw": 1}))
    problems = problems_of(data)
    assert [p.path for p in problems] == ["network.nodes[2].id"], problems


def test_cycle_is_reported_once_even_with_a_node_hanging_from_it() -> None:
    data = with_change(
        lambda d: (
            node(d, 0).update(parent="s2"),
            d["network"]["nodes"].append({"id": "s3", "parent": "s1"}),
        )
    )
    problems = problems_of(data)
    cycles = [p for p in problems if p.message.startswith("the network is not a tree")]
    assert len(cycles) == 1, cycles


# ---------------------------------------------------------------------------
# Every problem at once
# ---------------------------------------------------------------------------


def several_problems_case() -> dict[str, Any]:
    data = base_case()
    data["start"] = "2026-07-15T00:00:00"  # time zone missing
    data["grid"]["buy_cny_per_mwh"] = [1, 2, 3]  # wrong length
    node(data, 1)["capacity_mw"] = -5  # negative capacity
    asset(data, 1)["id"] = "pv"  # duplicate id
    data["network"]["nodes"] += [{"id": "a", "parent": "b"}, {"id": "b", "parent": "a"}]  # cycle
    asset(data, 0)["node"] = "nowhere"  # unknown node
    asset(data, 2)["charge_efficiency"] = 1.2  # efficiency out of range
    data["demand_response"][0]["end_step"] = 9  # window beyond the horizon
    return data


SEVERAL_EXPECTED = {
    "start": r"^time zone missing",
    "grid.buy_cny_per_mwh": r"^expected 4 values \(one per step\) or a single number, got 3 values$",
    "network.nodes[1].capacity_mw": r"^expected a number >= 0, got -",
    "assets[1].id": r"^duplicate id 'pv' \(already used at assets\[0\]\.id\)$",
    "network.nodes[2].parent": r"^the network is not a tree: cycle a -> b -> a",
    "assets[0].node": r"^unknown node 'nowhere'",
    "assets[2].charge_efficiency": r"^expected a number <= 1, got 1\.2",
    "demand_response[0].end_step": r"^expected <= steps \(4\), got 9$",
}


def test_several_problems_of_different_kinds_are_all_reported_at_once() -> None:
    problems = problems_of(several_problems_case())
    by_path = {p.path: p.message for p in problems}
    assert sorted(by_path) == sorted(SEVERAL_EXPECTED), problems
    assert len(problems) == len(SEVERAL_EXPECTED), "each problem once"
    for path, pattern in SEVERAL_EXPECTED.items():
        assert re.search(pattern, by_path[path]), (path, by_path[path])


def test_several_cross_field_problems_without_field_errors_are_all_reported() -> None:
    data = base_case()
    asset(data, 1)["id"] = "pv"
    asset(data, 0)["node"] = "nowhere"
    asset(data, 3)["latest_end"] = 9
    asset(data, 4)["energy_mwh"] = 100
    asset(data, 5)["node"] = "s1"
    data["demand_response"].append(dict(data["demand_response"][0]))
    problems = problems_of(data)
    assert sorted(p.path for p in problems) == sorted(
        [
            "assets[1].id",
            "assets[0].node",
            "assets[3].latest_end",
            "assets[4].energy_mwh",
            "assets[5].node",
            "demand_response[1].id",
        ]
    ), problems


def test_several_problems_raise_one_case_error_listing_them_all() -> None:
    with pytest.raises(
        CaseError, match=rf"^{len(SEVERAL_EXPECTED)} problems while reading the case:"
    ) as info:
        load_case(several_problems_case())
    text = str(info.value)
    for p in info.value.problems:
        assert f"  - {p.path}: {p.message}" in text


def test_several_problems_are_all_printed_by_vpp_case_validate(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(several_problems_case()), encoding="utf-8")
    env = {**os.environ, "COLUMNS": "1000"}
    res = subprocess.run(
        [sys.executable, "-m", "vpp.cli", "case", "validate", str(path)],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    assert res.returncode == 2, res
    assert f"{len(SEVERAL_EXPECTED)} problem(s) while reading broken.json" in res.stderr
    _, problems = validate_case(several_problems_case())
    for p in problems:
        assert f"- {p.path}: {p.message}" in res.stderr, (str(p), res.stderr)
    assert "valid" not in res.stdout


def test_non_mapping_top_level_is_a_problem() -> None:
    case, problems = validate_case(None)
    assert case is None
    assert problems == [Problem("", "the case is empty: expected a JSON/YAML object with the keys of shared/spec/model.md")]
    for data, kind in (([1, 2], "list"), ("case", "str"), (3, "int")):
        case, problems = validate_case(data)
        assert case is None
        assert problems == [
            Problem("", f"expected a JSON/YAML object (mapping) for the case, got {kind}")
        ]
    with pytest.raises(
        CaseError, match=r"expected a JSON/YAML object \(mapping\) for the case, got list"
    ):
        load_case([base_case()])


# ---------------------------------------------------------------------------
# Messages that do not show the offending value (product bugs)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        pytest.param("x", "'x'", id="string"),
        pytest.param(True, "True", id="bool"),
        pytest.param(None, "None", id="null"),
    ],
)
def test_wrong_type_in_series_names_the_value(value: Any, shown: str) -> None:
    problems = problems_of(
        with_change(lambda d: d["grid"].update(buy_cny_per_mwh=[1, value, 3, 4]))
    )
    assert [p.path for p in problems] == ["grid.buy_cny_per_mwh"]
    assert problems[0].message == f"expected a number at position 1, got {shown}"


def test_malformed_start_names_the_value() -> None:
    problems = problems_of(with_change(lambda d: d.update(start="15/07/2026 00:00")))
    assert problems[0].path == "start"
    assert problems[0].message.endswith("got '15/07/2026 00:00'"), problems[0].message


def test_series_lengths_are_checked_when_steps_is_a_whole_float() -> None:
    data = with_change(lambda d: (d.update(steps=4.0), d["grid"].update(buy_cny_per_mwh=[1, 2, 3])))
    case, problems = validate_case(data)
    assert case is None
    assert [p.path for p in problems] == ["grid.buy_cny_per_mwh"], problems


# ---------------------------------------------------------------------------
# Defaults, series, time, files, round trip
# ---------------------------------------------------------------------------


def test_defaults_follow_the_spec() -> None:
    case = load_case(minimal_case())
    assert case.name == "case"
    assert case.voll_cny_per_mwh == 20000
    assert case.carbon_price_cny_per_t == 0
    assert case.green_share_min is None
    assert case.demand_response == []
    assert case.network.root == "grid"
    assert case.network.nodes == []
    assert case.grid.export_max_mw == 0
    assert case.grid.sell_cny_per_mwh == 0
    assert case.grid.demand_charge_cny_per_mw == 0
    assert case.grid.emission_t_per_mwh == 0
    load, bat = case.assets
    assert load.node is None and case.node_of(load) == "grid"
    assert isinstance(bat, Battery) and case.node_of(bat) == "grid"
    assert (bat.soc_min, bat.soc_max, bat.soc_initial) == (0.1, 0.9, 0.5)
    assert bat.final_min == bat.soc_initial == 0.5
    assert (bat.charge_efficiency, bat.discharge_efficiency) == (0.95, 0.95)
    assert (bat.charge_mw, bat.discharge_mw) == (1.0, 1.0)
    assert (
        bat.self_discharge_per_hour == 0
        and bat.degradation_cny_per_mwh == 0
        and bat.max_cycles is None
    )
    assert case.dt_hours == 0.25


def test_soc_final_min_defaults_to_soc_initial() -> None:
    data = minimal_case()
    data["assets"][1]["soc_initial"] = 0.3
    bat = load_case(data).assets[1]
    assert isinstance(bat, Battery)
    assert bat.final_min == 0.3
    data["assets"][1]["soc_final_min"] = 0.7
    bat = load_case(data).assets[1]
    assert bat.final_min == 0.7


def test_asset_defaults_follow_the_spec() -> None:
    case = load_case(base_case())
    pv, _, _, shift, ev, green, ice, cut = case.assets
    assert pv.curtailment_cny_per_mwh == 0
    assert (shift.earliest_start, shift.latest_end) == (0, None)
    assert ev.min_power_mw == 0
    assert (green.min_take, green.fixed_cny, green.optional) == (0, 0, True)
    assert case.node_of(green) == "grid"
    assert (ice.level_initial, ice.loss_per_hour) == (0.5, 0)
    assert (cut.min_duration_steps, cut.max_events, cut.needs_binaries) == (1, None, False)
    assert case.demand_response[0].optional is True
    assert case.demand_response[0].length_steps == 2


def test_series_broadcasts_a_scalar_and_keeps_a_list() -> None:
    case = load_case(base_case())
    demand = case.series(case.assets[1].demand_mw)
    assert isinstance(demand, np.ndarray) and demand.dtype == float
    np.testing.assert_array_equal(demand, [3.0, 3.0, 3.0, 3.0])
    np.testing.assert_array_equal(
        case.series(case.grid.buy_cny_per_mwh), [100.0, 200.0, 300.0, 400.0]
    )
    np.testing.assert_array_equal(case.series(case.grid.sell_cny_per_mwh), np.zeros(STEPS))


def test_integers_in_series_become_floats() -> None:
    case = load_case(base_case())
    assert case.grid.buy_cny_per_mwh == [100.0, 200.0, 300.0, 400.0]
    assert all(isinstance(x, float) for x in case.grid.buy_cny_per_mwh)


@pytest.mark.parametrize(
    ("start", "offset_hours"),
    [
        ("2026-07-15T00:00:00+08:00", 8),
        ("2026-03-08T00:00:00-05:00", -5),
        ("2026-07-15T00:00:00Z", 0),
    ],
)
def test_timestamps_are_in_the_case_own_utc_offset(start: str, offset_hours: int) -> None:
    data = minimal_case()
    data["start"] = start
    data["steps"] = 96
    case = load_case(data)
    ts = case.timestamps
    assert isinstance(ts, pd.DatetimeIndex)
    assert len(ts) == 96
    assert ts[0] == pd.Timestamp(start)
    assert ts[0].hour == 0 and ts[0].minute == 0
    assert ts[-1].hour == 23 and ts[-1].minute == 45
    assert all(t.utcoffset() == dt.timedelta(hours=offset_hours) for t in ts)
    assert (ts[1:] - ts[:-1] == pd.Timedelta(minutes=15)).all()


def test_yaml_and_json_files_with_the_same_content_give_equal_cases(tmp_path: Path) -> None:
    data = base_case()
    (tmp_path / "c.json").write_text(json.dumps(data), encoding="utf-8")
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    (tmp_path / "c.yml").write_text(yaml.safe_dump(data, sort_keys=True), encoding="utf-8")
    from_json = read_case(tmp_path / "c.json")
    assert read_case(tmp_path / "c.yaml") == from_json
    assert read_case(str(tmp_path / "c.yml")) == from_json
    assert from_json == load_case(data)


def test_yaml_with_an_unquoted_start_reads_like_json(tmp_path: Path) -> None:
    text = (
        "start: 2026-07-15T00:00:00+08:00\nstep_minutes: 15\nsteps: 4\n"
        "grid: {import_max_mw: 50, buy_cny_per_mwh: 300}\n"
        "assets:\n  - {id: load, type: load, demand_mw: 2.5}\n"
        "  - {id: bat, type: battery, power_mw: 1, energy_mwh: 2}\n"
    )
    (tmp_path / "c.yaml").write_text(text, encoding="utf-8")
    assert read_case(tmp_path / "c.yaml") == load_case(minimal_case())


def test_yaml_with_an_unquoted_naive_start_reports_the_missing_time_zone(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text(
        yaml.safe_dump(minimal_case()).replace("'2026-07-15T00:00:00+08:00'", "2026-07-15T00:00:00")
    )
    with pytest.raises(CaseError, match=r"start: time zone missing") as info:
        read_case(tmp_path / "c.yaml")
    assert info.value.step == "reading c.yaml"


def test_invalid_json_gives_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"name": "x",\n  "steps": }\n', encoding="utf-8")
    with pytest.raises(
        CaseError, match=r"not valid JSON at line 2, column 12: Expecting value"
    ) as info:
        read_case(path)
    assert info.value.step == "parsing bad.json"
    assert len(info.value.problems) == 1


def test_invalid_yaml_gives_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\nsteps: 4\n  grid: 1\n", encoding="utf-8")
    with pytest.raises(CaseError, match=r"not valid YAML") as info:
        read_case(path)
    assert info.value.step == "parsing bad.yaml"
    assert re.search(r"line 3, column \d+", info.value.problems[0].message), info.value.problems[
        0
    ].message


def test_a_file_that_is_not_utf8_names_the_byte(tmp_path: Path) -> None:
    path = tmp_path / "latin.json"
    path.write_bytes(b'{"name": "caf\xe9"}')
    with pytest.raises(CaseError, match=r"not UTF-8 text: byte 13 cannot be decoded \(invalid continuation byte\)") as info:
        read_case(path)
    assert info.value.step == "parsing latin.json"


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_a_file_nested_too_deeply_is_refused(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"deep{suffix}"
    path.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    with pytest.raises(CaseError, match=r"1 problem while parsing deep\.(json|yaml):\n  - the case is nested too deeply to read$"):
        read_case(path)


def test_numbers_beyond_float_range_and_deep_values_are_problems_with_short_messages() -> None:
    deep: Any = 1.0
    for _ in range(3_000):
        deep = [deep]
    data = with_change(lambda d: (d["grid"].update(buy_cny_per_mwh=[10**400, 1, 2, 3]), asset(d, 1).update(demand_mw=[deep, 1, 1, 1])))
    problems = problems_of(data)
    messages = {p.path: p.message for p in problems}
    assert messages["grid.buy_cny_per_mwh"] == "expected a finite number at position 0, got inf"
    assert messages["assets[1].demand_mw"] == "expected a number at position 0, got [[[...]]]"


def test_missing_file_gives_a_clear_case_error(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "case.json"
    with pytest.raises(
        CaseError, match=r"cannot read case file '.*case\.json': No such file or directory"
    ) as info:
        read_case(path)
    assert info.value.step == "opening the case file"
    with pytest.raises(CaseError, match="No such file"):
        read_case_data(str(path))


def test_read_case_reports_every_problem_with_the_file_name(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(several_problems_case()), encoding="utf-8")
    with pytest.raises(CaseError) as info:
        read_case(path)
    assert info.value.step == "reading broken.json"
    assert sorted(p.path for p in info.value.problems) == sorted(SEVERAL_EXPECTED)


def test_round_trip_through_json() -> None:
    case = load_case(base_case())
    again = load_case(json.loads(case.to_json()))
    assert again == case
    assert again.to_json() == case.to_json()
    minimal = load_case(minimal_case())
    assert load_case(json.loads(minimal.to_json())) == minimal


def test_round_trip_keeps_every_optional_setting() -> None:
    data = base_case()
    data.update(
        voll_cny_per_mwh=5000,
        carbon_price_cny_per_t=80,
        green_share_min=0.3,
        meta={"source": "test"},
    )
    data["grid"].update(export_max_mw=20, sell_cny_per_mwh=[50, 50, 60, 60], emission_t_per_mwh=0.6)
    asset(data, 2).update(
        charge_power_mw=1.5, soc_final_min=0.6, max_cycles=2, self_discharge_per_hour=0.01
    )
    asset(data, 7).update(min_duration_steps=2, max_events=1)
    case = load_case(data)
    again = load_case(json.loads(case.to_json()))
    assert again == case
    assert again.assets[2].final_min == 0.6
    assert again.assets[7].needs_binaries


def test_load_case_passes_a_case_through() -> None:
    case = load_case(base_case())
    assert load_case(case) is case


def test_validate_case_does_not_modify_its_input() -> None:
    data = several_problems_case()
    before = copy.deepcopy(data)
    validate_case(data)
    assert data == before


def test_cases_compare_equal_after_timestamps_were_used() -> None:
    a = load_case(base_case())
    b = load_case(base_case())
    assert a.timestamps.equals(b.timestamps)
    assert a == b


# ---------------------------------------------------------------------------
# Numbers are numbers; no knock-on problems; suggestions from the element's own fields
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        (lambda d: d["grid"].update(import_max_mw="700"), "grid.import_max_mw",
         "expected a number or a list of one number per step, got str"),
        (lambda d: asset(d, 2).update(energy_mwh="4"), "assets[2].energy_mwh", "expected a number, got '4'"),
        (lambda d: asset(d, 7).update(min_duration_steps="2"), "assets[7].min_duration_steps",
         "expected a whole number, got '2'"),
        (lambda d: asset(d, 5).update(optional="false"), "assets[5].optional", "expected true or false, got 'false'"),
        (lambda d: d.update(voll_cny_per_mwh="20000"), "voll_cny_per_mwh", "expected a number, got '20000'"),
    ],
    ids=["series", "number", "whole-number", "boolean", "case-level"],
)
def test_numbers_given_as_text_are_refused(change: Callable, path: str, message: str) -> None:
    data = base_case()
    change(data)
    _, problems = validate_case(data)
    assert [(p.path, p.message) for p in problems] == [(path, message)]


def test_whole_numbers_written_with_a_decimal_point_are_whole_numbers() -> None:
    data = base_case()
    asset(data, 7).update(min_duration_steps=2.0)
    data["demand_response"][0].update(start_step=1.0, end_step=3.0)
    case = load_case(data)
    assert case.assets[7].min_duration_steps == 2 and case.demand_response[0].start_step == 1


def test_a_negative_battery_power_reports_only_itself_but_an_independent_rule_still_runs() -> None:
    # power −1 fails its own check; the final SoC's reachability reads the power, so it is not
    # checked (it would be a knock-on); the SoC order does not, so it is reported too.
    data = base_case()
    asset(data, 2).update(power_mw=-1, soc_final_min=0.9, soc_min=0.95, soc_max=0.9)
    _, problems = validate_case(data)
    assert [(p.path, p.message) for p in problems] == [
        ("assets[2].power_mw", "expected a number >= 0, got -1"),
        ("assets[2].soc_min", "SoC bounds out of order: expected soc_min <= soc_max, got soc_min=0.95 > soc_max=0.9"),
    ]


def test_an_unknown_field_is_matched_against_its_own_element_only() -> None:
    # energy_mwh is a battery's field, not a load's: no "did you mean 'energy_mwh'?"
    data = base_case()
    asset(data, 1)["energy_mwh"] = 3
    asset(data, 2)["soc_mni"] = 0.1
    _, problems = validate_case(data)
    found = {p.path: p.message for p in problems}
    assert found["assets[1].energy_mwh"] == (
        "unknown field 'energy_mwh' (expected one of: critical_fraction, demand_mw, description, id, meta, name, "
        "node, participant, type)")
    assert found["assets[2].soc_mni"] == "unknown field 'soc_mni' (did you mean 'soc_min'?)"


# ---------------------------------------------------------------------------
# Model version 2: every new key is validated, naming the field
# ---------------------------------------------------------------------------

V2_PROBLEMS = [
    (lambda d: d["grid"].update(schedule_mw=3), "grid.schedule_mw",
     "a declared plan needs deviation prices: expected grid.deviation with short_cny_per_mwh and "
     "long_cny_per_mwh beside schedule_mw"),
    (lambda d: d["grid"].update(deviation={"short_cny_per_mwh": 10, "long_cny_per_mwh": 5, "tolerance_mw": -1}),
     "grid.deviation.tolerance_mw", "expected values >= 0, got -1.0"),
    (lambda d: d["grid"].update(deviation={"short_cny_per_mwh": -10, "long_cny_per_mwh": 5}),
     "grid.deviation.short_cny_per_mwh", "expected values >= 0, got -10.0"),
    (lambda d: d["grid"].update(deviation={"long_cny_per_mwh": 5}), "grid.deviation.short_cny_per_mwh",
     "required field is missing"),
    (lambda d: d["grid"].update(peak_to_date_mw=-1), "grid.peak_to_date_mw", "expected a number >= 0, got -1"),
    (lambda d: d["grid"].update(import_max_mw=[1, 2]), "grid.import_max_mw",
     "expected 4 values (one per step) or a single number, got 2 values"),
    (lambda d: d["grid"].update(export_max_mw=[1, 1, -1, 1]), "grid.export_max_mw",
     "expected values >= 0, got -1.0 at position 2"),
    (lambda d: d["demand_response"][0].update(increase_mw=1), "demand_response[0].increase_mw",
     "a peak-shaving event takes reduction_mw, not increase_mw"),
    (lambda d: d["demand_response"][0].update(kind="valley_filling"), "demand_response[0].increase_mw",
     "required field is missing: a valley-filling event takes increase_mw"),
    (lambda d: d["demand_response"][0].update(kind="peak_clipping"), "demand_response[0].kind",
     "Input should be 'peak_shaving' or 'valley_filling'"),
    (lambda d: d["demand_response"][0].update(price_cny_per_mwh=-5), "demand_response[0].price_cny_per_mwh",
     "expected a number >= 0, got -5"),
    (lambda d: asset(d, 7).update(min_reduction_mw=-0.5), "assets[7].min_reduction_mw", "expected values >= 0, got -0.5"),
    (lambda d: asset(d, 7).update(start_cny=-1), "assets[7].start_cny", "expected a number >= 0, got -1"),
    (lambda d: asset(d, 7).update(cost_cny_per_mwh=-100), "assets[7].cost_cny_per_mwh", "expected a number >= 0, got -100"),
    (lambda d: asset(d, 1).update(critical_fraction=1.5), "assets[1].critical_fraction", "expected a number <= 1, got 1.5"),
    (lambda d: d.update(backup_hours=0), "backup_hours", "expected a number > 0, got 0"),
    (lambda d: d.update(emissions_max_t=-2), "emissions_max_t", "expected a number >= 0, got -2"),
    (lambda d: asset(d, 2).update(participant=""), "assets[2].participant", "String should have at least 1 character"),
    (lambda d: d.update(regulation={"capacity_price_cny_per_mw_h": 10, "block_steps": 0}), "regulation.block_steps",
     "expected a number >= 1, got 0"),
    (lambda d: d.update(regulation={"capacity_price_cny_per_mw_h": 10, "duration_h": 0}), "regulation.duration_h",
     "expected a number > 0, got 0"),
    (lambda d: d.update(regulation={"mileage_price_cny_per_mw": 3}), "regulation.capacity_price_cny_per_mw_h",
     "required field is missing"),
    (lambda d: d.update(risk={"cvar_weight": 1}), "risk", "a risk term needs scenarios: expected scenarios beside risk"),
    (lambda d: d.update(scenarios=[{"id": "a", "probability": 0.5}]), "scenarios",
     "the probabilities add up to 0.5: expected 1 (within 1e-6)"),
    (lambda d: d.update(scenarios=[{"id": "a", "probability": 1, "series": {"pv.demand_mw": 1}}]),
     "scenarios[0].series[pv.demand_mw]", "'pv' is a pv; its series are available_mw; got 'demand_mw'"),
    (lambda d: d.update(scenarios=[{"id": "a", "probability": 1, "series": {"grid.schedule_mw": 1}}]),
     "scenarios[0].series[grid.schedule_mw]", "grid.schedule_mw: the base case has no declared plan to replace"),
    (lambda d: d.update(scenarios=[{"id": "a", "probability": 1, "series": {"nobody.demand_mw": 1}}]),
     "scenarios[0].series[nobody.demand_mw]", "no asset or event 'nobody' in the case (and it is not 'grid')"),
    (lambda d: d.update(scenarios=[{"id": "a", "probability": 1, "series": {"load.demand_mw": [1, 2]}}]),
     "scenarios[0].series[load.demand_mw]", "expected 4 values (one per step) or a single number, got 2 values"),
    (lambda d: d.update(scenarios=[{"id": "a", "probability": 0.5}, {"id": "a", "probability": 0.5}]),
     "scenarios[1].id", "duplicate scenario id 'a'"),
]


@pytest.mark.parametrize(("change", "path", "message"), V2_PROBLEMS,
                         ids=[f"{p[1]}-{i}" for i, p in enumerate(V2_PROBLEMS)])
def test_version_2_keys_are_validated_naming_the_field(change: Callable, path: str, message: str) -> None:
    data = base_case()
    change(data)
    _, problems = validate_case(data)
    assert (path, message) in [(p.path, p.message) for p in problems], problems


def test_a_version_2_case_with_every_new_key_is_valid_and_a_version_1_case_keeps_its_defaults() -> None:
    data = base_case()
    data["grid"].update(import_max_mw=[100, 0, 100, 100], export_max_mw=[5, 0, 5, 5], demand_charge_cny_per_mw=36000,
                        peak_to_date_mw=3, declared_demand_mw=4, schedule_mw=2,
                        deviation={"short_cny_per_mwh": 50, "long_cny_per_mwh": 20, "tolerance_mw": 0.1})
    asset(data, 1).update(critical_fraction=0.2, participant="factory-a")
    asset(data, 2).update(regulation=True, regulation_performance=0.8)
    asset(data, 7).update(min_reduction_mw=0.2, start_cny=50, critical_fraction=0.1)
    data["demand_response"].append({"id": "fill", "kind": "valley_filling", "start_step": 0, "end_step": 2,
                                    "baseline_mw": 3, "increase_mw": 1, "price_cny_per_mwh": 100,
                                    "shortfall_penalty_cny_per_mwh": 200})
    data.update(emissions_max_t=20, backup_hours=0.5, regulation={"capacity_price_cny_per_mw_h": 30},
                scenarios=[{"id": "a", "probability": 0.25, "series": {"pv.available_mw": 1}},
                           {"id": "b", "probability": 0.75, "series": {"grid.schedule_mw": 3}}],
                risk={"cvar_weight": 0.5})
    case = load_case(data)
    assert case.assets[1].owner == "factory-a" and case.assets[0].owner == "pv"
    assert case.risk is not None and case.risk.cvar_beta == 0.9
    plain = load_case(base_case())
    assert (plain.grid.peak_to_date_mw, plain.grid.declared_demand_mw, plain.grid.deviation) == (0.0, None, None)
    assert plain.demand_response[0].kind == "peak_shaving" and plain.demand_response[0].amount_mw == plain.demand_response[0].reduction_mw
    assert (plain.emissions_max_t, plain.backup_hours, plain.regulation, plain.scenarios, plain.risk) == (None,) * 5


def test_an_asset_type_that_is_not_text_is_a_problem_not_a_crash() -> None:
    data = base_case()
    data["assets"].append({"id": "odd", "type": ["battery"], "power_mw": -1})
    _, problems = validate_case(data)
    assert any(p.path == "assets[8].type" for p in problems), problems
