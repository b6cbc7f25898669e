"""The built-in teda-east case (vpp.cases): shape, numbers, provenance labels."""

from __future__ import annotations

import json
import re
from datetime import date
from importlib import resources

import numpy as np
import pytest
import yaml

from vpp.case import Case, load_case
from vpp.cases import TEMPLATES, materialize, teda_east
from vpp.errors import CaseError

LABEL = re.compile(r"\[(plan|pub|tianjin|tj-tech|assumed|override)[\],]")


@pytest.fixture(scope="module")
def july() -> Case:
    return materialize("teda-east", "2026-07-15")


def of_type(case: Case, kind: str) -> list:
    return [a for a in case.assets if a.type == kind]


def total(case: Case, kind: str, field: str) -> np.ndarray:
    return sum((case.series(getattr(a, field)) for a in of_type(case, kind)), np.zeros(case.steps))


def test_registry_and_unknown_template():
    assert list(TEMPLATES) == ["teda-east"]
    assert TEMPLATES["teda-east"].materialize is teda_east.materialize
    assert TEMPLATES["teda-east"].timezone() == "Asia/Shanghai"
    with pytest.raises(CaseError) as err:
        materialize("x", "2026-07-15")
    assert err.value.step == "materialising the case"
    assert err.value.problems[0].path == "case"
    assert "unknown template 'x': expected one of ['teda-east']" in err.value.problems[0].message


def test_day_grid_and_prices(july):
    assert july.steps == 96 and july.step_minutes == 15
    assert july.start.isoformat() == "2026-07-15T00:00:00+08:00"
    buy = july.series(july.grid.buy_cny_per_mwh)
    # energy 500 CNY/MWh × the period's ratio + 81 CNY/MWh that does not float (test_teda_billing.py)
    assert buy[82] == pytest.approx(500 * 1.6 * 1.2 + 81)  # 20:30 critical peak = 1041
    assert buy[12] == pytest.approx(500 * 0.4 + 81)  # 03:00 valley = 281
    assert buy[60] == pytest.approx(500 * 1.6 + 81)  # 15:00 peak = 881
    assert july.meta["tariff"]["periods"][82] == "critical_peak"
    assert july.meta["tariff"]["month_periods"] == ["valley", "flat", "peak", "critical_peak"]
    assert july.grid.export_max_mw == 0
    assert july.grid.emission_t_per_mwh == pytest.approx(0.6361)
    assert july.grid.demand_charge_cny_per_mw == 36_000 and july.grid.peak_to_date_mw > 0


def test_winter_and_shoulder_months():
    dec = materialize("teda-east", date(2025, 12, 17))  # a cold snap on the event calendar
    buy = dec.series(dec.grid.buy_cny_per_mwh)
    assert buy[74] == pytest.approx(1041)  # 18:30 critical peak
    (event,) = dec.demand_response
    assert (event.start_step, event.end_step) == (72, 80)  # 18:00–20:00
    assert materialize("teda-east", date(2025, 12, 10)).demand_response == []  # an ordinary December day
    apr = materialize("teda-east", "2026-04-15")
    assert apr.series(apr.grid.buy_cny_per_mwh)[74] == pytest.approx(881)  # no critical peak
    assert "critical_peak" not in apr.meta["tariff"]["month_periods"]
    assert not of_type(apr, "thermal_storage")  # neither cooling nor heating in April
    assert apr.meta["derived"]["thermal_storage.season"]["value"] == "none"


def test_pv(july):
    pv = total(july, "pv", "available_mw")
    assert 0 < pv.max() < 260
    assert 120 < pv.max() < 160  # 260 MW × derate 0.576 × ≈ 0.95 kW/m² at noon
    assert np.all(pv[:16] == 0) and np.all(pv[84:] == 0)  # night
    capacity = sum(a.meta["capacity_mw"] for a in of_type(july, "pv"))
    assert capacity == pytest.approx(260)
    assert {a.meta["derate"] for a in of_type(july, "pv")} == {0.576}
    # Absorbed: PV below the load at every step.
    assert np.all(pv < total(july, "load", "demand_mw"))


def test_batteries(july):
    batteries = of_type(july, "battery")
    assert len(batteries) == 4
    assert sum(b.power_mw for b in batteries) == pytest.approx(26.75)
    assert sum(b.energy_mwh for b in batteries) == pytest.approx(53.5)
    for b in batteries:
        assert (b.charge_efficiency, b.discharge_efficiency, b.soc_min, b.soc_max) == (
            0.9,
            0.9,
            0.1,
            0.9,
        )
        assert b.final_min == b.soc_initial
        assert b.energy_mwh / b.power_mw == pytest.approx(2.0)
    assert {b.node for b in batteries} == {"s110-1", "s110-2", "s35-tiancheng", "s35-haijing"}


