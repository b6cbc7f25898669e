"""Storage economics as planners model them: capital, O&M, fade and augmentation, availability; NPV, IRR, paybacks.

Plain functions, numbers in and out. Units: CNY, years, MW / MWh (costs are
given per kW and per kWh, as quotes are, and converted here).

A size (P [MW], E [MWh]) costs at year 0 ``capex = 1000·(cP·P + cE·E)``;
O&M is a share ``f`` of the capital cost every year, ``om = f·capex``.

**Fade and augmentation.** The energy available falls with age, from the
calendar and from use: a fraction ``r = r_cal + n·(1 − θ)/(N·δ)`` of the
nameplate a year, where ``r_cal`` is the calendar fade [1/yr], ``n`` the
equivalent full cycles a year (MWh discharged / E), ``N`` the cycle life at
depth ``δ`` and ``θ`` the end-of-life fraction (N cycles of depth δ take the
cells from 1 to θ). Year by year, from ``a = 1`` at commissioning::

    a_end(y) = a_start(y) − r,   a_mean(y) = a_start(y) − r/2
    augmentation at the end of year y < L when a_end(y) ≤ θ:
        cost 1000·c_aug·E·(1 − a_end(y)), and a_start(y + 1) = 1 (the lost energy bought back)

(an augmentation is dated and priced; none in the project's last year, and no
salvage at its end).

**Cash flows.** Against no storage, a size saves ``S`` a year of operating
cost at its nameplate energy (the simulated year). The saving of year y scales
with the energy available that year and with the availability ``α`` (the share
of the time the plant is in service)::

    CF_0 = −capex,   CF_y = α·a_mean(y)·S − om − aug(y)    (y = 1…L)

(the saving is taken proportional to the energy available: a lower bound,
since the first MWh of a size earn the most). ``S`` is what the bill saves:
the dispatch prices a MWh discharged at its augmentation cost
(:func:`wear_cny_per_mwh`) to decide how hard to cycle, but that price is
not taken off ``S`` again, since the augmentations it stands for are in the
cash flows (``aug(y)``). Then

- NPV(i) = Σ_y CF_y / (1 + i)^y,
- IRR: the rate where NPV = 0 (``scipy.optimize.brentq`` on the first sign
  change of the NPV; None when there is none),
- simple and discounted payback: the first time the cumulative (discounted)
  cash flow reaches 0, interpolated within the year (None if not within L),
- LCOS = (capex + PV(om) + PV(aug) + PV(charging cost)) / PV(energy discharged)
  [CNY/MWh] (Schmidt et al. 2019, Joule 3:81), the energy discharged and its
  charging cost scaled as the saving is,
- the break-even capital cost: the factor ``k*`` on the capital cost (and the
  O&M that is a share of it; augmentation is priced apart) at which NPV = 0,
  ``k* = (PV(α·a_mean·S) − PV(aug)) / (capex + PV(om))``.

**What the co-optimisation minimises.** With ``Φ = α·Σ_y a_mean(y)/(1 + i)^y``
(the discounted years of saving), NPV = Φ·(S − K/Φ) where K is the present cost
of the size: maximising NPV is minimising the annual operating cost plus
``K/Φ``, linear in P and E (:func:`annualised_coefficients`), the fade taken
at an assumed number of cycles a year. The wear of a MWh discharged is priced in
the dispatch at its augmentation cost (:func:`wear_cny_per_mwh`), so the
coefficients count only the calendar share of the augmentations.
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
    """Cost, wear and finance assumptions (defaults: ``vpp/sizing/defaults.yaml``; symbols as in the module docstring)."""

    power_cny_per_kw: float  # cP
    energy_cny_per_kwh: float  # cE
    om_fraction_per_year: float  # f
    lifetime_years: int  # L
    discount_rate: float  # i
    availability: float = 1.0  # α
    calendar_fade_per_year: float = 0.0  # r_cal
    cycle_life: float | None = None  # N (None: no fade from use)
    cycle_depth: float = 1.0  # δ
    end_of_life_fraction: float = 0.8  # θ
    augmentation_cny_per_kwh: float = 0.0  # c_aug

    def __post_init__(self) -> None:
        problems = []
        for name in ("power_cny_per_kw", "energy_cny_per_kwh", "om_fraction_per_year", "calendar_fade_per_year",
                     "augmentation_cny_per_kwh"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                problems.append(f"{name}: expected a finite number >= 0, got {v!r}")
        if not (isinstance(self.lifetime_years, int) and not isinstance(self.lifetime_years, bool) and self.lifetime_years >= 1):
            problems.append(f"lifetime_years: expected a whole number of years >= 1, got {self.lifetime_years!r}")
        if not (isinstance(self.discount_rate, (int, float)) and -1 < self.discount_rate < 1):
            problems.append(f"discount_rate: expected a fraction in (-1, 1), e.g. 0.07, got {self.discount_rate!r}")
        for name in ("availability", "cycle_depth", "end_of_life_fraction"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and 0 < v <= 1):
                problems.append(f"{name}: expected a fraction above 0, at most 1, got {v!r}")
        if self.cycle_life is not None and not (self.cycle_life > 0):
            problems.append(f"cycle_life: expected a positive number of cycles or none, got {self.cycle_life!r}")
        if problems:
            raise ValueError("; ".join(problems))

    def capex_cny(self, power_mw: float, energy_mwh: float) -> float:
        return 1000.0 * (self.power_cny_per_kw * power_mw + self.energy_cny_per_kwh * energy_mwh)

    def om_cny_per_year(self, power_mw: float, energy_mwh: float) -> float:
        return self.om_fraction_per_year * self.capex_cny(power_mw, energy_mwh)

    def cycle_fade_per_cycle(self) -> float:
        """Fraction of the nameplate energy lost per equivalent full cycle (a MWh discharged per MWh of E)."""
        if self.cycle_life is None:
            return 0.0
        return (1.0 - self.end_of_life_fraction) / (self.cycle_life * self.cycle_depth)

    def fade_per_year(self, cycles_per_year: float) -> float:
        """r: the fraction of the nameplate energy lost a year at ``cycles_per_year`` equivalent full cycles."""
        return self.calendar_fade_per_year + max(cycles_per_year, 0.0) * self.cycle_fade_per_cycle()


def crf(rate: float, years: int) -> float:
    """Capital recovery factor [1/yr]: the annuity that repays 1 CNY over ``years`` at ``rate``."""
    if years < 1:
        raise ValueError(f"years: expected >= 1, got {years}")
    if rate == 0:
        return 1.0 / years
    g = (1.0 + rate) ** years
    return rate * g / (g - 1.0)


def _discount(rate: float, year: float) -> float:
    return (1.0 + rate) ** -year


@dataclass(frozen=True)
class Ageing:
    """The energy available year by year and the augmentations (module docstring), for a fade ``r`` a year."""

    fade_per_year: float
    mean_available: tuple[float, ...]  # a_mean(y), y = 1…L
    end_available: tuple[float, ...]  # a_end(y) before any augmentation
    augmentations: tuple[tuple[int, float], ...]  # (year, fraction of the nameplate energy bought back)


def ageing(econ: Economics, cycles_per_year: float) -> Ageing:
    """The fade path over the project's life at ``cycles_per_year`` (module docstring)."""
    r = econ.fade_per_year(cycles_per_year)
    theta = econ.end_of_life_fraction
    a = 1.0
    means, ends, augs = [], [], []
    for y in range(1, econ.lifetime_years + 1):
        end = a - r
        means.append(a - r / 2)
        ends.append(end)
        if end <= theta + 1e-12 and y < econ.lifetime_years:
            augs.append((y, 1.0 - end))
            a = 1.0
        else:
            a = end
    return Ageing(r, tuple(means), tuple(ends), tuple(augs))


