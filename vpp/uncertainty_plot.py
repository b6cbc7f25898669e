"""The chart of a stochastic day (``scenarios.png``): the plan with the scenario fan, and what it is worth.

Three panels, in local time, legends beside the data:

1. what is uncertain: PV available and the district load of every scenario
   (line weight by probability) around the forecast the case was made from;
2. the plan: the net import of every scenario under the stochastic plan, its
   probability-weighted mean and its 10–90 % band, the demand-response windows
   (shaded) with the reduction target where the plan joins;
3. the cost of each scenario under the stochastic plan, the expected-value
   plan and perfect information (wait-and-see), with the expected cost, the
   CVaR, VSS and EVPI written beside them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from vpp.palette import colour  # noqa: E402
from vpp.plot import save_figure  # noqa: E402
from vpp.uncertainty import scenario_series, weighted_quantile  # noqa: E402

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from vpp.results import DispatchResult


def plot_scenarios(result: DispatchResult, path: str | Path) -> Path:
    """Draw the stochastic day and save it as a PNG at ``path``."""
    return save_figure(scenarios_figure(result), path)


def scenarios_figure(result: DispatchResult) -> Figure:
    """The stochastic day's figure (module docstring); the caller saves and closes it."""
    case, s = result.case, scenario_series(result)
    ts = case.timestamps.tz_localize(None)
    step = case.step_minutes / 1440
    x = np.append(mdates.date2num(ts), mdates.date2num(ts[-1]) + step)
    p = s["probability"]
    alpha = 0.15 + 0.6 * p / p.max()

    def stairs(values: np.ndarray) -> np.ndarray:
        return np.append(values, values[-1])

    fig, axes = plt.subplots(3, 1, figsize=(13, 11), height_ratios=[1.6, 2, 1.6], layout="constrained")
    beside = {"loc": "upper left", "bbox_to_anchor": (1.01, 1.0), "fontsize": 8, "frameon": False, "borderaxespad": 0}

    ax = axes[0]
    for i in range(len(p)):
        ax.step(x, stairs(s["pv_mw"][i]), where="post", color=colour("pv_available"), lw=0.8, alpha=alpha[i],
                label="PV available, a scenario" if i == 0 else None)
        ax.step(x, stairs(s["load_mw"][i]), where="post", color=colour("load"), lw=0.8, alpha=alpha[i],
                label="district load, a scenario" if i == 0 else None)
    ax.step(x, stairs(s["forecast_pv_mw"]), where="post", color="black", lw=1.2, ls="--", label="the forecast")
    ax.step(x, stairs(s["forecast_load_mw"]), where="post", color="black", lw=1.2, ls="--")
    ax.set_ylabel("MW")
    ax.set_title(f"{case.name}: {len(p)} scenarios of PV and load "
                 f"(line weight: probability){_drawn(case)}", fontsize=10, loc="left")
    ax.legend(**beside)

    ax = axes[1]
    net = s["net_import_mw"]
    for i in range(len(p)):
        ax.step(x, stairs(net[i]), where="post", color=colour("grid"), lw=0.8, alpha=alpha[i],
                label="net import, a scenario" if i == 0 else None)
    lo, hi = weighted_quantile(net, p, 0.1), weighted_quantile(net, p, 0.9)
    ax.fill_between(x, stairs(lo), stairs(hi), step="post", color=colour("grid"), alpha=0.25, lw=0,
                    label="10–90 % of the probability")
    ax.step(x, stairs(p @ net), where="post", color="black", lw=1.6, label="expected net import")
    for ev in case.demand_response:
        x0, x1 = x[ev.start_step], x[ev.end_step]
        for a in axes[:2]:
            a.axvspan(x0, x1, color=colour("demand_response"), alpha=0.15, lw=0)
        joined = next((e["joined"] for e in result.summary.get("demand_response") or [] if e["id"] == ev.id), False)
        if joined:
            base = case.series(ev.baseline_mw)[ev.start_step : ev.end_step]
            sign = 1.0 if ev.kind == "valley_filling" else -1.0
            ax.step(x[ev.start_step : ev.end_step + 1], stairs(base + sign * ev.amount_mw), where="post",
                    color=colour("demand_response"), lw=2, label=f"{ev.id}: target (joined)")
    ax.axhline(0, color="black", lw=0.5)
    ax.set_ylabel("MW")
    ax.set_title("the stochastic plan: one set of day-ahead decisions, each scenario's response", fontsize=10,
                 loc="left")
    ax.legend(**beside)
    for a in axes[:2]:
        a.xaxis.set_major_locator(mdates.HourLocator(byhour=range(0, 24, 3)))
        a.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
        a.set_xlim(x[0], x[-1])

    _costs(axes[2], result, s)
    return fig


