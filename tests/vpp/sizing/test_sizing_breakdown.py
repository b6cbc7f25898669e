"""The saving line by line of the bill, the CO2 effect by the energy balance and by hourly factors, by hand.

Each case is the hand case of conftest.py (a 10 MW load, 100 CNY/MWh except
18:00 at 500, 19:00 at 400, 20:00 at 300) changed so that one line of the
bill moves and its value can be written down.
"""

from __future__ import annotations

import pytest
from conftest import HAND_BATTERY, HAND_ECONOMICS, hand_case_data, hand_series

from vpp.errors import CaseError
from vpp.sizing import run_sizing_request
from vpp.sizing.schema import SizingRequest, emission_profile, load_defaults

CHEAP = {**HAND_ECONOMICS, "energy_cny_per_kwh": 1.0}  # capital next to nothing: the sweep's point is the answer


def study(tmp_path, data: dict, days: int, sweep: str, **kw) -> dict:
    series = tmp_path / "days.csv"
    hand_series(days).to_csv(series, index=False)
    params = dict(case_data=data, year=2025, series=str(series), sites=["grid"], economics=CHEAP,
                  battery={**HAND_BATTERY, "auxiliary_mw_per_mw": 0.0}, sweep=sweep, tornado=False, scheduler="serial")
    params.update(kw)
    return run_sizing_request(SizingRequest(**params).model_dump())


def test_arbitrage_losses_and_co2_by_hand(tmp_path) -> None:
    # 10 MW / 10 MWh, 90 % each way, empty at the start and end of each day, the grid at 0.5 t/MWh.
    # Each day: 10/0.9 = 11.11 MWh charged at 100 before 18:00 (1,111.11 CNY), 10 MWh stored, 9 MWh
    # delivered at 18:00 (4,500 CNY; 10 MW for one hour); wear 1 CNY/MWh discharged: 9 CNY.
    data = hand_case_data()
    data["grid"]["emission_t_per_mwh"] = 0.5
    battery = {**HAND_BATTERY, "charge_efficiency": 0.9, "discharge_efficiency": 0.9, "auxiliary_mw_per_mw": 0.0}
    profile = [0.4] * 18 + [1.0] * 6
    out = study(tmp_path, data, 31, "power=10,energy=10", battery=battery, emission_profile_t_per_mwh=profile)
    rec = out["recommended"]
    assert (rec["power_mw"], rec["energy_mwh"]) == (10.0, 10.0)
    src = out["saving_by_source"]["recommended"]
    energy = src["lines"]["time_of_use_energy"]
    charged = 10 / 0.9
    assert energy["cny_per_year"] == pytest.approx(31 * (4_500 - 100 * charged), rel=1e-6)
    assert energy["storage_arbitrage_cny_per_year"] == pytest.approx(31 * (4_500 - 100 * charged), rel=1e-6)
    assert energy["other_assets_cny_per_year"] == pytest.approx(0.0, abs=1e-3)
    assert energy["mean_price_discharged_cny_per_mwh"] == pytest.approx(500.0, rel=1e-6)
    assert energy["mean_price_charged_cny_per_mwh"] == pytest.approx(100.0, rel=1e-6)
    assert energy["discharged_mwh_per_year"] == pytest.approx(31 * 9.0, rel=1e-6)
    assert src["lines"]["degradation"]["cny_per_year"] == pytest.approx(-31 * 9.0, rel=1e-6)  # the case's own wear price
    assert src["lines"]["maximum_demand"]["cny_per_year"] == 0.0
    assert src["lines"]["other"]["cny_per_year"] == pytest.approx(0.0, abs=1e-3)
    assert src["saving_cny_per_year"] == pytest.approx(31 * (4_500 - 100 * charged - 9), rel=1e-6)
    assert rec["saving_cny_per_year"] == pytest.approx(src["saving_cny_per_year"], rel=1e-12)
    # CO2 at the flat factor: the losses, 11.11 − 9 MWh a day, × 0.5 t/MWh
    co2 = out["co2"]
    assert co2["change_t_per_year"] == pytest.approx(31 * 0.5 * (charged - 9), rel=1e-6)
    balance = co2["energy_balance"]
    assert balance["storage_losses_mwh_per_year"] == pytest.approx(31 * (charged - 9), rel=1e-6)
    assert balance["grid_energy_change_mwh_per_year"] == pytest.approx(31 * (charged - 9), rel=1e-6)
    assert balance["sum_mwh_per_year"] == pytest.approx(balance["grid_energy_change_mwh_per_year"], rel=1e-9)
    assert balance["change_at_the_flat_factor_t_per_year"] == pytest.approx(co2["change_t_per_year"], rel=1e-9)
    # at the hourly factors: charged at 0.4 t/MWh, delivered against 1.0: the storage saves CO2
    hourly = co2["hourly_profile"]
    assert hourly["change_t_per_year"] == pytest.approx(31 * (0.4 * charged - 1.0 * 9), rel=1e-6)
    assert hourly["profile"] == "given" and hourly["profile_t_per_mwh"] == profile


