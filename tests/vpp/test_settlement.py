"""Settlement with the participants (vpp/settlement.py): every number below is worked out by hand.

The hand day: four one-hour steps at a flat 500 CNY/MWh; the town's 20 MW load, the
factory's 10 MW plant (up to 6 MW curtailable at 600 CNY/MWh) and the mill's 5 MW
(up to 2 MW at 550 CNY/MWh). A peak-shaving event asks 6 MW below a 35 MW baseline
in steps 2–3 for 1000 CNY/MWh (penalty 3000). Curtailing costs the factory 100 and
the mill 50 CNY/MWh net of the energy not bought, so the plant joins (12,000 CNY of
revenue against 1,000 of cost) with the mill's 2 MW first and the factory's 4 MW.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from vpp.case import load_case
from vpp.cli import app
from vpp.dispatch import solve_case
from vpp.errors import CaseError
from vpp.results import write_outputs
from vpp.settlement import (
    History,
    HistoryDay,
    apportion,
    effective_response,
    history_baseline,
    load_rules,
    read_meter,
    read_solved_day,
    settle,
)

RULES = load_rules()


def hand_case(date: str = "2026-07-15", event: bool = True, factory_mw: float = 10.0) -> dict[str, Any]:
    case: dict[str, Any] = {
        "name": "hand", "start": f"{date}T00:00:00+08:00", "step_minutes": 60, "steps": 4,
        "grid": {"import_max_mw": 100, "buy_cny_per_mwh": 500},
        "assets": [
            {"id": "town-load", "type": "load", "demand_mw": 20, "participant": "town"},
            {"id": "plant", "type": "curtailable_load", "demand_mw": factory_mw, "max_reduction_mw": 6,
             "cost_cny_per_mwh": 600, "participant": "factory"},
            {"id": "mill-line", "type": "curtailable_load", "demand_mw": 5, "max_reduction_mw": 2,
             "cost_cny_per_mwh": 550, "participant": "mill"},
        ],
    }
    if event:
        case["demand_response"] = [{"id": "dr", "start_step": 2, "end_step": 4, "baseline_mw": 35, "reduction_mw": 6,
                                    "price_cny_per_mwh": 1000, "shortfall_penalty_cny_per_mwh": 3000}]
    return case


def solved(tmp: Path, case: dict[str, Any], name: str | None = None) -> Path:
    folder = tmp / (name or case["start"][:10])
    write_outputs(solve_case(load_case(case)), folder, chart=False)
    return folder


def by(rows: list[dict[str, Any]], participant: str) -> dict[str, Any]:
    return next(r for r in rows if r["participant"] == participant)


# -- the rule at each of its three regions -------------------------------------------------------


def test_effective_response_below_within_and_above() -> None:
    assert effective_response(1.9, 4.0, 0.5, 1.2) == (0.0, "below")       # 47.5 %: nothing
    assert effective_response(2.0, 4.0, 0.5, 1.2) == (2.0, "within")      # exactly 50 %: paid as is
    assert effective_response(4.8, 4.0, 0.5, 1.2) == (4.8, "within")      # exactly 120 %
    assert effective_response(6.0, 4.0, 0.5, 1.2) == pytest.approx((4.8, "above"))  # 150 %: capped at 1.2 × 4
    assert effective_response(3.0, 0.0, 0.5, 1.2) == (0.0, "no commitment")


# -- money: whole fen, adding up exactly --------------------------------------------------------------


def test_apportion_by_largest_remainder() -> None:
    # 100 fen over 1:1:1 → 33.33 each; the one fen left goes to the first of the equal remainders
    assert apportion(100, {"a": 1, "b": 1, "c": 1}) == {"a": 34, "b": 33, "c": 33}
    assert apportion(-100, {"a": 2, "b": 1}) == {"a": -67, "b": -33}
    assert apportion(100, {"a": 0, "b": 0}) == {}
    assert apportion(7, {"a": 0, "b": 3}) == {"b": 7}


@given(st.integers(-10**9, 10**9), st.lists(st.floats(0, 1e6), min_size=1, max_size=30))
def test_apportioned_shares_add_up_exactly(total: int, weights: list[float]) -> None:
    shares = apportion(total, {f"p{i}": w for i, w in enumerate(weights)})
    if any(w > 0 for w in weights) and total:
        assert sum(shares.values()) == total
        exact = {f"p{i}": total * w / sum(weights) for i, w in enumerate(weights)}
        assert all(abs(shares.get(k, 0) - v) < 1 for k, v in exact.items())  # each within a fen of its exact share
    else:
        assert shares == {}


# -- a day settled -------------------------------------------------------------------------------------


def test_the_hand_day_shares_revenue_by_effective_response(tmp_path: Path) -> None:
    day = read_solved_day(solved(tmp_path, hand_case()))
    s = settle([day], RULES)
    rows = s.responses
    # no history: each baseline is the participant's no-VPP consumption (factory 10, mill 5, town 20 MW)
    assert all(r["baseline_source"].startswith("[stand-in] 0 qualifying day(s)") for r in rows)
    assert by(rows, "factory")["response_mw"] == pytest.approx(4.0) and by(rows, "factory")["region"] == "within"
    assert by(rows, "mill")["response_mw"] == pytest.approx(2.0)
    assert by(rows, "town")["region"] == "no commitment"
    # 12,000 CNY: the aggregator's 20 % is 2,400; 9,600 shared 4:2
    revenue = next(p for p in s.pots if p.name == "dr_revenue:dr")
    assert (revenue.total, revenue.aggregator, revenue.shares) == (1_200_000, 240_000, {"factory": 640_000, "mill": 320_000})
    totals = s.totals().set_index("participant")["net_cny"].to_dict()
    assert totals == {"town": 0.0, "factory": 6400.0, "mill": 3200.0, "(aggregator)": 2400.0}


def test_given_commitments_put_each_participant_in_its_region(tmp_path: Path) -> None:
    day = read_solved_day(solved(tmp_path, hand_case()))
    commitments = {("2026-07-15", "dr", "factory"): 10.0, ("2026-07-15", "dr", "mill"): 1.5}
    s = settle([day], RULES, commitments=commitments)
    factory, mill = by(s.responses, "factory"), by(s.responses, "mill")
    assert (factory["region"], factory["effective_mw"]) == ("below", 0.0)  # 4 of 10 MW: 40 %
    assert factory["shortfall_mwh"] == pytest.approx(12.0)                  # (10 − 4) MW × 2 h
    assert mill["region"] == "above" and mill["effective_mw"] == pytest.approx(1.8)  # 2 of 1.5: paid 1.2 × 1.5
    assert mill["dr_revenue_cny"] == pytest.approx(9600.0)                 # the only effective response
    assert factory["dr_revenue_cny"] == 0.0


def test_meter_readings_recompute_the_penalty_and_pass_it_on(tmp_path: Path) -> None:
    day = read_solved_day(solved(tmp_path, hand_case()))
    meter = tmp_path / "meter.csv"
    # the factory cut only 1 MW of its scheduled 4 in the window
    meter.write_text("timestamp,participant,consumption_mw\n" + "".join(
        f"2026-07-15T{h:02d}:00:00+08:00,factory,{v}\n" for h, v in enumerate([10, 10, 9, 9])), encoding="utf-8")
    s = settle([day], RULES, meter=read_meter(meter))
    factory, mill = by(s.responses, "factory"), by(s.responses, "mill")
    assert factory["response_mw"] == pytest.approx(1.0) and factory["region"] == "below"
    assert factory["shortfall_mwh"] == pytest.approx(6.0) and mill["shortfall_mwh"] == 0.0
    # the plant's net import is 3 MW above its 29 MW target in both steps: 3000 × 3 × 2 = 18,000 CNY
    penalty = next(p for p in s.pots if p.name == "dr_penalty:dr")
    assert penalty.total == -1_800_000 and penalty.shares == {"factory": -1_800_000} and penalty.aggregator == 0
    totals = s.totals().set_index("participant")["net_cny"].to_dict()
    assert totals["factory"] == -18000.0 and totals["mill"] == 9600.0 and totals["(aggregator)"] == 2400.0
    assert s.days[0]["consumption"] == "meter readings"


def test_regulation_revenue_is_shared_by_band_and_by_mileage(tmp_path: Path) -> None:
    case = {
        "name": "reg", "start": "2026-07-15T00:00:00+08:00", "step_minutes": 60, "steps": 4,
        "grid": {"import_max_mw": 100, "buy_cny_per_mwh": 500},
        "assets": [
            {"id": "load", "type": "load", "demand_mw": 5},
            {"id": "b1", "type": "battery", "power_mw": 2, "energy_mwh": 4, "soc_min": 0, "soc_max": 1,
             "charge_efficiency": 1, "discharge_efficiency": 1, "regulation": True, "regulation_performance": 0.9,
             "participant": "fleet"},
            {"id": "b2", "type": "battery", "power_mw": 1, "energy_mwh": 2, "soc_min": 0, "soc_max": 1,
             "charge_efficiency": 1, "discharge_efficiency": 1, "regulation": True, "participant": "park"},
        ],
        "regulation": {"capacity_price_cny_per_mw_h": 40, "mileage_price_cny_per_mw": 6, "mileage_mw_per_mw_h": 2},
    }
    s = settle([read_solved_day(solved(tmp_path, case))], RULES)
    cap = next(p for p in s.pots if p.name == "regulation_capacity")
    mil = next(p for p in s.pots if p.name == "regulation_mileage")
    # bands 2 and 1 MW for 4 h: capacity 40 × (8 + 4) = 480 CNY; mileage 6 × 2 × (0.9 × 8 + 1 × 4) = 134.40 CNY
    assert (cap.total, cap.aggregator, cap.shares) == (48_000, 9_600, {"fleet": 25_600, "park": 12_800})
    assert (mil.total, mil.aggregator, mil.shares) == (13_440, 2_688, {"fleet": 6_912, "park": 3_840})
    fleet = by(s.regulation, "fleet")
    assert fleet["band_mwh"] == pytest.approx(8.0) and fleet["mileage_mw"] == pytest.approx(14.4)


# -- a month: the earlier days are the later days' history ------------------------------------------------


def test_a_month_takes_its_baselines_from_the_earlier_days(tmp_path: Path) -> None:
    month = tmp_path / "month"
    for d in range(6, 11):  # Monday 6 to Friday 10 July 2026: no event, the factory at 12 MW
        solved(month, hand_case(f"2026-07-{d:02d}", event=False, factory_mw=12))
    solved(month, hand_case("2026-07-11", event=False, factory_mw=30))  # a Saturday: not a working day
    solved(month, hand_case("2026-07-13"))  # Monday: the event
    result = CliRunner().invoke(app, ["settle", "--schedule", str(month), "--out", str(tmp_path / "out"), "--no-pdf"])
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "out" / "settlement.json").read_text(encoding="utf-8"))
    rows = [r for r in data["responses"] if r["date"] == "2026-07-13"]
    factory = by(rows, "factory")
    assert factory["baseline_source"].startswith("history: mean of the 5 most recent days of the same kind")
    assert "2026-07-06…2026-07-10 (schedule)" in factory["baseline_source"]
    assert factory["baseline_mwh"] == pytest.approx(24.0)   # 12 MW × 2 h: the Saturday's 30 MW is left out
    assert factory["response_mw"] == pytest.approx(6.0)     # 12 − 6 MW
    # 9,600 CNY shared 6:2 (the mill's baseline is its 5 MW)
    assert factory["dr_revenue_cny"] == pytest.approx(7200.0) and by(rows, "mill")["dr_revenue_cny"] == pytest.approx(2400.0)
    assert data["every_pot_adds_up"] is True
    statements = sorted(p.name for p in (tmp_path / "out" / "statements").iterdir())
    assert statements == ["factory.csv", "factory.html", "mill.csv", "mill.html", "town.csv", "town.html"]
    page = (tmp_path / "out" / "statements" / "factory.html").read_text(encoding="utf-8")
    assert "Net for the period: 7,200.00 CNY" in page and "2026-07-06…2026-07-10" in page


def _day(date: dt.date, mw: float, event: bool = False) -> HistoryDay:
    return HistoryDay(date, np.full(4, mw), "meter", event)


def test_baseline_rules_recent_and_top() -> None:
    history = History()
    days = {6: 10, 7: 11, 8: 30, 9: 13, 10: 14, 11: 99, 12: 99}  # 11, 12: weekend
    for d, mw in days.items():
        history.add("p", _day(dt.date(2026, 7, d), mw, event=(d == 8)))  # the 8th was an event day
    history.add("p", _day(dt.date(2026, 6, 30), 20))
    history.add("p", _day(dt.date(2026, 7, 1), 21))
    window = slice(2, 4)
    recent = history_baseline(history, "p", dt.date(2026, 7, 13), window, 4, RULES)
    # the 5 most recent working days without an event: 10, 9, 7, 6 July and 1 July
    assert recent.values_mw == pytest.approx([(14 + 13 + 11 + 10 + 21) / 5] * 2)
    top = load_rules_from({"baseline": {"method": "top", "days": 2, "pool_days": 4, "min_days": 2}})
    best = history_baseline(history, "p", dt.date(2026, 7, 13), window, 4, top)
    assert best.values_mw == pytest.approx([(14 + 13) / 2] * 2)  # of 10, 9, 7, 6 July the top two
    thin = history_baseline(history, "p", dt.date(2026, 7, 2), window, 4, RULES)
    assert thin.values_mw is None and thin.label == "2 qualifying day(s) of history, fewer than 3"


def load_rules_from(data: dict[str, Any]) -> Any:
    """The rules with ``data`` written to a file ``rules.yaml`` over the defaults."""
    import tempfile

    import yaml

    folder = Path(tempfile.mkdtemp())
    path = folder / "rules.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return load_rules(path)


# -- bad input ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("data", "where", "message"), [
    ({"effective_response": {"lower_fraction": 1.5}}, "effective_response.lower_fraction",
     "expected a fraction between 0 and 1, got 1.5"),
    ({"effective_response": {"upper_fraction": 0.9}}, "effective_response.upper_fraction",
     "expected >= 1 (a response up to the commitment is always paid), got 0.9"),
    ({"baseline": {"method": "median"}}, "baseline.method", "expected one of recent, top, got 'median'"),
    ({"baseline": {"dayz": 5}}, "baseline.dayz", "unknown key 'dayz' (did you mean 'days'?)"),
    ({"sharing": {"aggregator_share": {"value": -0.1, "source": "x"}}}, "sharing.aggregator_share",
     "expected a fraction between 0 and 1, got -0.1"),
    ({"baseline": {"days": 2}}, "baseline.min_days", "expected <= baseline.days (2), got 3"),
])
def test_bad_rules_name_the_key(data: dict[str, Any], where: str, message: str) -> None:
    with pytest.raises(CaseError) as err:
        load_rules_from(data)
    assert [(p.path, p.message) for p in err.value.problems] == [(where, message)]
    assert err.value.step == "reading the settlement rules rules.yaml"


def test_a_bare_number_in_a_rules_file_is_labelled_given() -> None:
    rules = load_rules_from({"sharing": {"aggregator_share": 0.1}})
    assert rules.aggregator_share == 0.1 and rules.sources["aggregator_share"] == "[given] rules.yaml"
    assert RULES.sources["lower_fraction"].startswith("[pub]")


def test_cli_errors_name_the_file_or_option(tmp_path: Path) -> None:
    runner = CliRunner()
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "case.json").write_text(json.dumps(hand_case()), encoding="utf-8")
    result = runner.invoke(app, ["settle", "--schedule", str(tmp_path / "half"), "--no-pdf"])
    assert result.exit_code == 2
    assert "schedule.csv: missing: expected the files vpp dispatch writes" in result.output
    result = runner.invoke(app, ["settle", "--schedule", str(tmp_path / "nowhere"), "--no-pdf"])
    assert result.exit_code == 2
    assert "is neither a folder vpp dispatch wrote nor a stored schedule's id" in result.output
    day = solved(tmp_path, hand_case())
    meter = tmp_path / "m.csv"
    meter.write_text("timestamp,participant,consumption_mw\n2026-07-15T00:00:00,factory,1\n", encoding="utf-8")
    result = runner.invoke(app, ["settle", "--schedule", str(day), "--meter", str(meter), "--no-pdf"])
    assert result.exit_code == 2 and "timestamp: time zone missing" in result.output


def test_a_summary_of_another_day_is_refused(tmp_path: Path) -> None:
    folder = solved(tmp_path, hand_case())
    other = copy.deepcopy(hand_case())
    other["demand_response"][0]["id"] = "dr-2"
    (folder / "case.json").write_text(json.dumps(other), encoding="utf-8")
    with pytest.raises(CaseError) as err:
        settle([read_solved_day(folder)], RULES)
    assert err.value.problems[0].path == "summary.demand_response[dr-2]"


def test_round_off_is_no_commitment(tmp_path: Path) -> None:
    """A response of solver round-off is no commitment (when every response is round-off, it took the whole pot)."""
    month = tmp_path / "month"
    for d in range(6, 11):
        solved(month, hand_case(f"2026-07-{d:02d}", event=False))
    event = read_solved_day(solved(month, hand_case("2026-07-13")))
    history = [read_solved_day(month / f"2026-07-{d:02d}") for d in range(6, 11)]
    # the town's load is the same every day: its response is 0 up to round-off (here 1e-9 MW)
    for day in history:
        table = day.schedule
        table["value"] = table["value"].astype(float)
        table.loc[(table["asset"] == "town-load") & (table["quantity"] == "injection_mw"), "value"] -= 1e-9
    s = settle([*history, event], RULES)
    town = next(r for r in s.responses if r["participant"] == "town" and r["date"] == "2026-07-13")
    assert town["response_mw"] == 0.0 and town["region"] == "no commitment" and town["dr_revenue_cny"] == 0.0


def test_meter_readings_and_commitments_must_name_what_is_settled(tmp_path: Path) -> None:
    day = read_solved_day(solved(tmp_path, hand_case()))
    meter = tmp_path / "meter.csv"
    meter.write_text("timestamp,participant,consumption_mw\n2026-07-15T00:00:00+08:00,factroy,10\n", encoding="utf-8")
    with pytest.raises(CaseError) as err:
        settle([day], RULES, meter=read_meter(meter),
               commitments={("2026-07-16", "dr", "mill"): 1.0, ("2026-07-15", "dr", "miller"): 1.0})
    assert [(p.path, p.message) for p in err.value.problems] == [
        ("meter: participant 'factroy'", "not a participant of the days settled (expected one of: town, factory, mill)"),
        ("commitments: 2026-07-15 dr miller", "not a participant of the days settled (expected one of: town, factory, mill)"),
        ("commitments: 2026-07-16 dr mill", "no such event on a day settled (expected a date and event id of the days given)"),
    ]
