"""Frequency regulation (调频) in a day's results: the VPP's bid, its revenue and what it gives up for it.

A case with a ``regulation`` block (``shared/spec/model.md`` §5.4) lets each battery
with ``regulation: true`` hold back a symmetric band ``r`` [MW], one value per block
of ``block_steps`` steps. This module reads a solved day:

- :func:`regulation_section` (:func:`regulation_summary` without the comparison,
  from a case and its solution): the ``regulation`` section of ``summary.json``: the bid
  per block (MW per battery and in total, the block's prices and revenue), each
  battery's offer and revenue, the revenue split into capacity and mileage, the
  expected energy lost following the signal, and — given the same day solved
  without regulation — both objectives, the regulation's net value (cost without −
  cost with) and the energy margin given up for it (revenue − net value: what
  every other cost rose by);
- :func:`bid_table`: the bid as a table, one row per block (``regulation_bid.csv``);
- :func:`without_regulation`: the same case with the market left out.

Revenues are positive here; the objective counts them as negative cost terms
(``regulation_capacity``, ``regulation_mileage``). Where the two solves happen:
:func:`vpp.dispatch.solve_day`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from vpp.case import Battery, Case

if TYPE_CHECKING:
    from models import Solution
    from vpp.results import DispatchResult

BID_FILE = "regulation_bid.csv"
TOLERANCE_MW = 1e-6  # an offer below this [MW] is no offer


def regulating_batteries(case: Case) -> list[Battery]:
    """The batteries that offer a band: ``regulation: true`` in a case with a regulation market."""
    if case.regulation is None:
        return []
    return [a for a in case.assets_of(Battery) if a.regulation]


def without_regulation(case: Case) -> Case:
    """``case`` with its regulation market left out (the batteries keep their flags, which then do nothing)."""
    if case.regulation is None:
        return case
    return case.model_copy(update={"regulation": None})


def step_revenue_cny(case: Case, battery: Battery, band_mw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The capacity and the mileage revenue of ``battery``'s band ``band_mw`` [MW] at each step [CNY]:
    Δ·r·π_c and Δ·r·π_m·μ·K_b (model.md §5.4; zero without a regulation market)."""
    reg = case.regulation
    band = np.asarray(band_mw, dtype=float)
    if reg is None:
        return np.zeros_like(band), np.zeros_like(band)
    dt = case.dt_hours
    capacity = dt * band * case.series(reg.capacity_price_cny_per_mw_h)
    mileage = (dt * band * case.series(reg.mileage_price_cny_per_mw) * reg.mileage_mw_per_mw_h
               * battery.regulation_performance)
    return capacity, mileage


def _blocks(steps: int, block_steps: int) -> list[tuple[int, int]]:
    """The blocks as [first step, end step) pairs; the last one is shorter when B does not divide N."""
    return [(s, min(s + block_steps, steps)) for s in range(0, steps, block_steps)]


def _number(x: float) -> float:
    """A plain float for JSON, solver round-off below 1e-9 written as 0."""
    return 0.0 if abs(x) < 1e-9 else float(x)


def regulation_section(result: DispatchResult, without: DispatchResult | None = None) -> dict[str, Any] | None:
    """The ``regulation`` section of a solved day (see the module docstring); None when nothing regulates.

    ``without``: the same day solved without the regulation market, for the comparison.
    """
    section = regulation_summary(result.case, result.solution)
    if section is not None and without is not None:
        section["comparison"] = comparison(result, without, section["revenue_cny"]["total"])
    return section


