"""The sizing plots: value against size, NPV against size, the tornado, the monthly cost stack, a typical day's dispatch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def _save(fig: Any, path: str | Path) -> Path:
    """Lay out, write at 110 dpi and close ``fig``; the path written."""
    fig.tight_layout()
    p = Path(path)
    fig.savefig(p, dpi=110)
    plt.close(fig)
    return p


def plot_value_heatmap(points: pd.DataFrame, path: str | Path, recommended: tuple[float, float] | None = None) -> Path:
    """Net annual benefit (operating saving − annualised capital) [M CNY/yr] over total power × energy."""
    grid = points[points["point"] != 0]
    powers = sorted(grid["power_mw"].unique())
    energies = sorted(grid["energy_mwh"].unique())
    z = np.full((len(powers), len(energies)), np.nan)
    for _, r in grid.iterrows():
        if r["days_failed"] == 0:
            z[powers.index(r["power_mw"]), energies.index(r["energy_mwh"])] = r["net_benefit_cny_per_year"] / 1e6
    fig, ax = plt.subplots(figsize=(max(6.5, 1.6 + 1.1 * len(energies)), max(5.0, 2.2 + 0.8 * len(powers))))
    lim = np.nanmax(np.abs(z)) if np.isfinite(z).any() else 1.0
    im = ax.imshow(z, origin="lower", cmap="RdYlGn", vmin=-lim, vmax=lim, aspect="auto")
    for i in range(len(powers)):
        for j in range(len(energies)):
            if np.isfinite(z[i, j]):
                ax.text(j, i, f"{z[i, j]:.2f}", ha="center", va="center", fontsize=8)
            else:
                ax.text(j, i, "failed", ha="center", va="center", fontsize=7, color="grey")
    best = grid.loc[grid["total_cost_cny_per_year"].idxmin()] if len(grid) else None
    if best is not None:
        ax.plot(energies.index(best["energy_mwh"]), powers.index(best["power_mw"]), "s", mfc="none", mec="black", ms=30, mew=1.5)
    if recommended and recommended[0] > 0:
        ax.plot(np.interp(recommended[1], energies, range(len(energies))) + 0.32, np.interp(recommended[0], powers, range(len(powers))) + 0.28,
                "k*", ms=9)
    ax.set_xticks(range(len(energies)), [f"{e:.1f}" for e in energies], rotation=45)
    ax.set_yticks(range(len(powers)), [f"{p:.1f}" for p in powers])
    ax.set_xlabel("storage energy, all sites [MWh]")
    ax.set_ylabel("storage power, all sites [MW]")
    ax.set_title("net annual benefit against no storage [M CNY/yr]\n(operating saving − annualised capital and O&M)", fontsize=10)
    fig.colorbar(im, ax=ax, label="M CNY/yr")
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], marker="s", ls="", mfc="none", mec="black", ms=9, label="best of the sweep")]
    if recommended and recommended[0] > 0:
        handles.append(Line2D([], [], marker="*", ls="", color="black", ms=9, label="co-optimised / recommended (star by its cell)"))
    ax.legend(handles=handles, loc="upper center", fontsize=7, ncol=2, bbox_to_anchor=(0.5, -0.22))
    return _save(fig, path)


_STACK = [
    ("cost_energy_cny", "grid energy", "#7f8c8d"),
    ("cost_green_energy_cny", "green purchases", "#66bb6a"),
    ("cost_degradation_cny", "battery wear", "#0f9d58"),
    ("cost_load_curtailment_cny", "load curtailment", "#76b7b2"),
    ("monthly_demand_charge_cny", "demand charge", "#8e44ad"),
    ("cost_dr_penalty_cny", "DR penalty", "#e67e22"),
    ("cost_unserved_cny", "unserved", "#d62728"),
]


def plot_monthly(monthly: pd.DataFrame, labels: dict[int, str], path: str | Path, title: str) -> Path:
    """Monthly cost stacks, side by side per month: without storage (point 0) and with the recommended size."""
    months = sorted(monthly["month"].unique())
    pts = sorted(monthly["point"].unique())
    width = 0.8 / max(len(pts), 1)
    fig, ax = plt.subplots(figsize=(13, 5.5))
    x = np.arange(len(months))
    seen: set[str] = set()

    def once(label: str) -> str | None:
        if label in seen:
            return None
        seen.add(label)
        return label

    for k, p in enumerate(pts):
        m = monthly[monthly["point"] == p].set_index("month").reindex(months).fillna(0.0)
        base = np.zeros(len(months))
        for col, label, color in _STACK:
            if col not in m:
                continue
            v = m[col].to_numpy() / 1e6
            if np.abs(v).max(initial=0) < 1e-9:
                continue
            ax.bar(x + (k - (len(pts) - 1) / 2) * width, v, width, bottom=base, color=color, alpha=1.0 if k else 0.55,
                   label=once(label), edgecolor="white", lw=0.3)
            base += v
        rev = m.get("cost_dr_revenue_cny")
        if rev is not None and np.abs(rev.to_numpy()).max(initial=0) > 0:
            ax.bar(x + (k - (len(pts) - 1) / 2) * width, rev.to_numpy() / 1e6, width, color="#9b59b6", alpha=1.0 if k else 0.55,
                   label=once("DR revenue"))
        ax.plot(x + (k - (len(pts) - 1) / 2) * width, m["total_cny"].to_numpy() / 1e6, "k_", ms=14,
                label=once("total"))
    ax.set_xticks(x, months, rotation=45)
    ax.axhline(0, color="black", lw=0.6)
    ax.set_ylabel("cost [M CNY per month]")
    order = ", ".join(f"{'left, pale' if i == 0 else 'right, solid'}: {labels.get(p, str(p))}" for i, p in enumerate(pts))
    ax.set_title(f"{title}\neach month: {order}", fontsize=10)
    ax.legend(loc="upper left", ncol=4, fontsize=8, bbox_to_anchor=(0, -0.15))
    ax.grid(alpha=0.3, axis="y")
    return _save(fig, path)


def plot_typical_day(result: Any, path: str | Path, weight: float | None = None) -> Path:
    """A typical day's dispatch at the recommended size (the product's day chart)."""
    from vpp.plot import plot_dispatch

    return plot_dispatch(result, path)


def plot_npv_curve(curve: list[dict[str, Any]], path: str | Path, recommended: dict[str, Any] | None = None,
                   plan: dict[str, Any] | None = None, over: str = "typical days") -> Path:
    """NPV [M CNY] against total energy, one line per total power of the sweep; the plan and the recommendation marked.

    ``over``: what the sweep (the lines, and the plan's filled diamond) was simulated over. The
    recommendation is marked at its own economics basis (``economics_basis``: the full year when
    it was checked), and the plan's full-year figures, when there are any, as a hollow diamond.
    """
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    grid = [c for c in curve if c["on_grid"] and c["npv_cny"] is not None]
    for power in sorted({c["power_mw"] for c in grid}):
        row = sorted((c for c in grid if c["power_mw"] == power), key=lambda c: c["energy_mwh"])
        ax.plot([c["energy_mwh"] for c in row], [c["npv_cny"] / 1e6 for c in row], "o-", ms=4, label=f"{power:g} MW")
    beyond = [c for c in grid if not c.get("within_site_limits", True)]
    if beyond:
        ax.plot([c["energy_mwh"] for c in beyond], [c["npv_cny"] / 1e6 for c in beyond], "o", ms=7, mfc="white",
                mec="dimgrey", label="beyond a site's limit (not a candidate)")
    ax.axhline(0.0, color="grey", lw=0.8)

    def terms(d: dict[str, Any]) -> str:
        irr = "–" if d.get("irr") is None else f"{100 * d['irr']:.1f} %"
        pb = "–" if d.get("simple_payback_years") is None else f"{d['simple_payback_years']:.1f} yr"
        return f"NPV {d['npv_cny'] / 1e6:.1f} M, IRR {irr}, payback {pb}"

    if plan and plan.get("npv_cny") is not None:
        ax.plot(plan["energy_mwh"], plan["npv_cny"] / 1e6, "D", color="black", ms=8,
                label=f"the plan {plan['power_mw']:g} MW / {plan['energy_mwh']:g} MWh, {over}: {terms(plan)}")
        full = plan.get("full_year")
        if full and full.get("npv_cny") is not None:
            ax.plot(full["energy_mwh"], full["npv_cny"] / 1e6, "D", mfc="white", mec="black", ms=8,
                    label=f"the plan, full year: {terms(full)}")
    if recommended and recommended.get("npv_cny") is not None and recommended.get("energy_mwh"):
        basis = "full year" if "full-year" in str(recommended.get("economics_basis", "")) else over
        ax.plot(recommended["energy_mwh"], recommended["npv_cny"] / 1e6, "*", color="crimson", ms=14,
                label=f"recommended {recommended['power_mw']:g} MW / {recommended['energy_mwh']:g} MWh, {basis}: "
                      f"{terms(recommended)}")
    ax.set_xlabel("storage energy, all sites [MWh]")
    ax.set_ylabel("NPV [M CNY]")
    ax.set_title(f"NPV against size (lines: the sweep's total power, simulated over the {over})", fontsize=10)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def plot_tornado(tornado: dict[str, Any], path: str | Path) -> Path:
    """NPV at the recommended size with each input at its low and high value [M CNY], widest swing on top."""
    bars = list(reversed(tornado["bars"]))
    base = tornado["npv_cny"] / 1e6
    fig, ax = plt.subplots(figsize=(7.5, 0.6 * len(bars) + 1.6))
    for k, b in enumerate(bars):
        lo, hi = b["npv_low_cny"] / 1e6, b["npv_high_cny"] / 1e6
        ax.barh(k, lo - base, left=base, color="#c0392b", height=0.6)
        ax.barh(k, hi - base, left=base, color="#27ae60", height=0.6)
        ax.text(min(lo, hi), k, f"{b['low'] if lo < hi else b['high']} ", ha="right", va="center", fontsize=7)
        ax.text(max(lo, hi), k, f" {b['high'] if lo < hi else b['low']}", ha="left", va="center", fontsize=7)
    ax.axvline(base, color="black", lw=1)
    ax.axvline(0.0, color="grey", lw=0.8, ls="--")
    ax.set_yticks(range(len(bars)), [b["input"].replace("_", " ") for b in bars])
    ax.set_xlabel("NPV at the recommended size [M CNY] (red: the low value, green: the high value)")
    ax.set_title(f"what moves the NPV (base {base:.1f} M CNY)", fontsize=10)
    ax.margins(x=0.25)
    return _save(fig, path)


_SOURCES = [
    ("time_of_use_energy", "time-of-use energy"),
    ("maximum_demand", "maximum-demand charge"),
    ("regulation", "frequency regulation"),
    ("demand_response", "demand response"),
    ("green_contracts", "green contracts"),
    ("load_curtailment", "load curtailment"),
    ("degradation", "battery degradation (case)"),
    ("other", "other"),
]


def plot_saving_by_source(by_source: dict[str, Any], path: str | Path) -> Path:
    """The annual saving line by line of the bill [M CNY/yr], one bar per size (the recommended, the plan), wear apart."""
    sizes = [(k, v) for k, v in by_source.items() if v]
    rows = [(key, label) for key, label in _SOURCES
            if any(abs(v["lines"][key]["cny_per_year"]) >= 1e3 for _, v in sizes)] + [("wear", "wear (augmentation)")]
    fig, ax = plt.subplots(figsize=(7.5, 0.5 * len(rows) * max(len(sizes), 1) + 1.8))
    height = 0.8 / max(len(sizes), 1)
    colours = ["#c0392b", "#2c3e50", "#7f8c8d"]
    y = np.arange(len(rows))[::-1]
    for k, (name, v) in enumerate(sizes):
        values = [(-v["wear_cny_per_year"] if key == "wear" else v["lines"][key]["cny_per_year"]) / 1e6 for key, _ in rows]
        pos = y + (len(sizes) - 1) / 2 * height - k * height
        ax.barh(pos, values, height, color=colours[k % len(colours)],
                label=f"{name} {v['power_mw']:g} MW / {v['energy_mwh']:g} MWh: {v['saving_cny_per_year'] / 1e6:.1f} M CNY/yr "
                      f"({v['simulated_over']})")
        for yy, val in zip(pos, values, strict=True):
            ax.text(val, yy, f" {val:.1f} " if val >= 0 else f"{val:.1f} ", va="center", ha="left" if val >= 0 else "right", fontsize=7)
    ax.axvline(0.0, color="black", lw=0.8)
    ax.set_yticks(y, [label for _, label in rows])
    ax.set_xlabel("saving against no storage [M CNY a year]")
    ax.set_title("what the storage saves, line by line of the bill\n(wear: the augmentation price of a MWh discharged, "
                 "not a bill line)", fontsize=10)
    ax.margins(x=0.2)
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(alpha=0.3, axis="x")
    return _save(fig, path)
