"""The sizing plots: value against size, the monthly cost stack, a typical day's dispatch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


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
    fig.tight_layout()
    p = Path(path)
    fig.savefig(p, dpi=110)
    plt.close(fig)
    return p


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
    fig.tight_layout()
    p = Path(path)
    fig.savefig(p, dpi=110)
    plt.close(fig)
    return p


def plot_typical_day(result: Any, path: str | Path, weight: float | None = None) -> Path:
    """A typical day's dispatch at the recommended size (the product's day chart)."""
    from vpp.plot import plot_dispatch

    return plot_dispatch(result, path)
