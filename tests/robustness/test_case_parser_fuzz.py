"""Property-based fuzzing of the case parser (vpp/case.py): any input is a case or a list of problems.

Whatever arrives (any JSON value, a valid case with one field replaced by
garbage, a file of random bytes, numbers beyond float range, NaN and Infinity,
deep nesting, very long arrays and strings, unknown keys), the parser must
either return a :class:`~vpp.case.Case` or report problems, each with a field
path and a message, and never raise anything else.

``VPP_FUZZ_EXAMPLES`` sets the number of generated inputs per property (CI runs
the default; ``benchmarks/robustness.py`` runs the full count).
"""

from __future__ import annotations

import copy
import json
import math
import os
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.vpp.test_case_validation import base_case
from vpp.case import Case, read_case_data, validate_case
from vpp.errors import CaseError, Problem

EXAMPLES = int(os.environ.get("VPP_FUZZ_EXAMPLES", "150"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
)

# Scalars that break naive parsers: NaN, infinities, numbers beyond float range, huge strings.
nasty_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([10**400, -(10**400), 2**63, -(2**63) - 1, 0, -1]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.nan, math.inf, -math.inf, 1e308, -1e308, 5e-324]),
    st.text(max_size=50),
    st.sampled_from(["NaN", "Infinity", "-inf", "1e999", "", " ", "2026-02-30T00:00:00+08:00", "x" * 100_000]),
)
json_values = st.recursive(
    nasty_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=6), st.dictionaries(st.text(max_size=12), inner, max_size=6)),
    max_leaves=30,
)


def _check(data: Any) -> Case | None:
    case, problems = validate_case(data)
    if case is None:
        assert problems, "an invalid case must come with at least one problem"
    else:
        assert problems == []
    for p in problems:
        assert isinstance(p, Problem)
        assert isinstance(p.path, str)
        assert isinstance(p.message, str) and p.message.strip()
        assert "Traceback" not in p.message and 'File "' not in p.message
    return case


def _paths(data: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path to a value in nested dicts and lists."""
    out = [prefix]
    if isinstance(data, dict):
        for k, v in data.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out += _paths(v, (*prefix, i))
    return out


def _replace(data: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    parent = data
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    return data


def _delete(data: Any, path: tuple) -> Any:
    parent = data
    for key in path[:-1]:
        parent = parent[key]
    del parent[path[-1]]
    return data


@FUZZ
@given(json_values)
def test_any_json_value_is_a_case_or_problems(data: Any) -> None:
    _check(data)


@FUZZ
@given(st.data())
def test_a_valid_case_with_one_field_replaced_is_a_case_or_problems(data: st.DataObject) -> None:
    case = base_case()
    path = data.draw(st.sampled_from(_paths(case)[1:]), label="path")
    value = data.draw(json_values, label="value")
    _check(_replace(copy.deepcopy(case), path, value))


@FUZZ
@given(st.data())
def test_deleting_or_adding_a_field_is_a_case_or_problems(data: st.DataObject) -> None:
    case = base_case()
    paths = [p for p in _paths(case)[1:]]
    path = data.draw(st.sampled_from(paths), label="path")
    if data.draw(st.booleans(), label="delete"):
        changed = _delete(copy.deepcopy(case), path)
    else:
        parent_path = path[:-1]
        changed = copy.deepcopy(case)
        parent = changed
        for key in parent_path:
            parent = parent[key]
        if isinstance(parent, dict):
            parent[data.draw(st.text(min_size=1, max_size=20), label="key")] = data.draw(json_values)
        else:
            parent.append(data.draw(json_values, label="extra item"))
    _check(changed)


@FUZZ
@given(st.integers(min_value=0, max_value=5), st.sampled_from([10, 1_000, 200_000]))
def test_very_long_series_are_reported_by_length(which: int, length: int) -> None:
    case = base_case()
    keys = [("grid", "buy_cny_per_mwh"), ("assets", 0, "available_mw"), ("assets", 1, "demand_mw"),
            ("assets", 5, "available_mw"), ("assets", 6, "thermal_demand_mw"), ("assets", 7, "demand_mw")]
    _replace(case, keys[which], [1.0] * length)
    result = _check(case)
    assert result is None
    _, problems = validate_case(case)
    assert any("4" in p.message and str(length) in p.message for p in problems), problems


def test_deep_nesting_is_a_problem_not_a_crash() -> None:
    deep: Any = 1.0
    for _ in range(5_000):
        deep = [deep]
    for path in (("grid", "buy_cny_per_mwh"), ("assets",), ("name",)):
        _check(_replace(base_case(), path, deep))
    nested: Any = {}
    for _ in range(5_000):
        nested = {"a": nested}
    _check(_replace(base_case(), ("meta",), nested))
    _check(nested)


@FUZZ
@given(st.binary(max_size=400), st.sampled_from([".json", ".yaml", ".yml"]))
def test_a_file_of_random_bytes_is_read_or_refused_with_a_reason(tmp_path_factory: Any, raw: bytes, suffix: str) -> None:
    path = Path(tmp_path_factory.mktemp("fuzz")) / f"case{suffix}"
    path.write_bytes(raw)
    try:
        data = read_case_data(path)
    except CaseError as exc:
        assert exc.problems and all(p.message for p in exc.problems)
        return
    _check(data)


@settings(max_examples=1, deadline=None)
@given(st.sampled_from([".json", ".yaml"]))
def test_deeply_nested_files_are_refused_with_a_reason(tmp_path_factory: Any, suffix: str) -> None:
    path = Path(tmp_path_factory.mktemp("deep")) / f"case{suffix}"
    path.write_text("[" * 100_000 + "]" * 100_000)
    try:
        data = read_case_data(path)
    except CaseError as exc:
        assert exc.problems[0].message
        return
    _check(data)


def test_a_valid_case_survives_the_json_round_trip() -> None:
    case = _check(base_case())
    assert case is not None
    again = _check(json.loads(case.to_json()))
    assert again is not None and again.to_json() == case.to_json()