def test_network_and_branch_headroom(july):
    nodes = {n.id: n for n in july.network.nodes}
    # firm (N-1): one transformer × short-term overload 1.3 × power factor 0.95 (test_teda_billing.py)
    assert {k: (n.parent, n.capacity_mw) for k, n in nodes.items()} == {
        "s110-1": ("grid", pytest.approx(148.2)),
        "s110-2": ("grid", pytest.approx(148.2)),
        "s35-tiancheng": ("s110-1", pytest.approx(38.9025)),
        "s35-haijing": ("s110-2", pytest.approx(38.9025)),
    }
    subtree = {"s110-1": {"s110-1", "s35-tiancheng"}, "s110-2": {"s110-2", "s35-haijing"}}
    subtree |= {"s35-tiancheng": {"s35-tiancheng"}, "s35-haijing": {"s35-haijing"}}
    for node, members in subtree.items():
        base = np.zeros(july.steps)
        for a in july.assets:
            if a.node in members and a.type in ("load", "curtailable_load"):
                base += july.series(a.demand_mw)
            elif a.node in members and a.type == "pv":
                base -= july.series(a.available_mw)
        # Meaningful (above half the firm capacity at peak) but not binding with no flexibility used.
        assert 0.5 * nodes[node].capacity_mw < base.max() < 0.95 * nodes[node].capacity_mw, node


def test_load_day(july):
    load = total(july, "load", "demand_mw")
    assert 0.9 * 500 < load.max() <= 500
    assert 9500 < load.sum() * july.dt_hours < 11500  # MWh in a summer working day: load factor ≈ 0.88
    assert july.meta["working_day"] is True and july.meta["calendar_fallback"] is False


def test_flexible_assets_are_feasible(july):
    (ev,) = of_type(july, "flexible_load")
    hi = july.series(ev.max_power_mw)
    assert ev.energy_mwh <= hi.sum() * july.dt_hours
    (req,) = ev.requirements
    assert req.by_step == 28 and req.energy_mwh <= hi[:28].sum() * july.dt_hours
    (batch,) = of_type(july, "shiftable_load")
    assert sum(batch.profile_mw) * july.dt_hours == pytest.approx(18.0)
    assert batch.latest_end - batch.earliest_start >= len(batch.profile_mw)
    (plant,) = of_type(july, "curtailable_load")
    assert plant.min_duration_steps == 4 and plant.max_events == 2
    assert july.series(plant.min_reduction_mw)[0] == 8 and plant.start_cny == 5000  # the line stops as a whole
    (ice,) = of_type(july, "thermal_storage")
    assert ice.meta["season"] == "cooling"
    assert ice.max_power_mw * ice.cop >= july.series(ice.thermal_demand_mw).max()


def test_green_contracts_and_demand_response(july):
    green = of_type(july, "green_contract")
    assert {g.id for g in green} == {"green-haiyun", "green-fenghua", "green-jinqiao"}
    # settled, not dispatched: taken whole (test_green_settlement.py has the numbers)
    assert all(not g.optional and g.min_take == 1 and g.node is None for g in green)
    buy = july.series(july.grid.buy_cny_per_mwh)
    assert all(buy.min() + 10 < g.price_cny_per_mwh < buy.max() + 10 for g in green)
    jinqiao = next(g for g in green if g.id == "green-jinqiao")
    wind = (40_000 - 10 * 1250) / 8760  # MW: 40 GWh a year less 10 MW of PV at 1,250 kWh/kWp
    month = 10 * 1250 * 0.1094 + wind * 744  # ≈ July's expected MWh (PV ≈ 10.9 % of the year's yield)
    assert july.series(jinqiao.available_mw)[0] == pytest.approx(3330 * wind / month, rel=0.01)  # at night: wind only
    assert july.demand_response == []  # an ordinary summer day: events come on a few days a year
    (event,) = materialize("teda-east", "2026-07-16").demand_response  # a heat-wave day on the calendar
    assert (event.start_step, event.end_step) == (80, 88)  # 20:00–22:00, the critical peak
    assert event.reduction_mw == pytest.approx(8)  # the interruptible plant
    assert (
        6 <= event.reduction_mw * event.length_steps * july.dt_hours <= 1200
    )  # [pub] Tianjin MWh range
    assert event.optional
    assert materialize("teda-east", "2026-07-15", demand_response=False).demand_response == []


def test_every_asset_and_node_carries_a_label(july):
    for element in [*july.assets, *july.network.nodes, *july.demand_response, july.grid]:
        assert element.meta and LABEL.search(element.meta["source"]), element
        for field, label in element.meta.get("sources", {}).items():
            assert LABEL.search(label), (element, field, label)


def _wrapped(raw, path=""):
    """Independent walk of the YAML: every {value, source} pair, and any bare number."""
    if isinstance(raw, dict) and "value" in raw and "source" in raw:
        yield path, raw, False
    elif isinstance(raw, dict):
        for k, v in raw.items():
            yield from _wrapped(v, f"{path}.{k}")
    elif isinstance(raw, list):
        for v in raw:
            yield from _wrapped(v, path)
    elif isinstance(raw, (int, float)) and not isinstance(raw, bool):
        yield path, raw, True