def _drawn(case: Any) -> str:
    meta = (case.meta or {}).get("scenarios") or {}
    return f", kept by k-medoids out of {meta['drawn']} drawn" if meta.get("drawn") else ""


def _worth(name: str, value: float | None, bounds: list[float | None] | None, settled: bool) -> str:
    """``VSS 4.1 k CNY``, with its range where the solves' gaps leave it wide (``EVPI 0.0 k CNY (0.0–2.6)``)."""
    if value is None:
        return f"{name} unbounded"
    text = f"{name} {value / 1e3:,.1f} k CNY"
    if not settled and bounds and None not in bounds:
        text += f" ({bounds[0] / 1e3:,.1f}–{bounds[1] / 1e3:,.1f} within the gaps)"
    return text


def _costs(ax: Any, result: DispatchResult, s: dict[str, Any]) -> None:
    u = result.summary.get("uncertainty")
    ids = s["ids"]
    k = np.arange(len(ids))
    costs = {sc["id"]: sc["cost_cny"] for sc in result.summary.get("scenarios") or []}
    ax.bar(k, [costs[i] / 1e3 for i in ids], width=0.6, color=colour("grid"), label="stochastic plan")
    lines = [f"expected cost {result.summary['expected_cost_cny'] / 1e3:,.1f} k CNY"]
    if u:
        rows = {r["id"]: r for r in u["scenarios"]}
        if u["vss_cny"] is not None:
            ax.scatter(k, [rows[i]["expected_value_plan_cny"] / 1e3 for i in ids], marker="_", s=300, lw=2,
                       color="#d62728", zorder=3, label="expected-value plan")
        ax.scatter(k, [rows[i]["wait_and_see_cny"] / 1e3 for i in ids], marker="o", s=14, color="black", zorder=3,
                   label="perfect information")
        dist = u["cost_distribution"]
        ax.axhline(dist["stochastic_plan"]["cvar_cny"] / 1e3, color=colour("unserved"), lw=1, ls=":",
                   label=f"CVaR at {dist['beta']:g}")
        settled = u.get("settled") or {}
        lines += [_worth("VSS", u["vss_cny"], u.get("vss_range_cny"), settled.get("vss", True)),
                  _worth("EVPI", u["evpi_cny"], u.get("evpi_range_cny"), settled.get("evpi", True)),
                  f"CVaR {dist['stochastic_plan']['cvar_cny'] / 1e3:,.1f} k CNY"]
    ax.axhline(result.summary["expected_cost_cny"] / 1e3, color="black", lw=1, label="expected cost")
    values = [costs[i] / 1e3 for i in ids]
    span = max(values) - min(values)
    ax.set_ylim(min(values) - 0.3 * span - 1, max(values) + 0.3 * span + 1)
    ax.set_xticks(k, [f"{i}\n{p:.2f}" for i, p in zip(ids, s["probability"], strict=True)], fontsize=7)
    ax.set_xlabel("scenario (least net load first) and its probability")
    ax.set_ylabel("cost [k CNY]")
    ax.set_title("the day's cost in each scenario: " + ", ".join(lines), fontsize=10, loc="left")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False, borderaxespad=0)