def wear_cny_per_mwh(econ: Economics) -> float:
    """The augmentation cost of a MWh discharged [CNY/MWh]: what the dispatch charges for wear."""
    return 1000.0 * econ.augmentation_cny_per_kwh * econ.cycle_fade_per_cycle()


def saving_years(econ: Economics, cycles_per_year: float) -> float:
    """Φ = α·Σ_y a_mean(y)/(1 + i)^y: the discounted years of saving a size's nameplate saving is worth."""
    path = ageing(econ, cycles_per_year)
    return econ.availability * sum(m * _discount(econ.discount_rate, y) for y, m in enumerate(path.mean_available, start=1))


def annuity(econ: Economics) -> float:
    """A = Σ_{y=1…L} 1/(1 + i)^y."""
    return sum(_discount(econ.discount_rate, y) for y in range(1, econ.lifetime_years + 1))


def annualised_coefficients(econ: Economics, cycles_per_year: float) -> tuple[float, float]:
    """What the co-optimisation charges per MW and per MWh of a size [CNY a year]: K/Φ (module docstring).

    K per MW: the power part of the capital cost and its O&M; per MWh: the
    energy part and its O&M, and the calendar share of the augmentations at
    ``cycles_per_year`` (the rest is the dispatch's wear price).
    """
    phi = saving_years(econ, cycles_per_year)
    owned = 1.0 + econ.om_fraction_per_year * annuity(econ)
    path = ageing(econ, cycles_per_year)
    share = econ.calendar_fade_per_year / path.fade_per_year if path.fade_per_year > 0 else 0.0
    aug = sum(f * _discount(econ.discount_rate, y) for y, f in path.augmentations) * share
    per_mw = 1000.0 * econ.power_cny_per_kw * owned / phi
    per_mwh = 1000.0 * (econ.energy_cny_per_kwh * owned + econ.augmentation_cny_per_kwh * aug) / phi
    return per_mw, per_mwh