def test_yaml_ships_and_its_labels_reach_the_case(july):
    text = resources.files("vpp.cases").joinpath("teda_east.yaml").read_text(encoding="utf-8")
    found = list(_wrapped(yaml.safe_load(text)))
    assert [p for p, _, bare in found if bare] == []  # no number without a label
    pairs = [w for _, w, bare in found if not bare]
    assert len(pairs) == len(july.meta["sources"]) > 100
    for pair in pairs:
        assert LABEL.search(pair["source"]), pair
    recorded = {(json.dumps(s["value"]), s["source"]) for s in july.meta["sources"].values()}
    assert {(json.dumps(p["value"]), p["source"]) for p in pairs} == recorded
    assert july.meta["sources"]["pv.total_capacity_mw"] == {
        "value": 260,
        "source": "[plan] 专栏五 东区260MW分布式光伏项目",
    }
    assert july.meta["sources"]["battery.total_energy_mwh"]["source"].startswith("[plan]")
    assert july.meta["sources"]["demand_response.peak_shaving.amount_mw"]["source"].startswith("[assumed]")
    assert july.meta["sources"]["demand_response.baseline.working_days"]["source"].startswith("[pub] Jiangsu")
    assert july.meta["template"] == "teda-east" and july.meta["date"] == "2026-07-15"


def test_a_bare_number_is_rejected():
    with pytest.raises(CaseError, match="no source label"):
        teda_east.unwrap_sources({"grid": {"import_max_mw": 700}})
    with pytest.raises(CaseError, match="none of the labels"):
        teda_east.unwrap_sources(
            {"grid": {"import_max_mw": {"value": 700, "source": "somebody said"}}}
        )


def test_calendar_in_meta():
    assert materialize("teda-east", "2025-09-28").meta["working_day"] is True  # 调休 Sunday
    holiday = materialize("teda-east", "2025-10-01")
    assert holiday.meta["working_day"] is False and holiday.meta["calendar"] == "chinese_calendar"
    later = materialize("teda-east", "2031-01-06")  # beyond chinese_calendar's range
    assert later.meta["calendar_fallback"] is True and later.meta["working_day"] is True


def test_step_length_and_overrides():
    hourly = materialize("teda-east", "2026-07-16", step_minutes=60)
    assert hourly.steps == 24 and hourly.demand_response[0].start_step == 20
    assert of_type(hourly, "curtailable_load")[0].min_duration_steps == 1
    with pytest.raises(CaseError, match="dividing 1440"):
        materialize("teda-east", "2026-07-15", step_minutes=7)
    case = materialize("teda-east", "2026-07-15", market_energy_cny_per_mwh=600.0, pv_derate=0.5)
    assert case.series(case.grid.buy_cny_per_mwh)[12] == pytest.approx((600 + 100) * 0.4 + 81)
    assert case.meta["sources"]["tariff.floating.market_energy_cny_per_mwh"]["source"].startswith("[override]")
    assert case.meta["overrides"] == {"market_energy_cny_per_mwh": 600.0, "pv_derate": 0.5}
    with pytest.raises(CaseError, match="unknown override"):
        materialize("teda-east", "2026-07-15", pv_derat=0.5)
    with pytest.raises(CaseError, match="unknown override"):  # the single floating price of version 1
        materialize("teda-east", "2026-07-15", flat_cny_per_mwh=700.0)
    with pytest.raises(CaseError, match="derate"):
        materialize("teda-east", "2026-07-15", pv_derate=2.0)
    with pytest.raises(CaseError, match="date"):
        materialize("teda-east", "15/07/2026")


def test_json_round_trip(july):
    again = load_case(json.loads(july.to_json()))
    assert again.to_json() == july.to_json()


@pytest.mark.parametrize(
    ("day", "notes"),
    [
        ("2026-07-15", ["no metered history for 14 of the month's 14 earlier days: the month's peak so far (484.4 MW) "
                        "takes the documented profile for them; give the metered one with --peak-to-date MW "
                        "(peak_to_date_mw)"]),
        ("2026-07-01", []),  # the first of the month: no peak so far to look up
        ("2025-10-14", []),  # the shipped history meters the month's first 13 days
        ("2025-10-01", ["2025-10-01 is a public holiday (National Day): load and heating/cooling follow the non-working-day profiles"]),
        ("2025-09-28", [
            "2025-09-28 is before the tianjin-tou-2025 tariff came into force (2025-10-01): its periods and prices are applied anyway",
            "2025-09-28 is a working weekend day (made up for the National Day holiday): load and heating/cooling follow "
            "the working-day profiles",
        ]),
        ("2030-06-01", ["2030-06-01 is beyond the years of the official holiday calendar (chinese_calendar): taken as a "
                        "non-working day because it is a weekend day"]),
        ("2026-07-18", ["no metered history for 17 of the month's 17 earlier days: the month's peak so far (486.3 MW) "
                        "takes the documented profile for them; give the metered one with --peak-to-date MW "
                        "(peak_to_date_mw)"]),  # an ordinary Saturday: only the peak so far is assumed
    ],
)
def test_what_is_assumed_about_the_day_is_in_meta(day: str, notes: list[str]):
    assert materialize("teda-east", day).meta["assumptions"] == notes
