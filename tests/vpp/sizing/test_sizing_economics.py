"""Economics against hand-computed numbers (vpp/sizing/economics.py)."""

from __future__ import annotations

import math

import pytest

from vpp.sizing.economics import (
    Economics,
    ageing,
    annualised_coefficients,
    appraise,
    augmentation_costs,
    break_even,
    cash_flows,
    crf,
    discounted_payback_years,
    irr,
    lcos_cny_per_mwh,
    npv,
    saving_years,
    wear_cny_per_mwh,
)


def econ(**kw) -> Economics:
    base = dict(power_cny_per_kw=300.0, energy_cny_per_kwh=800.0, om_fraction_per_year=0.02, lifetime_years=10, discount_rate=0.08)
    base.update(kw)
    return Economics(**base)


def test_crf_hand_values() -> None:
    # 0.08·1.08^10/(1.08^10 − 1) with 1.08^10 = 2.158925
    assert crf(0.08, 10) == pytest.approx(0.149029, abs=5e-7)
    assert crf(0.0, 10) == 0.1
    assert crf(0.06, 15) == pytest.approx(0.102963, abs=5e-7)
    with pytest.raises(ValueError, match="years: expected >= 1, got 0"):
        crf(0.05, 0)


def test_npv_by_hand() -> None:
    # −100 + 50/1.1 + 60/1.21 = −100 + 45.4545 + 49.5868
    assert npv(0.10, [-100, 50, 60]) == pytest.approx(-4.958678, abs=1e-6)


def test_irr_of_a_two_year_flow_matches_the_quadratic() -> None:
    # −100 + 60x + 60x² = 0 with x = 1/(1+r): x = (−60 + √(3600 + 24000))/120
    x = (-60 + math.sqrt(3600 + 24000)) / 120
    assert irr([-100, 60, 60]) == pytest.approx(1 / x - 1, abs=1e-10)
    assert irr([-100, 60, 60]) == pytest.approx(0.130662, abs=1e-6)


def test_irr_of_an_annuity_is_its_rate_and_none_without_a_sign_change() -> None:
    flows = [-1.0] + [crf(0.08, 10)] * 10
    assert irr(flows) == pytest.approx(0.08, abs=1e-10)
    # loses money: x² + x − 10 = 0 with x = 1/(1+r), a negative IRR
    assert irr([-100, 10, 10]) == pytest.approx(2 / (-1 + math.sqrt(41)) - 1, abs=1e-10)
    assert irr([100, 10]) is None
    assert irr([-100, -10]) is None


def test_paybacks_by_hand() -> None:
    # cumulative −100, −40, +20: paid back 40/60 into year 2
    assert discounted_payback_years(0.0, [-100, 60, 60]) == pytest.approx(1 + 40 / 60)
    # at 10 %: −100, −45.4545, +4.1322: 45.4545/49.5868 into year 2
    assert discounted_payback_years(0.10, [-100, 60, 60]) == pytest.approx(1 + (100 - 60 / 1.1) / (60 / 1.21))
    assert discounted_payback_years(0.10, [-100, 10, 10]) is None


#: A 1 MW / 2 MWh size whose cells fade 3 % a year (2 % calendar, 250 cycles of 4e-5 each), by hand
FADING = dict(calendar_fade_per_year=0.02, cycle_life=5000.0, cycle_depth=1.0, end_of_life_fraction=0.8,
              augmentation_cny_per_kwh=500.0, availability=0.9)
MEANS = [0.985, 0.955, 0.925, 0.895, 0.865, 0.835, 0.805, 0.985, 0.955, 0.925]


def test_an_augmentation_year_by_hand() -> None:
    # fade r = 0.02 + 250·(1 − 0.8)/(5000·1) = 0.03 a year: the energy available ends years 1…7 at
    # 0.97, 0.94, …, 0.79; 0.79 ≤ 0.8 at the end of year 7, so 0.21 of the nameplate is bought back
    # then (1000·500·2·0.21 = 210,000 CNY) and years 8–10 fade again from 1.
    e = econ(discount_rate=0.0, **FADING)
    path = ageing(e, 250.0)
    assert path.fade_per_year == pytest.approx(0.03, abs=1e-15)
    assert path.mean_available == pytest.approx(MEANS, abs=1e-12)
    assert len(path.augmentations) == 1 and path.augmentations[0][0] == 7
    assert path.augmentations[0][1] == pytest.approx(0.21, abs=1e-12)
    assert augmentation_costs(e, 2.0, 250.0) == [(7, pytest.approx(210_000.0, rel=1e-12))]
    # a MWh discharged fades 0.2/5000 of a MWh of energy, bought back at 500 CNY/kWh: 20 CNY/MWh
    assert wear_cny_per_mwh(e) == pytest.approx(20.0, rel=1e-12)
    # cash flows: capex 1000·(300 + 800·2) = 1.9 M; O&M 2 % of it, 38,000 a year;
    # year y saves 0.9·a_mean(y)·400,000: year 1 354,600 − 38,000; year 7 289,800 − 38,000 − 210,000
    flows = cash_flows(e, 1.0, 2.0, 400_000.0, 250.0)
    assert flows[0] == -1_900_000
    assert flows[1] == pytest.approx(316_600.0, rel=1e-12)
    assert flows[7] == pytest.approx(41_800.0, rel=1e-12)
    assert flows[8] == pytest.approx(316_600.0, rel=1e-12)
    assert flows[10] == pytest.approx(0.9 * 0.925 * 400_000 - 38_000, rel=1e-12)
    # at i = 0: −1.9 M + 0.9·400,000·Σ a_mean (9.13) − 10·38,000 − 210,000 = 796,800
    assert npv(0.0, flows) == pytest.approx(796_800.0, rel=1e-12)
    a = appraise(e, 1.0, 2.0, 400_000.0, 500.0, 0.0)  # 500 MWh a year on 2 MWh: 250 cycles
    assert a["npv_cny"] == pytest.approx(796_800.0, rel=1e-12)
    assert a["augmentations"] == [{"year": 7, "cost_cny": pytest.approx(210_000.0, rel=1e-12)}]
    assert a["om_cny_per_year"] == pytest.approx(38_000.0, rel=1e-12)
    # break-even capital cost: k·(1.9 M + 10·0.02·1.9 M) = 0.9·9.13·400,000 − 210,000
    k = (0.9 * 9.13 * 400_000 - 210_000) / (1_900_000 * 1.2)
    assert a["break_even"]["factor"] == pytest.approx(k, rel=1e-12)
    assert a["break_even"]["cny_per_wh"] == pytest.approx(k * 1_900_000 / 2e6, rel=1e-12)
    assert npv(0.0, cash_flows(econ(discount_rate=0.0, **{**FADING, "power_cny_per_kw": 300 * k, "energy_cny_per_kwh": 800 * k}),
                                1.0, 2.0, 400_000.0, 250.0)) == pytest.approx(0.0, abs=1e-6)