def regulation_summary(case: Case, sol: Solution) -> dict[str, Any] | None:
    """The bid, the revenue and the expected loss of a solved case: the section without the comparison.

    Takes what :func:`vpp.results.summarize` has (the case and the solution), so that it can
    hook in there; None when nothing regulates.
    """
    batteries = regulating_batteries(case)
    reg = case.regulation
    if reg is None or not batteries:
        return None
    dt = case.dt_hours
    capacity_price = case.series(reg.capacity_price_cny_per_mw_h)
    mileage_price = case.series(reg.mileage_price_cny_per_mw)
    band = {b.id: np.clip(np.asarray(sol.of(b.id, b.type)["regulation_mw"], dtype=float), 0.0, None)
            for b in batteries}
    capacity, mileage = {}, {}
    for b in batteries:
        capacity[b.id], mileage[b.id] = step_revenue_cny(case, b, band[b.id])
    loss = {b.id: reg.deployment_fraction * (1 / b.discharge_efficiency - b.charge_efficiency) * dt * band[b.id]
            for b in batteries}
    total_band = sum(band.values(), np.zeros(case.steps))
    ts = case.timestamps
    end = ts[-1] + pd.Timedelta(minutes=case.step_minutes)

    blocks = []
    for k, (a, b) in enumerate(_blocks(case.steps, reg.block_steps)):
        blocks.append({
            "block": k,
            "from_step": a,
            "to_step": b,
            "from": ts[a].isoformat(),
            "to": (ts[b] if b < case.steps else end).isoformat(),
            "offer_mw": {bid: _number(band[bid][a]) for bid in band},
            "total_mw": _number(total_band[a]),
            "capacity_price_cny_per_mw_h": _number(capacity_price[a:b].mean()),
            "mileage_price_cny_per_mw": _number(mileage_price[a:b].mean()),
            "capacity_revenue_cny": _number(sum(capacity[bid][a:b].sum() for bid in band)),
            "mileage_revenue_cny": _number(sum(mileage[bid][a:b].sum() for bid in band)),
        })
    per_battery = [
        {
            "id": b.id,
            "node": case.node_of(b),
            "performance": b.regulation_performance,
            "max_offer_mw": _number(band[b.id].max()),
            "mean_offer_mw": _number(band[b.id].mean()),
            "offer_mw_h": _number(band[b.id].sum() * dt),
            "capacity_revenue_cny": _number(capacity[b.id].sum()),
            "mileage_revenue_cny": _number(mileage[b.id].sum()),
            "expected_loss_mwh": _number(loss[b.id].sum()),
        }
        for b in batteries
    ]
    revenue = {
        "capacity": _number(sum(c.sum() for c in capacity.values())),
        "mileage": _number(sum(m.sum() for m in mileage.values())),
    }
    revenue["total"] = _number(revenue["capacity"] + revenue["mileage"])
    return {
        "block_steps": reg.block_steps,
        "block_minutes": reg.block_steps * case.step_minutes,
        "min_offer_mw": reg.min_offer_mw,
        "blocks_offered": sum(1 for blk in blocks if blk["total_mw"] > TOLERANCE_MW),
        "blocks": blocks,
        "batteries": per_battery,
        "max_offer_mw": _number(total_band.max()),
        "offer_mw_h": _number(total_band.sum() * dt),
        "revenue_cny": revenue,
        "expected_loss_mwh": _number(sum(v.sum() for v in loss.values())),
    }


def comparison(with_: DispatchResult, without: DispatchResult, revenue_cny: float) -> dict[str, Any]:
    """Both objectives [CNY], the regulation's net value and the energy margin given up for it.

    net value = cost without − cost with; margin given up = revenue − net value, i.e. how much
    every cost but the regulation revenue (energy, demand, degradation, …) rose to make room
    for the band. Each solve is within its own MIP gap, so the two figures carry both gaps.
    """
    cost_with, cost_without = with_.objective_cny, without.objective_cny
    net = cost_without - cost_with

    def facts(r: DispatchResult) -> dict[str, Any]:
        s = r.summary
        return {"objective_cny": r.objective_cny, "status": r.status, "mip_gap": s["mip_gap"],
                "battery_charge_mwh": s["energy_mwh"]["battery_charge_mwh"],
                "battery_discharge_mwh": s["energy_mwh"]["battery_discharge_mwh"],
                "solve_seconds": s["solve_seconds"]}

    return {
        "with_regulation": facts(with_),
        "without_regulation": facts(without),
        "net_value_cny": _number(net),
        "revenue_cny": _number(revenue_cny),
        "energy_margin_given_up_cny": _number(revenue_cny - net),
    }


def bid_table(section: dict[str, Any]) -> pd.DataFrame:
    """The VPP's regulation bid, one row per block: its start and end (local time), MW per battery and in
    total, whether it is offered, the block's prices and its revenue [CNY]."""
    ids = [b["id"] for b in section["batteries"]]
    rows = []
    for blk in section["blocks"]:
        rows.append({
            "block": blk["block"],
            "start": blk["from"],
            "end": blk["to"],
            **{f"{bid}_mw": blk["offer_mw"][bid] for bid in ids},
            "total_mw": blk["total_mw"],
            "offered": int(blk["total_mw"] > TOLERANCE_MW),
            "capacity_price_cny_per_mw_h": blk["capacity_price_cny_per_mw_h"],
            "mileage_price_cny_per_mw": blk["mileage_price_cny_per_mw"],
            "capacity_revenue_cny": blk["capacity_revenue_cny"],
            "mileage_revenue_cny": blk["mileage_revenue_cny"],
        })
    return pd.DataFrame(rows)


def write_bid(summary: dict[str, Any], out_dir: str | Path) -> Path | None:
    """Write ``regulation_bid.csv`` from a summary's ``regulation`` section; None when there is none."""
    section = summary.get("regulation")
    if not section:
        return None
    path = Path(out_dir) / BID_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    bid_table(section).to_csv(path, index=False, float_format="%.9g")
    return path
