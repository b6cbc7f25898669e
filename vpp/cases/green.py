"""Green power as Tianjin trades it: monthly contracts, a daily delivery profile, settlement on a minimum.

A green-power contract is a monthly volume of a generator's output; it is
settled, period by period, on min(generation, consumption, contract) and the
buyer cannot dispatch it quarter-hour by quarter-hour ([pub] Tianjin
green-power trading rules). The template turns that into the model's
``green_contract`` (model.md §4.7) thus:

1. the contract of the day, :func:`delivery_profile_mw`: the month's volume
   spread over the month in the generator's expected shape, so the day gets
   ``monthly_mwh × expected_day[t] / expected_month_mwh``;
2. the consumption it can be settled against, :func:`import_floor_mw`: the
   least the district imports at each step whatever the dispatch does (fixed
   loads, the part of curtailable loads that cannot be shed, less all PV and
   every battery discharging at full power), so the green energy, which
   arrives through the import (``G ≤ imp``), can always be absorbed;
3. the settled energy, :func:`settled_mw`: min(generation, contract) per
   contract, scaled down together where their sum exceeds that floor;
4. a non-optional contract with ``min_take`` 1 on that series: the model
   takes exactly the settled energy, so it is neither dispatched nor refused,
   and no day can become infeasible through it;
5. its price, :func:`settlement_price_cny_per_mwh`: the delivery-weighted mean
   of the hour's grid price plus the premium. Because the delivery is fixed,
   that one number makes the bill exact: green energy costs what grid energy
   would have cost in its hour, plus the premium.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np


def delivery_profile_mw(monthly_mwh: float, expected_day_mw: np.ndarray, expected_month_mwh: float) -> np.ndarray:
    """The contract's delivery on the day [MW per step]: the month's volume in the generator's expected shape.

    ``expected_day_mw`` is the generator's expected output of the day [MW per
    step] and ``expected_month_mwh`` its expected output over the whole month [MWh].
    """
    day = np.asarray(expected_day_mw, dtype=float)
    if expected_month_mwh <= 0:
        return np.zeros_like(day)
    return monthly_mwh * day / expected_month_mwh


def _series(value: Any, steps: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(value, dtype=float), (steps,)).astype(float)


def import_floor_mw(assets: Iterable[Mapping[str, Any]], steps: int) -> np.ndarray:
    """The least net import [MW per step] the district draws whatever the dispatch (never below 0).

    Over canonical asset dicts: ``load`` demand, plus ``curtailable_load``
    demand less its largest reduction, less ``pv`` availability, less each
    battery's discharge power; flexible, shiftable and thermal loads may be 0.
    """
    floor = np.zeros(steps)
    for a in assets:
        kind = a.get("type")
        if kind == "load":
            floor += _series(a["demand_mw"], steps)
        elif kind == "curtailable_load":
            demand = _series(a["demand_mw"], steps)
            floor += demand - np.minimum(_series(a["max_reduction_mw"], steps), demand)
        elif kind == "pv":
            floor -= _series(a["available_mw"], steps)
        elif kind == "battery":
            floor -= float(a.get("discharge_power_mw") or a["power_mw"])
    return np.maximum(floor, 0.0)


def settled_mw(
    generation_mw: Sequence[np.ndarray], contract_mw: Sequence[np.ndarray], floor_mw: np.ndarray
) -> list[np.ndarray]:
    """Each contract's settled energy [MW per step]: min(generation, contract), all scaled down where their
    sum is above the consumption ``floor_mw`` they are settled against."""
    wanted = [np.minimum(np.asarray(g, float), np.asarray(c, float)) for g, c in zip(generation_mw, contract_mw, strict=True)]
    if not wanted:
        return []
    total = np.sum(wanted, axis=0)
    scale = np.where(total > floor_mw, np.divide(floor_mw, total, out=np.ones_like(total), where=total > 0), 1.0)
    return [np.maximum(w * scale, 0.0) for w in wanted]


def settlement_price_cny_per_mwh(buy_cny_per_mwh: np.ndarray, premium_cny_per_mwh: float, settled: np.ndarray) -> float:
    """The contract's price [CNY/MWh]: the mean of (the hour's grid price + the premium) weighted by the delivery.

    With no delivery, the day's mean grid price plus the premium.
    """
    buy, g = np.asarray(buy_cny_per_mwh, dtype=float), np.asarray(settled, dtype=float)
    if g.sum() <= 0:
        return float(buy.mean() + premium_cny_per_mwh)
    return float((buy * g).sum() / g.sum() + premium_cny_per_mwh)