def test_no_augmentation_in_the_last_year() -> None:
    # 10 % a year over 2 years: the end of year 2 is at 0.8 but the project ends there
    e = econ(lifetime_years=2, calendar_fade_per_year=0.1, augmentation_cny_per_kwh=500.0)
    assert ageing(e, 0.0).augmentations == ()
    assert ageing(e, 0.0).mean_available == pytest.approx((0.95, 0.85))


def test_the_co_optimisation_coefficients_keep_the_npv_identity() -> None:
    # only calendar fade: every augmentation is in the coefficients, NPV = Φ·(S − cost a year)
    e = econ(discount_rate=0.06, lifetime_years=15, calendar_fade_per_year=0.03, augmentation_cny_per_kwh=500.0, availability=0.95)
    flows = cash_flows(e, 1.0, 2.0, 400_000.0, 0.0)
    per_mw, per_mwh = annualised_coefficients(e, 0.0)
    phi = saving_years(e, 0.0)
    assert npv(0.06, flows) == pytest.approx(phi * (400_000 - per_mw - 2 * per_mwh), rel=1e-12)
    # no fade, full availability: the classic annuity, NPV = (S − annualised cost)/CRF
    plain = econ(discount_rate=0.06, lifetime_years=15)
    per_mw, per_mwh = annualised_coefficients(plain, 0.0)
    assert per_mw == pytest.approx(300_000 * (1 + 0.02 / crf(0.06, 15)) * crf(0.06, 15), rel=1e-12)
    assert npv(0.06, cash_flows(plain, 1.0, 2.0, 400_000.0)) == pytest.approx(
        (400_000 - per_mw - 2 * per_mwh) / crf(0.06, 15), rel=1e-12)
    assert break_even(plain, 0.0, 0.0, 1.0) is None


def test_lcos_by_hand() -> None:
    # i = 0, 10 years: capex 1.9 M + O&M 10·38 k + charging 10·100 k over 10·500 MWh
    e = econ(discount_rate=0.0)
    assert lcos_cny_per_mwh(e, 1.0, 2.0, 500.0, 100_000.0) == pytest.approx((1_900_000 + 380_000 + 1_000_000) / 5000)
    assert lcos_cny_per_mwh(e, 1.0, 2.0, 0.0, 0.0) is None


def test_appraise_no_storage_and_a_size() -> None:
    e = econ(discount_rate=0.0)
    none = appraise(e, 0.0, 0.0, 0.0)
    assert none["npv_cny"] == 0.0 and none["irr"] is None and none["lcos_cny_per_mwh"] is None
    a = appraise(e, 1.0, 2.0, 400_000.0, 500.0, 100_000.0)
    assert a["capex_cny"] == 1_900_000
    assert a["npv_cny"] == pytest.approx(-1_900_000 + 10 * 362_000)
    assert a["simple_payback_years"] == pytest.approx(1_900_000 / 362_000)
    assert a["net_benefit_cny_per_year"] == pytest.approx(400_000 - (190_000 + 38_000))


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"discount_rate": 1.5}, r"discount_rate: expected a fraction in \(-1, 1\)"),
        ({"lifetime_years": 0}, "lifetime_years: expected a whole number of years >= 1, got 0"),
        ({"energy_cny_per_kwh": -1.0}, "energy_cny_per_kwh: expected a finite number >= 0, got -1.0"),
        ({"cycle_life": -2.0}, "cycle_life: expected a positive number of cycles or none, got -2.0"),
        ({"availability": 0.0}, "availability: expected a fraction above 0, at most 1, got 0.0"),
    ],
)
def test_bad_economics(kw: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        econ(**kw)
