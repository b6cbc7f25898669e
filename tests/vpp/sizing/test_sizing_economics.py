"""Economics against hand-computed numbers (vpp/sizing/economics.py)."""

from __future__ import annotations

import math

import pytest

from vpp.sizing.economics import (
    Economics,
    annualised_coefficients,
    appraise,
    cash_flows,
    crf,
    discounted_payback_years,
    irr,
    lcos_cny_per_mwh,
    npv,
    replacements,
    simple_payback_years,
)


def econ(**kw) -> Economics:
    base = dict(power_cny_per_kw=300.0, energy_cny_per_kwh=800.0, fixed_om_cny_per_kw_year=20.0, lifetime_years=10, discount_rate=0.08)
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
    assert simple_payback_years(1000.0, 250.0) == 4.0
    assert simple_payback_years(1000.0, 0.0) is None


def test_replacements_and_salvage() -> None:
    # life 15, cells 6 years: replaced at 6 and 12 at half cost; the last is 3 of 6 years old at the end
    e = econ(lifetime_years=15, cell_life_years=6.0, replacement_fraction=0.5)
    repl, salvage = replacements(e)
    assert repl == [(6, 0.5), (12, 0.5)]
    assert salvage == pytest.approx(0.5 * 3 / 6)
    # cells outlive the project: no replacement, the original's remaining life is salvage
    repl, salvage = replacements(econ(lifetime_years=10, cell_life_years=20.0))
    assert repl == [] and salvage == pytest.approx(0.5)
    assert replacements(econ()) == ([], 0.0)


def test_cash_flows_and_the_npv_identity() -> None:
    e = econ(lifetime_years=15, cell_life_years=6.0, replacement_fraction=0.5, discount_rate=0.06)
    flows = cash_flows(e, 1.0, 2.0, 400_000.0)
    capex = 1000 * (300 * 1 + 800 * 2)
    assert flows[0] == -capex
    assert flows[1] == 400_000 - 20_000
    assert flows[6] == 400_000 - 20_000 - 0.5 * 1_600_000
    assert flows[15] == pytest.approx(400_000 - 20_000 + 0.25 * 1_600_000)
    per_mw, per_mwh = annualised_coefficients(e)
    annual = per_mw * 1 + per_mwh * 2
    # NPV = (saving − annualised cost) / CRF: the least annualised total cost is the largest NPV
    assert npv(0.06, flows) == pytest.approx((400_000 - annual) / crf(0.06, 15), rel=1e-12)


def test_lcos_by_hand() -> None:
    # i = 0, 10 years: capex 1.9 M + O&M 10·20 k + charging 10·100 k over 10·500 MWh
    e = econ(discount_rate=0.0)
    assert lcos_cny_per_mwh(e, 1.0, 2.0, 500.0, 100_000.0) == pytest.approx((1_900_000 + 200_000 + 1_000_000) / 5000)
    assert lcos_cny_per_mwh(e, 1.0, 2.0, 0.0, 0.0) is None


def test_appraise_no_storage_and_a_size() -> None:
    e = econ(discount_rate=0.0)
    none = appraise(e, 0.0, 0.0, 0.0)
    assert none["npv_cny"] == 0.0 and none["irr"] is None and none["lcos_cny_per_mwh"] is None
    a = appraise(e, 1.0, 2.0, 400_000.0, 500.0, 100_000.0)
    assert a["capex_cny"] == 1_900_000
    assert a["npv_cny"] == pytest.approx(-1_900_000 + 10 * 380_000)
    assert a["simple_payback_years"] == pytest.approx(1_900_000 / 380_000)
    assert a["net_benefit_cny_per_year"] == pytest.approx(400_000 - (190_000 + 20_000))


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"discount_rate": 1.5}, r"discount_rate: expected a fraction in \(-1, 1\)"),
        ({"lifetime_years": 0}, "lifetime_years: expected a whole number of years >= 1, got 0"),
        ({"energy_cny_per_kwh": -1.0}, "energy_cny_per_kwh: expected a finite number >= 0, got -1.0"),
        ({"cell_life_years": -2.0}, "cell_life_years: expected a positive number of years or none"),
    ],
)
def test_bad_economics(kw: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        econ(**kw)
