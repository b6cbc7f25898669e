"""The hand-solvable sizing case (conftest.py): co-optimisation and sweep give the hand optimum and agree."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import pytest
from conftest import HAND_BATTERY, HAND_ECONOMICS, hand_case_data, hand_series

from models.sizing import SizedSite, co_optimise
from vpp.case import load_case
from vpp.sizing import run_sizing_request
from vpp.sizing.runner import Runner
from vpp.sizing.schema import SizingRequest
from vpp.sizing.study import run_study

BASELINE = 365 * 10 * (21 * 100 + 500 + 400 + 300)
SAVING_20 = 365 * (10 * 399 + 10 * 299)
CAPITAL_PER_MWH = 365 * 250.0


def hand_request(tmp_path, **kw) -> SizingRequest:
    series = tmp_path / "year.csv"
    hand_series(365).to_csv(series, index=False)
    params = dict(
        case_data=hand_case_data(), year=2025, series=str(series), sites=["grid"],
        economics=HAND_ECONOMICS, battery={**HAND_BATTERY, "auxiliary_mw_per_mw": 0.0}, typical_days=12, sweep="power=10,20,energy=10,20,30",
        full_year_check=False, scheduler="serial",
    )
    params.update(kw)
    return SizingRequest(**params)


def test_co_optimisation_of_one_battery_gives_the_hand_optimum() -> None:
    data = hand_case_data()
    data["assets"].append({"id": "bess", "type": "battery", "power_mw": 100, "energy_mwh": 100, **HAND_BATTERY})
    case = load_case(data)
    out = co_optimise([case], [365.0], [SizedSite("bess", 0.0, CAPITAL_PER_MWH)])
    assert out.energy_mwh["bess"] == pytest.approx(20.0, abs=1e-6)
    assert out.power_mw["bess"] >= 10.0 - 1e-6  # a 10 MWh block leaves within one hour
    assert out.operating_cny == pytest.approx(BASELINE - SAVING_20, rel=1e-9)
    assert out.capital_cny == pytest.approx(20 * CAPITAL_PER_MWH, rel=1e-9)
    assert out.objective_cny == pytest.approx(11_322_300, rel=1e-9)
    # a dearer MWh (above 299 a day) keeps only the first block; a cheaper one (below 199) takes all three
    assert co_optimise([case], [365.0], [SizedSite("bess", 0.0, 365 * 350.0)]).energy_mwh["bess"] == pytest.approx(10.0, abs=1e-6)
    assert co_optimise([case], [365.0], [SizedSite("bess", 0.0, 365 * 150.0)]).energy_mwh["bess"] == pytest.approx(30.0, abs=1e-6)


def test_co_optimisation_refuses_mismatched_days() -> None:
    case = load_case(hand_case_data())
    with pytest.raises(ValueError, match="expected one weight per day \\(1\\), got 2"):
        co_optimise([case], [1.0, 2.0], [])
    with pytest.raises(ValueError, match="day 0: no battery 'bess' to size"):
        co_optimise([case], [1.0], [SizedSite("bess", 0.0, 1.0)])


def test_study_co_optimisation_and_sweep_agree_with_the_hand_optimum(tmp_path) -> None:
    req = hand_request(tmp_path)
    with Runner("serial") as runner:
        result = run_study(req, runner)
    s = result.summary
    co = s["co_optimisation"]
    assert co["energy_mwh"]["grid"] == pytest.approx(20.0, abs=1e-6)
    assert 10.0 - 1e-6 <= co["power_mw"]["grid"] <= 20.0 + 1e-6  # duration between 1 and 4 h
    best = s["sweep"]["best"]
    assert (best["power_mw"], best["energy_mwh"]) == (10.0, 20.0)
    assert best["total_cost_cny_per_year"] == pytest.approx(11_322_300, rel=1e-9)
    assert co["objective_cny_per_year"] == pytest.approx(best["total_cost_cny_per_year"], rel=1e-9)
    # the marginal value of the last MWh: 299 CNY a day by both routes
    assert s["sweep"]["marginal_value_last_mwh"]["cny_per_mwh_year"] == pytest.approx(365 * 299, rel=1e-9)
    assert co["marginal_value_last_mwh"]["cny_per_mwh_year"] == pytest.approx(365 * 299, rel=1e-9)
    rec = s["recommended"]
    assert rec["energy_mwh"] == pytest.approx(20.0, abs=1e-6)
    assert rec["saving_cny_per_year"] == pytest.approx(SAVING_20, rel=1e-9)
    assert rec["capex_cny"] == pytest.approx(20 * 1000 * HAND_ECONOMICS["energy_cny_per_kwh"], rel=1e-12)
    # NPV = (saving − annualised capital)/CRF
    assert rec["npv_cny"] == pytest.approx((SAVING_20 - 20 * CAPITAL_PER_MWH) / 0.1490294887, rel=1e-8)
    assert rec["equivalent_cycles_per_year"] == pytest.approx(365.0, rel=1e-9)
    # LCOS: capital cost over 20 MWh a day, plus the 100 CNY/MWh it was charged at (wear is an operating cost, not in LCOS)
    annuity = (1 - 1.08**-10) / 0.08
    assert rec["lcos_cny_per_mwh"] == pytest.approx(20 * 1000 * HAND_ECONOMICS["energy_cny_per_kwh"] / (365 * 20 * annuity) + 100, rel=1e-9)
    # the tornado by hand: the spread ×0.75 around the daily mean (137.5) makes the two blocks worth
    # 0.75·400 − 1 and 0.75·300 − 1 a MWh: 365·10·(0.75·700 − 2); the capital ×0.716 scales the capital
    bars = {b["input"]: b for b in s["tornado"]["bars"]}
    crf_ = 0.1490294887
    assert bars["price_spread"]["npv_low_cny"] == pytest.approx((365 * 10 * (0.75 * 700 - 2) - 20 * CAPITAL_PER_MWH) / crf_, rel=1e-8)
    assert bars["capital_cost"]["npv_low_cny"] == pytest.approx((SAVING_20 - 0.716 * 20 * CAPITAL_PER_MWH) / crf_, rel=1e-8)
    assert bars["demand_charge"]["swing_cny"] == pytest.approx(0.0, abs=1e-6)  # no demand charge in the case
    assert rec["break_even_capital_cost"]["factor"] == pytest.approx(SAVING_20 / (20 * CAPITAL_PER_MWH), rel=1e-9)
    table = result.points.set_index(["power_mw", "energy_mwh"])
    assert table.loc[(0.0, 0.0), "operating_cost_cny_per_year"] == pytest.approx(BASELINE, rel=1e-12)
    assert table.loc[(10.0, 30.0), "saving_cny_per_year"] == pytest.approx(365 * (3990 + 2990 + 1990), rel=1e-9)
    assert table.loc[(10.0, 10.0), "saving_cny_per_year"] == pytest.approx(365 * 3990, rel=1e-9)
    json.dumps(s)  # plain JSON


def test_run_sizing_request_returns_sizing_json(tmp_path) -> None:
    params = hand_request(tmp_path).model_dump()
    out = run_sizing_request(params)
    assert json.loads(json.dumps(out)) == out
    assert out["recommended"]["energy_mwh"] == pytest.approx(20.0, abs=1e-6)
    assert out["assumptions"]["economics"]["discount_rate"] == {"value": 0.08, "source": "[override] given in the request"}
    assert out["assumptions"]["economics"]["om_fraction_per_year"]["value"] == 0.0
    assert out["complete"] is True and out["failed_days"] == []


def test_typical_days_against_the_full_year(tmp_path) -> None:
    # 30 days: 12 with a 10 MW load, 18 with 20 MW. Two typical days are exact; one typical day is not,
    # and the difference is reported against the simulated days.
    loads = [10.0 if d % 5 in (0, 3) else 20.0 for d in range(30)]
    series = tmp_path / "month.csv"
    hand_series(30, load=loads).to_csv(series, index=False)
    exact = run_sizing_request(hand_request(tmp_path, series=str(series), typical_days=2, full_year_check=True, sweep="power=10,energy=20"))
    cmp_ = exact["typical_vs_full_year"]
    full_cost = 12 * 33_000 + 18 * 66_000
    assert cmp_["operating_cost_without_storage"]["full_year_cny"] == pytest.approx(full_cost, rel=1e-12)
    assert cmp_["operating_cost_without_storage"]["difference_cny"] == pytest.approx(0.0, abs=1e-6)
    assert cmp_["saving_from_storage"]["difference_cny"] == pytest.approx(0.0, abs=1e-6)
    assert exact["recommended"]["economics_basis"] == "full-year simulation at the recommended size"
    rough = run_sizing_request(hand_request(tmp_path, series=str(series), typical_days=1, full_year_check=True, sweep="power=10,energy=20"))
    one = rough["typical_vs_full_year"]["operating_cost_without_storage"]
    # one clustered day: the month's peak day (a 20 MW day, weight 1) and one medoid for the other 29
    chosen = rough["assumptions"]["typical_days"]["typical_dates"]
    assert sorted(v["role"] for v in chosen.values()) == ["peak", "typical"]
    (date,) = [d for d, v in chosen.items() if v["role"] == "typical"]
    medoid_day = 33_000 if loads[int(date[-2:]) - 1] == 10.0 else 66_000
    assert one["typical_days_cny"] == pytest.approx(66_000 + 29 * medoid_day, rel=1e-12)
    assert one["difference_cny"] == pytest.approx(66_000 + 29 * medoid_day - full_cost, rel=1e-12)
    # the sweep over the full year finds the size the typical days recommend (a "year" of 30 days here,
    # so the capital cost is scaled to 250 CNY per MWh-day, 7,500 over the 30 days). By hand: MWh 20–30
    # earn 12·199 (10 MW days, 300 CNY hour) + 18·299 (20 MW days, 400 CNY hour) = 7,770 > 7,500;
    # MWh 30–40 earn only 18·299 = 5,382: the optimum is 30 MWh, with at least 20 MW.
    month_economics = {**HAND_ECONOMICS, "energy_cny_per_kwh": HAND_ECONOMICS["energy_cny_per_kwh"] * 30 / 365}
    swept = run_sizing_request(hand_request(tmp_path, series=str(series), typical_days=2, sweep_full_year=True, economics=month_economics))
    size = swept["typical_vs_full_year"]["recommended_size"]
    assert size["full_year_sweep_best"] == {"power_mw": 20.0, "energy_mwh": 30.0}
    assert size["typical_days_co_optimum"]["energy_mwh"] == pytest.approx(30.0, abs=1e-6)
    assert size["full_year_total_cost_at_co_optimum_cny"] == pytest.approx(size["full_year_total_cost_at_sweep_best_cny"], rel=1e-9)
    assert swept["sweep"]["plan"] == "year"


def test_days_of_a_billing_period_share_one_peak_charged_once() -> None:
    # Two one-hour days of 5 MW and 3 MW flat load, weights 10 and 20 days, a demand charge of
    # 100 CNY per MW of the month's peak, energy at 1 CNY/MWh, no storage to size.
    # One month: the peak is 5 MW, charged once: 500; energy 10·5 + 20·3 = 110 → 610.
    # Each day its own month: 10·(100·5) + 20·(100·3) = 11,000 of demand charge → 11,110.
    def day(load: float) -> Any:
        return load_case({"start": "2025-07-01T00:00:00+08:00", "step_minutes": 60, "steps": 1,
                          "grid": {"import_max_mw": 10, "buy_cny_per_mwh": 1, "demand_charge_cny_per_mw": 100},
                          "assets": [{"id": "l", "type": "load", "demand_mw": load},
                                     {"id": "bess", "type": "battery", "power_mw": 0, "energy_mwh": 0}]})
    days = [day(5), day(3)]
    monthly = co_optimise(days, [10.0, 20.0], [], billing=["2025-07", "2025-07"])
    assert monthly.objective_cny == pytest.approx(610)
    daily = co_optimise(days, [10.0, 20.0], [])
    assert daily.objective_cny == pytest.approx(11_110)
    with pytest.raises(ValueError, match=r"expected one billing period per day \(2\), got 1"):
        co_optimise(days, [10.0, 20.0], [], billing=["2025-07"])


def test_a_two_day_year_with_a_monthly_peak_charge(tmp_path) -> None:
    # Two January days at 100 CNY/MWh all day, a maximum-demand charge of 10,000 CNY per MW of the
    # month's peak. Day 1: 10 MW all day. Day 2: 5 MW 00:00–06:00, 20 MW at 18:00, 10 MW otherwise.
    # Without storage: energy 100·(240 + 30 + 20 + 170) = 46,000, the month's peak 20 MW: 200,000.
    # Storage shaves 18:00 to 10 MW (the month's other peak) with 10 MWh charged in the night below
    # 10 MW: energy the same (charged and discharged at 100), wear 1 CNY/MWh: 10; peak 10 MW: 100,000.
    # Capital 3,000 per MW and 2,000 per MWh (annualised): each MW shaved costs 5,000 + 1 and saves
    # 10,000, so the optimum is 10 MW / 10 MWh (a deeper shave meets day 1's 10 MW).
    # The co-optimisation (the two days share January's peak) and the chronological run (the peak so
    # far carried from day 1 to day 2) must both give 146,010 at that size and 246,000 without.
    day2 = [5.0] * 6 + [10.0] * 12 + [20.0] + [10.0] * 5
    idx = pd.date_range(pd.Timestamp("2025-01-01").tz_localize("Asia/Shanghai"), periods=48, freq="1h")
    series = tmp_path / "two.csv"
    pd.DataFrame({"timestamp": idx, "load_mw": [10.0] * 24 + day2, "buy_cny_per_mwh": 100.0}).to_csv(series, index=False)
    data = hand_case_data()
    data["grid"]["demand_charge_cny_per_mw"] = 10_000
    rate, life = HAND_ECONOMICS["discount_rate"], HAND_ECONOMICS["lifetime_years"]
    from vpp.sizing.economics import crf

    economics = {**HAND_ECONOMICS, "power_cny_per_kw": 3.0 / crf(rate, life), "energy_cny_per_kwh": 2.0 / crf(rate, life)}
    out = run_sizing_request(hand_request(tmp_path, case_data=data, series=str(series), economics=economics, typical_days=1,
                                          sweep="power=10,energy=10", full_year_check=True, tornado=False).model_dump())
    co = out["co_optimisation"]
    assert (co["power_mw"]["grid"], co["energy_mwh"]["grid"]) == (pytest.approx(10.0, abs=1e-6), pytest.approx(10.0, abs=1e-6))
    assert co["operating_cost_cny_per_year"] == pytest.approx(146_010, rel=1e-9)
    assert co["objective_cny_per_year"] == pytest.approx(146_010 + 50_000, rel=1e-9)
    cmp_ = out["typical_vs_full_year"]
    assert cmp_["operating_cost_without_storage"]["full_year_cny"] == pytest.approx(246_000, rel=1e-12)
    assert cmp_["operating_cost_without_storage"]["typical_days_cny"] == pytest.approx(246_000, rel=1e-12)
    assert cmp_["operating_cost_with_recommended"]["full_year_cny"] == pytest.approx(146_010, rel=1e-9)
    assert cmp_["operating_cost_with_recommended"]["typical_days_cny"] == pytest.approx(146_010, rel=1e-9)
    annual = out["annual"]
    assert annual["without_storage"]["demand_charge_cny_per_year"] == pytest.approx(200_000, rel=1e-12)
    assert annual["with_recommended"]["demand_charge_cny_per_year"] == pytest.approx(100_000, rel=1e-9)
    assert annual["with_recommended"]["peak_import_mw"] == pytest.approx(10.0, abs=1e-6)
    # the saving line by line: the maximum-demand charge on 10 MW less (10,000 CNY/MW, one month), by hand
    # and at most the power × the rate; the energy bill unchanged (charged and discharged at 100); the wear
    # of the case's battery 1 CNY × 10 MWh
    src = out["saving_by_source"]["recommended"]
    demand = src["lines"]["maximum_demand"]
    assert demand["cny_per_year"] == pytest.approx(100_000, rel=1e-9)
    assert demand["by_hand_cny_per_year"] == pytest.approx(100_000, rel=1e-9)
    assert demand["at_most_cny_per_year"] == pytest.approx(100_000, rel=1e-9)
    assert demand["peak_cut_mw_by_month"] == {"2025-01": pytest.approx(10.0, abs=1e-6)}
    assert src["lines"]["time_of_use_energy"]["cny_per_year"] == pytest.approx(0.0, abs=1e-6)
    assert src["lines"]["degradation"]["cny_per_year"] == pytest.approx(-10.0, rel=1e-6)
    assert src["saving_cny_per_year"] == pytest.approx(99_990, rel=1e-9)
    (size,) = cmp_["sizes"]
    assert size["size"] == "recommended"
    assert size["figures"]["maximum_demand_cny_per_year"]["typical_days"] == pytest.approx(100_000, rel=1e-9)
    assert size["figures"]["maximum_demand_cny_per_year"]["full_year"] == pytest.approx(100_000, rel=1e-9)
    assert size["figures"]["saving_cny_per_year"]["difference"] == pytest.approx(0.0, abs=1e-6)


def test_a_site_limit_binds(tmp_path) -> None:
    # the hand optimum is 20 MWh; a site that holds 15 MWh gets 15, and says which limit binds
    out = run_sizing_request(hand_request(tmp_path, site_limits={"grid": {"energy_max_mwh": 15}}, sweep="power=10,energy=10,15",
                                          tornado=False).model_dump())
    assert out["co_optimisation"]["energy_mwh"]["grid"] == pytest.approx(15.0, abs=1e-6)
    # by hand: the first 10 MWh earn 399 a day (500 − 100 − 1), the next 5 MWh 299 (400 − 100 − 1)
    saving = 365 * (10 * 399 + 5 * 299)
    rec = out["recommended"]
    assert rec["saving_cny_per_year"] == pytest.approx(saving, rel=1e-9)
    assert rec["npv_cny"] == pytest.approx((saving - 15 * CAPITAL_PER_MWH) / 0.1490294887, rel=1e-8)
    (site,) = out["recommended"]["sites_binding"]
    assert site["energy_max_mwh"] == 15.0
    assert site["energy_limit_binds"] == "site_limits.grid.energy_max_mwh: [override] given in the request"
    assert site["power_limit_binds"] is None
    assert out["assumptions"]["sites"][0]["energy_max_mwh"] == 15.0


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        ({"grid": {"power_mw": 5}}, "site_limits.grid.power_mw: unknown key 'power_mw': expected one of ['energy_max_mwh', 'power_max_mw']"),
        ({"grid": {"energy_max_mwh": -1}}, "site_limits.grid.energy_max_mwh: expected an energy from 0 to 1,000,000 MWh, got -1 (given)"),
    ],
)
def test_site_limits_are_checked(limits: dict, message: str) -> None:
    from vpp.errors import CaseError
    from vpp.sizing.schema import load_defaults

    with pytest.raises(CaseError) as exc:
        load_defaults(site_limits=limits)
    assert [f"{p.path}: {p.message}" for p in exc.value.problems] == [message]


def test_the_full_year_check_covers_the_plan(tmp_path) -> None:
    # 30 alike days; the case's own battery, 10 MW / 10 MWh, is the plan. The co-optimum is 20 MWh (the
    # capital scaled to the 30-day "year", 250 CNY per MWh-day against the second block's 299). Over the
    # typical days and over the 30 days: the plan saves 30·3,990 and the 20 MWh 30·(3,990 + 2,990).
    data = hand_case_data()
    data["assets"].append({"id": "bess", "type": "battery", "power_mw": 10, "energy_mwh": 10, **HAND_BATTERY})
    series = tmp_path / "month.csv"
    hand_series(30).to_csv(series, index=False)
    month_economics = {**HAND_ECONOMICS, "energy_cny_per_kwh": HAND_ECONOMICS["energy_cny_per_kwh"] * 30 / 365}
    out = run_sizing_request(hand_request(tmp_path, case_data=data, series=str(series), sites=None, typical_days=1,
                                          economics=month_economics, sweep="power=10,energy=20", full_year_check=True,
                                          tornado=False).model_dump())
    sizes = {s["size"]: s for s in out["typical_vs_full_year"]["sizes"]}
    assert set(sizes) == {"recommended", "plan"}
    assert (sizes["plan"]["power_mw"], sizes["plan"]["energy_mwh"]) == (10.0, 10.0)
    assert sizes["recommended"]["energy_mwh"] == pytest.approx(20.0, abs=1e-6)
    for name, saving in (("plan", 30 * 3_990), ("recommended", 30 * (3_990 + 2_990))):
        figures = sizes[name]["figures"]
        assert figures["saving_cny_per_year"]["full_year"] == pytest.approx(saving, rel=1e-9)
        assert figures["saving_cny_per_year"]["typical_days"] == pytest.approx(saving, rel=1e-9)
        assert figures["equivalent_cycles_per_year"]["full_year"] == pytest.approx(30.0, rel=1e-9)
    assert out["plan"]["full_year"]["saving_cny_per_year"] == pytest.approx(30 * 3_990, rel=1e-9)
    assert out["annual"]["with_plan"]["storage_discharge_mwh_per_year"] == pytest.approx(30 * 10.0, rel=1e-9)
    assert out["saving_by_source"]["plan"]["simulated_over"] == "year"


def test_the_full_year_check_starts_each_month_from_the_typical_days_peak(tmp_path) -> None:
    # Two January days at 100 CNY/MWh, a maximum-demand charge of 10,000 CNY/MW, storage held to
    # 10 MW / 10 MWh by its site limit and a 1 h duration (efficiency 1, empty at the start and end of a day,
    # wear 1 CNY/MWh).
    # Day 1: 10 MW, 20 MW at 18:00 (a narrow peak). Day 2: 10 MW, 20 MW over 18:00–21:00 (a broad one):
    # 10 MWh over those 3 hours hold it at 20 − 10/3 = 16.67 MW, the month's peak with storage.
    # Both are demand days: day 1 the highest (depth 0), day 2 the most energy above 20 − 10 MW.
    # Without storage: energy 100·(250 + 270) = 52,000, peak 20 MW: 200,000.
    # Month from the typical days' peak (16.67 MW): day 1 cuts its peak only to 16.67 (3.33 MWh, wear 3.33),
    # day 2 to 16.67 (wear 10): 52,000 + 166,666.67 + 13.33 = 218,680, as the typical days and the
    # co-optimisation give. Month from no peak: day 1 cuts its peak as deep as it can, to L = 10 + c where
    # c is the charging over the 18 hours before, 18·c = 20 − L: L = 10 + 10/19 MW (wear 20 − L), a level
    # day 2 raises anyway: 218,676.67 + 180/19 = 218,686.14.
    day1 = [10.0] * 18 + [20.0] + [10.0] * 5
    day2 = [10.0] * 18 + [20.0] * 3 + [10.0] * 3
    idx = pd.date_range(pd.Timestamp("2025-01-01").tz_localize("Asia/Shanghai"), periods=48, freq="1h")
    series = tmp_path / "two.csv"
    pd.DataFrame({"timestamp": idx, "load_mw": day1 + day2, "buy_cny_per_mwh": 100.0}).to_csv(series, index=False)
    data = hand_case_data()
    data["grid"]["demand_charge_cny_per_mw"] = 10_000
    out = run_sizing_request(hand_request(
        tmp_path, case_data=data, series=str(series), typical_days=1, sweep="power=10,energy=10", full_year_check=True,
        full_year_peak_target="both", site_limits={"grid": {"power_max_mw": 10, "energy_max_mwh": 10}},
        economics={**HAND_ECONOMICS, "energy_cny_per_kwh": 1.0}, sizing={"duration_max_h": 1.0}, mip_gap=1e-9,
        tornado=False).model_dump())
    roles = out["assumptions"]["typical_days"]["months"]["2025-01"]["peak_days"]
    assert roles == {"2025-01-01": [0.0], "2025-01-02": [2.5, 5.0, 10.0]}
    cmp_ = out["typical_vs_full_year"]
    assert cmp_["months_start_from"].startswith("the month's peak over the typical days")
    (rec,) = cmp_["sizes"]
    assert (rec["power_mw"], rec["energy_mwh"]) == (pytest.approx(10.0, abs=1e-6), pytest.approx(10.0, abs=1e-6))
    cost = rec["figures"]["operating_cost_cny_per_year"]
    assert cost["full_year"] == pytest.approx(218_680.0, rel=1e-7)
    assert cost["typical_days"] == pytest.approx(218_680.0, rel=1e-7)
    assert out["co_optimisation"]["operating_cost_cny_per_year"] == pytest.approx(218_680.0, rel=1e-7)
    assert rec["peak_cut_mw_by_month"]["2025-01"]["full_year"] == pytest.approx(20 - 50 / 3, rel=1e-7)
    (loose,) = cmp_["months_from_no_peak"]["sizes"]
    assert loose["figures"]["operating_cost_cny_per_year"]["full_year"] == pytest.approx(218_676.0 + 2 / 3 + 180 / 19, rel=1e-7)
    assert out["annual"]["without_storage"]["operating_cost_cny_per_year"] == pytest.approx(252_000.0, rel=1e-9)