def test_regulation_revenue_by_hand(tmp_path) -> None:
    # Flat price (no arbitrage), a capacity payment of 10 CNY per MW of band and hour, no loss, three days:
    # the 10 MW / 20 MWh battery, half full, offers its whole 10 MW every hour: 10·24·10 = 2,400 CNY a day.
    data = hand_case_data()
    data["grid"]["buy_cny_per_mwh"] = 100.0
    data["regulation"] = {"capacity_price_cny_per_mw_h": 10.0}
    data["assets"].append({"id": "bess", "type": "battery", "power_mw": 1, "energy_mwh": 1, "regulation": True,
                           **{**HAND_BATTERY, "soc_initial": 0.5}})
    series = hand_series(3).assign(buy_cny_per_mwh=100.0)
    path = tmp_path / "flat.csv"
    series.to_csv(path, index=False)
    out = run_sizing_request(SizingRequest(case_data=data, year=2025, series=str(path), economics=CHEAP,
                                           sweep="power=10,energy=20", scheduler="serial").model_dump())
    assert (out["recommended"]["power_mw"], out["recommended"]["energy_mwh"]) == (10.0, 20.0)
    reg = out["saving_by_source"]["recommended"]["lines"]["regulation"]
    assert reg["cny_per_year"] == pytest.approx(3 * 2_400.0, rel=1e-9)
    assert reg["band_mw_h_per_year"] == pytest.approx(3 * 240.0, rel=1e-9)
    assert reg["mean_band_mw"] == pytest.approx(10.0, rel=1e-9)
    assert reg["share_of_power_and_hours"] == pytest.approx(1.0, rel=1e-9)
    assert reg["revenue_cny_per_mw_h"] == pytest.approx(10.0, rel=1e-9)
    # the energy bill pays only the auxiliaries (the default 0.32 % of the power): 0.0032·10 MW·72 h·100 CNY/MWh
    energy = out["saving_by_source"]["recommended"]["lines"]["time_of_use_energy"]
    assert energy["auxiliaries_cny_per_year"] == pytest.approx(-0.0032 * 10 * 72 * 100, rel=1e-9)
    assert energy["cny_per_year"] == pytest.approx(-0.0032 * 10 * 72 * 100, rel=1e-9)
    assert energy["storage_arbitrage_cny_per_year"] == pytest.approx(0.0, abs=1e-6)
    # the tornado's regulation bar: no regulation market loses the 7,200; twice the prices earns it twice
    simulated = out["tornado"]["simulated"]["savings_cny_per_year"]
    base = out["tornado"]["simulated"]["base_saving_cny_per_year"]
    assert simulated["regulation_low"] == pytest.approx(base - 3 * 2_400.0, rel=1e-9)
    assert simulated["regulation_high"] == pytest.approx(base + 3 * 2_400.0, rel=1e-9)
    bar = next(b for b in out["tornado"]["bars"] if b["input"] == "regulation_price")
    assert (bar["low"], bar["high"]) == ("none", "×2")
    assert bar["npv_low_cny"] < out["recommended"]["npv_cny"] < bar["npv_high_cny"]
    # the case's own battery (1 MW / 1 MWh) is the plan, simulated in the sweep: 1 MW of band, 240 CNY a day
    plan = out["saving_by_source"]["plan"]
    assert (plan["power_mw"], plan["energy_mwh"]) == (1.0, 1.0)
    assert plan["lines"]["regulation"]["cny_per_year"] == pytest.approx(3 * 240.0, rel=1e-9)


