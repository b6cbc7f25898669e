"""The OpenAPI document states what the service checks, so that a client generated from it sends valid requests."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.schemas import OVERRIDE_RANGES, SWEEP_PATTERN
from tests.api.conftest import Server
from vpp.case import Case
from vpp.errors import CaseError
from vpp.sizing.schema import load_defaults, parse_sweep

#: The JSON Schema words of a number's range.
BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")


@pytest.fixture(scope="module")
def document(server: Server) -> dict[str, Any]:
    with server.client(None) as c:
        r = c.get("/openapi.json")
    assert r.status_code == 200
    return r.json()


def components(document: dict[str, Any]) -> dict[str, Any]:
    return document["components"]["schemas"]


def test_the_overrides_name_every_setting_of_the_defaults_with_its_range(document: dict[str, Any]) -> None:
    study = components(document)["SizingRequestIn"]["properties"]
    defaults, _ = load_defaults()
    for section in ("economics", "sizing", "battery"):
        stated = study[section]
        assert stated["type"] == "object" and stated["additionalProperties"] is False  # unknown keys are refused
        assert sorted(stated["properties"]) == sorted(defaults[section]), section
        ranges = OVERRIDE_RANGES[section].model_json_schema()["properties"]
        for key, schema in stated["properties"].items():
            for word in BOUNDS:
                assert schema.get(word) == ranges[key].get(word), (section, key, word)
    bounds = {section: {key: {w: v for w, v in schema.items() if w in BOUNDS}
                        for key, schema in study[section]["properties"].items()} for section in ("economics", "battery")}
    assert bounds["battery"]["charge_efficiency"] == {"exclusiveMinimum": 0, "maximum": 1}  # an efficiency: (0, 1]
    assert bounds["battery"]["soc_min"] == {"minimum": 0, "maximum": 1}  # a state of charge: [0, 1]
    assert bounds["economics"]["energy_cny_per_kwh"]["minimum"] == 0  # a cost: not below 0
    assert all(b for section in bounds.values() for b in section.values())  # every setting has a range


def test_the_defaults_are_within_the_stated_ranges(document: dict[str, Any]) -> None:
    study = components(document)["SizingRequestIn"]["properties"]
    defaults, _ = load_defaults()
    for section in ("economics", "sizing", "battery"):
        for key, schema in study[section]["properties"].items():
            value = defaults[section][key]
            assert value >= schema.get("minimum", -float("inf")) and value > schema.get("exclusiveMinimum", -float("inf"))
            assert value <= schema.get("maximum", float("inf")) and value < schema.get("exclusiveMaximum", float("inf"))


def test_the_case_is_the_canonical_case_within_this_servers_limits(document: dict[str, Any]) -> None:
    schemas = components(document)
    for request in ("ScheduleRequest", "SizingRequestIn"):
        case = schemas[request]["properties"]["case"]
        assert case["$ref"] == "#/components/schemas/Case"
        assert "POST /v1/cases/validate names every problem of a case" in case["description"]
    assert set(schemas["Case"]["properties"]) == set(Case.model_fields)
    assert schemas["Case"]["properties"]["steps"]["maximum"] == 2016  # VPP_MAX_STEPS of the test servers (default)
    assert schemas["Case"]["properties"]["assets"]["maxItems"] == 500
    assert "type" in schemas["Battery"]["required"] and "type" in schemas["PV"]["required"]
    assert schemas["Battery"]["properties"]["name"]["anyOf"][0]["pattern"] == "^[^\\x00]*$"  # no NUL in any text
    # the solver time limit of this server (VPP_MAX_TIME_LIMIT_S=120 in the tests)
    assert schemas["SolveOptionsIn"]["properties"]["time_limit_s"]["maximum"] == 120
    assert schemas["SizingRequestIn"]["properties"]["time_limit_s"]["maximum"] == 120


def test_whole_numbers_and_sites_are_stated(document: dict[str, Any]) -> None:
    study = components(document)["SizingRequestIn"]["properties"]
    assert (study["year"]["type"], study["year"]["minimum"], study["year"]["maximum"]) == ("integer", 1900, 2200)
    assert study["sites"]["minItems"] == 1
    site = re.compile(study["sites"]["items"]["pattern"])
    assert all(site.fullmatch(good) for good in ("sub-110kv-1", "a b", "\x1csub"))
    assert not any(site.fullmatch(bad) for bad in ("", " sub", "sub ", "a\x00b", "a\nb", "\u3000sub", "sub\x85"))


#: What the sweep's own checks still refuse of the stated grammar: the order and the count of a range.
RANGE_RULES = ("needs start <= stop and a step > 0", "more than 400 points", "points: at most 400")


@settings(max_examples=300, deadline=None)
@given(spec=st.from_regex(SWEEP_PATTERN, fullmatch=True))
def test_a_sweep_in_the_stated_grammar_is_read_or_refused_for_its_ranges_alone(spec: str) -> None:
    try:
        grid = parse_sweep(spec)
    except CaseError as exc:
        assert all(any(rule in p.message for rule in RANGE_RULES) for p in exc.problems), (spec, exc.problems)
    else:
        assert grid["power"] and grid["energy"] and min(grid["power"] + grid["energy"]) >= 0