def augmentation_costs(econ: Economics, energy_mwh: float, cycles_per_year: float) -> list[tuple[int, float]]:
    """The augmentations of a size: (year, cost [CNY])."""
    return [(y, 1000.0 * econ.augmentation_cny_per_kwh * energy_mwh * f) for y, f in ageing(econ, cycles_per_year).augmentations]


def cash_flows(econ: Economics, power_mw: float, energy_mwh: float, saving_cny_per_year: float,
               cycles_per_year: float = 0.0) -> np.ndarray:
    """Cash flows of years 0…L [CNY] of a size that saves ``saving_cny_per_year`` at its nameplate (module docstring)."""
    L = econ.lifetime_years
    cf = np.zeros(L + 1)
    cf[0] = -econ.capex_cny(power_mw, energy_mwh)
    path = ageing(econ, cycles_per_year)
    cf[1:] = econ.availability * np.asarray(path.mean_available) * saving_cny_per_year - econ.om_cny_per_year(power_mw, energy_mwh)
    for y, cost in augmentation_costs(econ, energy_mwh, cycles_per_year):
        cf[y] -= cost
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


def discounted_payback_years(rate: float, flows: Sequence[float]) -> float | None:
    """First time [years] the cumulative discounted cash flow reaches 0, interpolated within the year (rate 0: simple)."""
    cum = 0.0
    for y, cf in enumerate(flows):
        d = cf * _discount(rate, y)
        if y > 0 and cum < 0 <= cum + d:
            return (y - 1) + (-cum / d)
        cum += d
        if y == 0 and cum >= 0:
            return 0.0
    return None


