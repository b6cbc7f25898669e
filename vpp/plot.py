"""The chart of a dispatched day (``dispatch.png``).

Three panels over the day, in local time:

1. supply stacked above zero (PV used, battery discharge, grid energy, green
   purchases, unserved) and demand stacked below zero (fixed, curtailable,
   shiftable and flexible loads, chillers/heaters, battery charge, export),
   with PV availability dotted and demand-response windows shaded;
2. storage levels as fractions of capacity (batteries and thermal stores);
3. the grid buy (and sell) price.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

if TYPE_CHECKING:
    from vpp.results import DispatchResult

_SUPPLY = [
    ("PV used", "#f4b400"),
    ("battery discharge", "#0f9d58"),
    ("grid energy", "#7f8c8d"),
    ("green purchases", "#66bb6a"),
    ("unserved", "#d62728"),
]
_DEMAND = {
    "load": ("fixed load", "#4e79a7"),
    "curtailable_load": ("curtailable load", "#76b7b2"),
    "shiftable_load": ("shiftable load", "#9c755f"),
    "flexible_load": ("EV / flexible load", "#b07aa1"),
    "thermal_storage": ("chillers / heaters", "#17becf"),
}


def plot_dispatch(result: DispatchResult, path: str | Path) -> Path:
    """Draw the day and save it as a PNG at ``path``."""
    case, sol = result.case, result.solution
    ts = case.timestamps.tz_localize(None)  # local wall-clock time on the axis
    step = np.diff(mdates.date2num(ts)).mean() if case.steps > 1 else case.step_minutes / 1440
    x = np.append(mdates.date2num(ts), mdates.date2num(ts[-1]) + step)

    def stairs(values: np.ndarray) -> np.ndarray:
        return np.append(values, values[-1])

    def total(kind: str, quantity: str) -> np.ndarray:
        out = np.zeros(case.steps)
        for a in case.assets:
            if a.type == kind:
                out += sol.assets[a.id][quantity]
        return out

    supply = [
        total("pv", "power_mw"),
        total("battery", "discharge_mw"),
        sol.import_mw - sol.green_mw,
        sol.green_mw,
        sum(sol.unserved_mw.values(), np.zeros(case.steps)),
    ]
    demand = [(label, color, total(kind, "consumption_mw")) for kind, (label, color) in _DEMAND.items()]
    demand += [("battery charge", "#1b5e20", total("battery", "charge_mw")), ("export", "#34495e", sol.export_mw)]

    fig, axes = plt.subplots(3, 1, figsize=(12, 10), sharex=True, height_ratios=[3, 1.3, 1.3])
    ax = axes[0]
    base = np.zeros(case.steps)
    for (label, color), values in zip(_SUPPLY, supply, strict=True):
        if np.abs(values).max(initial=0) > 1e-6:
            ax.fill_between(x, stairs(base), stairs(base + values), step="post", color=color, label=label, lw=0)
            base = base + values
    base = np.zeros(case.steps)
    for label, color, values in demand:
        if np.abs(values).max(initial=0) > 1e-6:
            ax.fill_between(x, stairs(base), stairs(base - values), step="post", color=color, label=label, lw=0, alpha=0.85)
            base = base - values
    pv_avail = total("pv", "available_mw")
    if pv_avail.max(initial=0) > 0:
        ax.step(x, stairs(pv_avail), where="post", color="#e37400", ls=":", lw=1.2, label="PV available")
    ax.axhline(0, color="black", lw=0.6)
    ax.set_ylabel("supply (+) / demand (−) [MW]")
    ax.legend(loc="upper left", ncol=4, fontsize=8, framealpha=0.9)
    ax.set_title(f"{case.name} — {case.start:%Y-%m-%d} — {result.status}, {result.objective_cny:,.0f} CNY")

    ax = axes[1]
    for a in case.assets:
        if a.type == "battery":
            ax.step(x, stairs(100 * sol.assets[a.id]["soc_fraction"]), where="post", label=a.id, lw=1.3)
        elif a.type == "thermal_storage" and a.capacity_mwh_th > 0:
            level = 100 * sol.assets[a.id]["level_mwh_th"] / a.capacity_mwh_th
            ax.step(x, stairs(level), where="post", label=a.id, lw=1.3, ls="--")
    ax.set_ylabel("storage level [%]")
    ax.set_ylim(0, 100)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left", ncol=3, fontsize=8)

    ax = axes[2]
    ax.step(x, stairs(case.series(case.grid.buy_cny_per_mwh)), where="post", color="#c0392b", label="buy")
    sell = case.series(case.grid.sell_cny_per_mwh)
    if np.abs(sell).max() > 0:
        ax.step(x, stairs(sell), where="post", color="#2980b9", label="sell")
    ax.set_ylabel("price [CNY/MWh]")
    ax.legend(loc="upper left", fontsize=8)

    for ev in case.demand_response:
        joined = bool(sol.events[ev.id]["joined"][0])
        for i, a in enumerate(axes):
            a.axvspan(x[ev.start_step], x[ev.end_step], color="#9b59b6", alpha=0.12 if joined else 0.05,
                      label=(f"DR {ev.id} ({'joined' if joined else 'not joined'})" if i == 2 else None))
    axes[2].legend(loc="upper left", fontsize=8)
    hours = max(1, round(case.steps * case.step_minutes / 60 / 8))
    axes[2].xaxis.set_major_locator(mdates.HourLocator(byhour=range(0, 24, hours) if hours < 24 else [0]))
    axes[2].xaxis.set_major_formatter(mdates.DateFormatter("%H:%M" if hours < 24 else "%m-%d"))
    axes[2].set_xlabel(f"local time (UTC{case.start:%z})")
    for a in axes:
        a.grid(alpha=0.3)
        a.set_xlim(x[0], x[-1])
    fig.tight_layout()
    p = Path(path)
    fig.savefig(p, dpi=110)
    plt.close(fig)
    return p
