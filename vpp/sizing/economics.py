"""Storage economics: annualised capital cost, cash flows, NPV, IRR, paybacks, LCOS.

Plain functions, numbers in and out. Units: CNY, years, MW / MWh (costs are
given per kW and per kWh, as quotes are, and converted here).

Capital recovery factor at rate i over n years::

    CRF(i, n) = i·(1 + i)^n / ((1 + i)^n − 1)      (1/n when i = 0)

A size (P [MW], E [MWh]) costs at year 0 ``capex = 1000·(cP·P + cE·E)``. The
energy part (the cells) may have a life R shorter than the project's L
(``cell_life_years``): it is then replaced at years R, 2R, … < L at
``replacement_fraction`` of its first cost, and the last replacement's
remaining life at year L is credited as salvage, linearly (as HOMER does)::

    salvage = cost_last · (R − (L − y_last)) / R

Fixed O&M is ``1000·om·P`` a year. The annualised capital cost is
``CRF·(capex + PV(replacements) − PV(salvage)) + O&M``, linear in P and E:
the per-MW-year and per-MWh-year coefficients of :func:`annualised_coefficients`
are what the co-optimisation minimises.

Against no storage, a size saves ``S`` a year of operating cost (the same
every year). Cash flows: year 0 ``−capex``; year y = 1…L ``S − O&M −
replacement(y) + salvage(y = L)``. Then

- NPV(r) = Σ_y CF_y / (1 + r)^y,
- IRR: the r with NPV(r) = 0 (``scipy.optimize.brentq`` on a bracket where
  NPV changes sign; None when there is none),
- simple payback = capex / (S − O&M) [years] (None when S ≤ O&M),
- discounted payback: the first time the cumulative discounted cash flow
  reaches 0, interpolated within the year (None if not within L),
- LCOS = (capex + PV(O&M) + PV(replacements) − PV(salvage) + PV(charging
  cost)) / PV(energy discharged) [CNY/MWh] (Schmidt et al. 2019, Joule 3:81),
  the charging cost being the energy charged at each step's buy price.

NPV = (S − annualised capital cost)/CRF: the sizes with the least annualised
total cost are the sizes with the largest NPV.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import brentq


@dataclass(frozen=True)
class Economics:
    """Cost and finance assumptions (defaults: ``vpp/sizing/defaults.yaml``)."""

    power_cny_per_kw: float
    energy_cny_per_kwh: float
    fixed_om_cny_per_kw_year: float
    lifetime_years: int
    discount_rate: float
    cell_life_years: float | None = None
    replacement_fraction: float = 0.0

    def __post_init__(self) -> None:
        problems = []
        for name in ("power_cny_per_kw", "energy_cny_per_kwh", "fixed_om_cny_per_kw_year", "replacement_fraction"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                problems.append(f"{name}: expected a finite number >= 0, got {v!r}")
        if not (isinstance(self.lifetime_years, int) and not isinstance(self.lifetime_years, bool) and self.lifetime_years >= 1):
            problems.append(f"lifetime_years: expected a whole number of years >= 1, got {self.lifetime_years!r}")
        if not (isinstance(self.discount_rate, (int, float)) and -1 < self.discount_rate < 1):
            problems.append(f"discount_rate: expected a fraction in (-1, 1), e.g. 0.06, got {self.discount_rate!r}")
        if self.cell_life_years is not None and not (self.cell_life_years > 0):
            problems.append(f"cell_life_years: expected a positive number of years or none, got {self.cell_life_years!r}")
        if problems:
            raise ValueError("; ".join(problems))

    def capex_cny(self, power_mw: float, energy_mwh: float) -> float:
        return 1000.0 * (self.power_cny_per_kw * power_mw + self.energy_cny_per_kwh * energy_mwh)


def crf(rate: float, years: int) -> float:
    """Capital recovery factor [1/yr]: the annuity that repays 1 CNY over ``years`` at ``rate``."""
    if years < 1:
        raise ValueError(f"years: expected >= 1, got {years}")
    if rate == 0:
        return 1.0 / years
    g = (1.0 + rate) ** years
    return rate * g / (g - 1.0)


def replacements(econ: Economics) -> tuple[list[tuple[int, float]], float]:
    """Cell replacements as (year, fraction of the first energy cost) and the salvage fraction at year L."""
    L, R = econ.lifetime_years, econ.cell_life_years
    if R is None:
        return [], 0.0
    out: list[tuple[int, float]] = []
    k = 1
    while k * R < L - 1e-9:
        out.append((int(round(k * R)), econ.replacement_fraction))
        k += 1
    last_year, last_fraction = (0.0, 1.0) if not out else (float(out[-1][0]), econ.replacement_fraction)
    remaining = max(0.0, R - (L - last_year)) / R
    return out, last_fraction * remaining


def _discount(rate: float, year: float) -> float:
    return (1.0 + rate) ** -year


def annualised_coefficients(econ: Economics) -> tuple[float, float]:
    """Annualised capital cost per MW-year and per MWh-year [CNY] (O&M included in the first)."""
    i, L = econ.discount_rate, econ.lifetime_years
    repl, salvage = replacements(econ)
    energy_pv = 1.0 + sum(f * _discount(i, y) for y, f in repl) - salvage * _discount(i, L)
    c = crf(i, L)
    per_mw = c * 1000.0 * econ.power_cny_per_kw + 1000.0 * econ.fixed_om_cny_per_kw_year
    per_mwh = c * 1000.0 * econ.energy_cny_per_kwh * energy_pv
    return per_mw, per_mwh


def annualised_capital_cny(econ: Economics, power_mw: float, energy_mwh: float) -> float:
    per_mw, per_mwh = annualised_coefficients(econ)
    return per_mw * power_mw + per_mwh * energy_mwh


def cash_flows(econ: Economics, power_mw: float, energy_mwh: float, saving_cny_per_year: float) -> np.ndarray:
    """Cash flows of years 0…L [CNY] of a size that saves ``saving_cny_per_year``."""
    L = econ.lifetime_years
    cf = np.zeros(L + 1)
    cf[0] = -econ.capex_cny(power_mw, energy_mwh)
    om = 1000.0 * econ.fixed_om_cny_per_kw_year * power_mw
    cf[1:] = saving_cny_per_year - om
    energy_cost = 1000.0 * econ.energy_cny_per_kwh * energy_mwh
    repl, salvage = replacements(econ)
    for y, f in repl:
        cf[y] -= f * energy_cost
    cf[L] += salvage * energy_cost
    return cf


def npv(rate: float, flows: Sequence[float]) -> float:
    """Net present value of cash flows at years 0, 1, … [CNY]."""
    return float(sum(cf * _discount(rate, y) for y, cf in enumerate(flows)))


def irr(flows: Sequence[float], low: float = -0.99, high: float = 10.0) -> float | None:
    """The internal rate of return: the rate where NPV = 0, or None when NPV keeps one sign.

    Scans the bracket [low, high] on a grid for the first sign change of the
    NPV (the conventional root for an investment: outflow first, inflows after)
    and refines it with Brent's method to 1e-12.
    """
    flows = [float(x) for x in flows]
    if not flows or all(x >= 0 for x in flows) or all(x <= 0 for x in flows):
        return None
    grid = np.concatenate([np.linspace(low, 0.0, 200, endpoint=False), np.geomspace(1e-6, high, 400)])
    grid = np.unique(np.concatenate([grid, [0.0]]))
    values = np.array([npv(r, flows) for r in grid])
    for k in range(len(grid) - 1):
        a, b = values[k], values[k + 1]
        if a == 0:
            return float(grid[k])
        if a * b < 0:
            return float(brentq(lambda r: npv(r, flows), grid[k], grid[k + 1], xtol=1e-12, rtol=1e-12))
    return None


def simple_payback_years(capex: float, net_saving_per_year: float) -> float | None:
    return capex / net_saving_per_year if net_saving_per_year > 0 else None


def discounted_payback_years(rate: float, flows: Sequence[float]) -> float | None:
    """First time [years] the cumulative discounted cash flow reaches 0, interpolated within the year."""
    cum = 0.0
    for y, cf in enumerate(flows):
        d = cf * _discount(rate, y)
        if y > 0 and cum < 0 <= cum + d:
            return (y - 1) + (-cum / d)
        cum += d
        if y == 0 and cum >= 0:
            return 0.0
    return None


def lcos_cny_per_mwh(
    econ: Economics, power_mw: float, energy_mwh: float, discharged_mwh_per_year: float, charging_cost_cny_per_year: float
) -> float | None:
    """Levelised cost of storage [CNY per MWh discharged] (module docstring); None when nothing is discharged."""
    i, L = econ.discount_rate, econ.lifetime_years
    annuity = sum(_discount(i, y) for y in range(1, L + 1))
    if discharged_mwh_per_year <= 0:
        return None
    costs = -cash_flows(econ, power_mw, energy_mwh, 0.0)  # capex, O&M, replacements, minus salvage
    pv_costs = npv(i, costs) + charging_cost_cny_per_year * annuity
    return pv_costs / (discharged_mwh_per_year * annuity)


def appraise(
    econ: Economics,
    power_mw: float,
    energy_mwh: float,
    saving_cny_per_year: float,
    discharged_mwh_per_year: float = 0.0,
    charging_cost_cny_per_year: float = 0.0,
) -> dict[str, Any]:
    """Every figure of merit of one size against no storage (JSON-ready)."""
    capex = econ.capex_cny(power_mw, energy_mwh)
    annual_capital = annualised_capital_cny(econ, power_mw, energy_mwh)
    flows = cash_flows(econ, power_mw, energy_mwh, saving_cny_per_year)
    om = 1000.0 * econ.fixed_om_cny_per_kw_year * power_mw
    none = capex == 0
    return {
        "power_mw": power_mw,
        "energy_mwh": energy_mwh,
        "capex_cny": capex,
        "annualised_capital_cny_per_year": annual_capital,
        "fixed_om_cny_per_year": om,
        "saving_cny_per_year": saving_cny_per_year,
        "net_benefit_cny_per_year": saving_cny_per_year - annual_capital,
        "npv_cny": 0.0 if none else npv(econ.discount_rate, flows),
        "irr": None if none else irr(flows),
        "simple_payback_years": None if none else simple_payback_years(capex, saving_cny_per_year - om),
        "discounted_payback_years": None if none else discounted_payback_years(econ.discount_rate, flows),
        "lcos_cny_per_mwh": None if none else lcos_cny_per_mwh(econ, power_mw, energy_mwh, discharged_mwh_per_year, charging_cost_cny_per_year),
    }