def lcos_cny_per_mwh(econ: Economics, power_mw: float, energy_mwh: float, discharged_mwh_per_year: float,
                     charging_cost_cny_per_year: float, cycles_per_year: float = 0.0) -> float | None:
    """Levelised cost of storage [CNY per MWh discharged] (module docstring); None when nothing is discharged."""
    if discharged_mwh_per_year <= 0:
        return None
    i = econ.discount_rate
    phi = saving_years(econ, cycles_per_year)
    costs = -cash_flows(econ, power_mw, energy_mwh, 0.0, cycles_per_year)  # capex, O&M, augmentations
    return (npv(i, costs) + charging_cost_cny_per_year * phi) / (discharged_mwh_per_year * phi)


def break_even(econ: Economics, power_mw: float, energy_mwh: float, saving_cny_per_year: float,
               cycles_per_year: float = 0.0) -> dict[str, Any] | None:
    """The capital cost at which the size's NPV is 0 (module docstring); None for no storage."""
    capex = econ.capex_cny(power_mw, energy_mwh)
    if capex <= 0:
        return None
    i = econ.discount_rate
    owned = capex * (1.0 + econ.om_fraction_per_year * annuity(econ))
    aug = sum(c * _discount(i, y) for y, c in augmentation_costs(econ, energy_mwh, cycles_per_year))
    k = (saving_years(econ, cycles_per_year) * saving_cny_per_year - aug) / owned
    return {
        "factor": k,
        "capex_cny": k * capex,
        "power_cny_per_kw": k * econ.power_cny_per_kw,
        "energy_cny_per_kwh": k * econ.energy_cny_per_kwh,
        "cny_per_wh": k * capex / (energy_mwh * 1e6) if energy_mwh > 0 else None,
        "method": "the factor on the capital cost (and on the O&M that is a share of it; augmentation priced apart) "
                  "at which the NPV is 0; cny_per_wh: that capital cost per Wh of the size's energy",
    }


def appraise(
    econ: Economics,
    power_mw: float,
    energy_mwh: float,
    saving_cny_per_year: float,
    discharged_mwh_per_year: float = 0.0,
    charging_cost_cny_per_year: float = 0.0,
) -> dict[str, Any]:
    """Every figure of merit of one size against no storage (JSON-ready).

    The fade follows the size's own cycles: ``discharged_mwh_per_year`` / E.
    """
    capex = econ.capex_cny(power_mw, energy_mwh)
    cycles = discharged_mwh_per_year / energy_mwh if energy_mwh > 0 else 0.0
    flows = cash_flows(econ, power_mw, energy_mwh, saving_cny_per_year, cycles)
    path = ageing(econ, cycles)
    none = capex == 0
    i = econ.discount_rate
    aug = augmentation_costs(econ, energy_mwh, cycles)
    cost_pv = capex + econ.om_cny_per_year(power_mw, energy_mwh) * annuity(econ) + sum(c * _discount(i, y) for y, c in aug)
    return {
        "power_mw": power_mw,
        "energy_mwh": energy_mwh,
        "capex_cny": capex,
        "om_cny_per_year": econ.om_cny_per_year(power_mw, energy_mwh),
        "annualised_capital_cny_per_year": crf(i, econ.lifetime_years) * cost_pv,
        "saving_cny_per_year": saving_cny_per_year,
        "net_benefit_cny_per_year": 0.0 if none else npv(i, flows) * crf(i, econ.lifetime_years),
        "npv_cny": 0.0 if none else npv(i, flows),
        "irr": None if none else irr(flows),
        "simple_payback_years": None if none else discounted_payback_years(0.0, flows),
        "discounted_payback_years": None if none else discounted_payback_years(i, flows),
        "lcos_cny_per_mwh": None if none else lcos_cny_per_mwh(econ, power_mw, energy_mwh, discharged_mwh_per_year,
                                                                 charging_cost_cny_per_year, cycles),
        "fade_per_year": path.fade_per_year if not none else None,
        "augmentations": [{"year": y, "cost_cny": c} for y, c in aug] if not none else [],
        "break_even": None if none else break_even(econ, power_mw, energy_mwh, saving_cny_per_year, cycles),
        "cash_flows_cny": [] if none else [float(v) for v in flows],
    }
