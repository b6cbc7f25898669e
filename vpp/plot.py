"""The chart of a dispatched day (``dispatch.png``, and the sizing study's ``typical_day.png``).

Three panels over the day (four when batteries offer frequency regulation),
in local time, each with its legend beside it (never over the data):

1. supply stacked above zero (PV used, battery discharge, grid import, green
   contracts, unserved) and demand stacked below zero (fixed, curtailable,
   shiftable and flexible loads, chillers/heaters, battery charge, export),
   with PV availability dotted;
2. (with regulation) the regulating batteries' net power (discharge positive)
   with the regulation band offered around it, ± the aggregate offer, and
   their power limits: the band must stay within them (model.md §5.4);
3. storage levels [% of capacity]: batteries solid, thermal stores dashed;
4. the grid buy (and sell) price.

Demand-response windows are shaded on every panel. Colours and labels come
from :mod:`vpp.palette`, as on the service's page.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from vpp.palette import colour, label, storage_colours  # noqa: E402
from vpp.regulation import regulating_batteries  # noqa: E402

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from vpp.results import DispatchResult

SUPPLY = ("pv", "battery_discharge", "grid", "green", "unserved")
DEMAND_TYPES = ("load", "curtailable_load", "shiftable_load", "flexible_load", "thermal_storage")


def save_figure(fig: Figure, path: str | Path) -> Path:
    """Save ``fig`` as a PNG at ``path`` (110 dpi, as every chart of the product) and close it."""
    p = Path(path)
    fig.savefig(p, dpi=110)
    plt.close(fig)
    return p


def plot_dispatch(result: DispatchResult, path: str | Path) -> Path:
    """Draw the day and save it as a PNG at ``path``."""
    return save_figure(dispatch_figure(result), path)


def dispatch_figure(result: DispatchResult) -> Figure:
    """The day's figure (three or four panels, legends beside them); the caller saves and closes it."""
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

    supply = dict(zip(SUPPLY, (
        total("pv", "power_mw"),
        total("battery", "discharge_mw"),
        sol.import_mw - sol.green_mw,
        sol.green_mw,
        sum(sol.unserved_mw.values(), np.zeros(case.steps)),
    ), strict=True))
    demand = {kind: total(kind, "consumption_mw") for kind in DEMAND_TYPES}
    demand |= {"battery_charge": total("battery", "charge_mw"), "export": sol.export_mw}

    regulating = regulating_batteries(case)
    band = sum((sol.of(b.id, b.type)["regulation_mw"] for b in regulating), np.zeros(case.steps))
    with_band = bool(regulating) and float(np.max(band, initial=0.0)) > 1e-6
    ratios = [3, 1.4, 1.4, 1.2] if with_band else [3, 1.4, 1.2]
    fig, axes = plt.subplots(len(ratios), 1, figsize=(13, 10 + 2.2 * with_band), sharex=True, height_ratios=ratios,
                             layout="constrained")
    beside = {"loc": "upper left", "bbox_to_anchor": (1.01, 1.0), "fontsize": 8, "frameon": False, "borderaxespad": 0}

    ax = axes[0]
    base = np.zeros(case.steps)
    for role, values in supply.items():
        if np.abs(values).max(initial=0) > 1e-6:
            ax.fill_between(x, stairs(base), stairs(base + values), step="post", color=colour(role), label=label(role), lw=0)
            base = base + values
    base = np.zeros(case.steps)
    for role, values in demand.items():
        if np.abs(values).max(initial=0) > 1e-6:
            ax.fill_between(x, stairs(base), stairs(base - values), step="post", color=colour(role), label=label(role), lw=0)
            base = base - values
    pv_avail = total("pv", "available_mw")
    if pv_avail.max(initial=0) > 0:
        ax.step(x, stairs(pv_avail), where="post", color=colour("pv_available"), ls=":", lw=1.4, label=label("pv_available"))
    ax.axhline(0, color="black", lw=0.6)
    ax.set_ylabel("supply (+) / demand (−) [MW]")
    ax.set_title(f"{case.name} — {case.start:%Y-%m-%d} — {result.status}, {result.objective_cny:,.0f} CNY")

    if with_band:
        ax = axes[1]
        net = sum((sol.of(b.id, b.type)["injection_mw"] for b in regulating), np.zeros(case.steps))
        ax.fill_between(x, stairs(net - band), stairs(net + band), step="post", color=colour("regulation"), alpha=0.3,
                        lw=0, label=label("regulation"))
        ax.step(x, stairs(net), where="post", color=colour("battery_net"), lw=1.4, label=label("battery_net"))
        up = sum(b.discharge_mw for b in regulating)
        down = sum(b.charge_mw for b in regulating)
        ax.axhline(up, color=colour("power_limit"), ls="--", lw=1, label=label("power_limit"))
        ax.axhline(-down, color=colour("power_limit"), ls="--", lw=1)
        ax.axhline(0, color="black", lw=0.6)
        ax.set_ylim(-1.15 * down, 1.15 * up)
        ax.set_ylabel("regulating batteries\n[MW, + discharge]")

    ax = axes[-2]
    colours = storage_colours((a.id, a.type) for a in case.assets)
    for a in case.assets:
        if a.type == "battery":
            ax.step(x, stairs(100 * sol.assets[a.id]["soc_fraction"]), where="post", color=colours[a.id], label=a.id, lw=1.4)
        elif a.type == "thermal_storage" and a.capacity_mwh_th > 0:
            level = 100 * sol.assets[a.id]["level_mwh_th"] / a.capacity_mwh_th
            ax.step(x, stairs(level), where="post", color=colours[a.id], label=f"{a.id} (thermal)", lw=1.6, ls="--")
    ax.set_ylabel("storage level\n[% of capacity]")
    ax.set_ylim(0, 105)

    ax = axes[-1]
    ax.step(x, stairs(case.series(case.grid.buy_cny_per_mwh)), where="post", color=colour("buy"), label=label("buy"))
    sell = case.series(case.grid.sell_cny_per_mwh)
    if np.abs(sell).max() > 0:
        ax.step(x, stairs(sell), where="post", color=colour("sell"), label=label("sell"))
    ax.set_ylabel("price [CNY/MWh]")

    for ev in case.demand_response:
        joined = bool(sol.events[ev.id]["joined"][0])
        for i, a in enumerate(axes):
            a.axvspan(x[ev.start_step], x[ev.end_step], color=colour("demand_response"), alpha=0.18 if joined else 0.07, lw=0,
                      label=(f"DR {ev.id} ({'joined' if joined else 'not joined'})" if i == 0 else None))
    for a in axes:
        if a.get_legend_handles_labels()[0]:
            a.legend(**beside)
        a.grid(alpha=0.3)
        a.set_xlim(x[0], x[-1])
    hours = max(1, round(case.steps * case.step_minutes / 60 / 8))
    axes[-1].xaxis.set_major_locator(mdates.HourLocator(byhour=range(0, 24, hours) if hours < 24 else [0]))
    axes[-1].xaxis.set_major_formatter(mdates.DateFormatter("%H:%M" if hours < 24 else "%m-%d"))
    axes[-1].set_xlabel(f"local time (UTC{case.start:%z})")
    return fig