def test_a_named_emission_profile_and_its_errors() -> None:
    defaults, sources = load_defaults()
    factors, name, source = emission_profile("north-china-2023-illustrative", defaults, sources)
    assert len(factors) == 24 and name == "north-china-2023-illustrative" and "[assumed]" in source
    # its mean over the hours is the [pub] North China 2023 factor the case uses flat
    assert sum(factors) / 24 == pytest.approx(0.6361, abs=5e-5)
    assert min(factors) == factors[12]  # the least at noon (solar)
    with pytest.raises(CaseError) as exc:
        emission_profile("south-china", defaults, sources)
    assert [f"{p.path}: {p.message}" for p in exc.value.problems] == [
        "emission_profile_t_per_mwh: unknown profile 'south-china': expected 24 numbers (t/MWh by local hour) "
        "or one of ['north-china-2023-illustrative']"]
    with pytest.raises(CaseError, match=r"emission_profile_t_per_mwh: expected 24 finite numbers >= 0 \(t/MWh by local hour\), got -0.1"):
        emission_profile([0.5] * 23 + [-0.1], defaults, sources)


def test_the_wear_price_is_not_counted_twice(tmp_path) -> None:
    # The economics price the fade: 5,000 cycles to 80 %, augmentation 500 CNY/kWh, so a MWh discharged
    # wears 1000·500·0.2/5000 = 20 CNY (the dispatch's price) and the fade is bought back in the cash flows.
    # At 10 MW / 20 MWh each day discharges 10 MWh at 500 and 10 at 400, charged at 100: the bill saves
    # 31·7,000 CNY. The appraisal takes that saving, not the 31·(7,000 − 20·20) left after the wear
    # price, since the augmentations of the cash flows are that same wear.
    from vpp.sizing.economics import appraise
    from vpp.sizing.schema import economics_from

    economics = {**CHEAP, "cycle_life": 5000.0, "cycle_depth": 1.0, "end_of_life_fraction": 0.8, "augmentation_cny_per_kwh": 500.0}
    out = study(tmp_path, hand_case_data(), 31, "power=10,energy=20", economics=economics)
    rec = out["recommended"]
    assert (rec["power_mw"], rec["energy_mwh"]) == (10.0, 20.0)
    assert out["assumptions"]["wear_cny_per_mwh_discharged"]["value"] == pytest.approx(20.0, rel=1e-12)
    assert rec["saving_cny_per_year"] == pytest.approx(31 * 7_000, rel=1e-9)
    src = out["saving_by_source"]["recommended"]
    assert src["wear_cny_per_year"] == pytest.approx(31 * 20 * 20, rel=1e-9)
    assert src["operating_saving_cny_per_year"] == pytest.approx(31 * (7_000 - 400), rel=1e-9)
    assert src["lines"]["degradation"]["cny_per_year"] == pytest.approx(0.0, abs=1e-6)
    econ = economics_from(load_defaults({"economics": economics})[0])
    expected = appraise(econ, 10.0, 20.0, 31 * 7_000, 31 * 20, 31 * 20 * 100)
    assert rec["npv_cny"] == pytest.approx(expected["npv_cny"], rel=1e-9)
    assert rec["augmentations"] == [{"year": y["year"], "cost_cny": pytest.approx(y["cost_cny"], rel=1e-9)} for y in expected["augmentations"]]
