"""The cost–carbon front of a day (model.md §5.3): what the next tonne of CO2 would cost to avoid.

The front is traced on the day's *money* cost: every solve sets the case's carbon
price to 0 (a carbon price in the case would count the emissions twice), and the
carbon price is what the front reveals.

1. **Least cost**: the case solved as it is (carbon price 0): cost ``C₀``, emissions ``E₀``.
2. **Least emission**, lexicographically: first the emissions alone are made the
   cost, by a carbon price ``M`` so high that every other means of abatement is
   taken but shedding load is not (``M = 0.95 · (VOLL − highest buy price) ·
   min(1, least COP of a thermal store) / highest grid emission factor``
   [CNY/tCO2], below what unserved energy or heat costs per tonne it avoids;
   halved, up to :data:`HALVINGS` times, while that solve still leaves more
   energy or heat unserved than the least-cost one), giving ``E_min``; then the
   least cost at that level, a second solve with ``emissions_max_t = E_min``.
3. **Between**: ``N − 2`` solves with the cap ``emissions_max_t`` evenly spaced
   between ``E₀`` and ``E_min``.

Between consecutive points the **marginal abatement cost** is
``(C_{k+1} − C_k) / (E_k − E_{k+1})`` [CNY/tCO2]. Point k is the least-cost choice
at a carbon price p when it minimises ``C + p·E`` over the front: for p from
``max_{j: E_j > E_k} (C_k − C_j)/(E_j − E_k)`` (0 for the first point) to
``min_{j: E_j < E_k} (C_j − C_k)/(E_k − E_j)`` (no limit for the last); a point
whose range is empty lies above the front's lower convex hull (a mixed-integer
day can have such points) and is chosen at no carbon price.

Every point's files (``vpp dispatch``'s: ``case.json``, ``schedule.csv``, ``summary.json``)
are written under ``points/NN/`` so each can be checked and settled.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vpp.case import Case, load_case

#: M is this share of the carbon price at which shedding load would start to pay.
LEAST_EMISSION_MARGIN = 0.95
#: How many times M is halved at most while the emissions-as-the-cost solve still sheds load.
HALVINGS = 12


def least_emission_carbon_price(case: Case) -> float:
    """M [CNY/tCO2]: high enough that the emissions are the cost, below what shedding load saves per tonne.

    Unserved energy costs VOLL per MWh less the energy it does not buy, and avoids at most ``max
    emission factor`` t per MWh; unserved heat avoids ``factor / COP`` t per MWh_th. 0 when the grid
    emits nothing.
    """
    factor = float(np.max(case.series(case.grid.emission_t_per_mwh)))
    if factor <= 0:
        return 0.0
    cops = [a.cop for a in case.assets if a.type == "thermal_storage"]
    net = case.voll_cny_per_mwh - max(0.0, float(np.max(case.series(case.grid.buy_cny_per_mwh))))
    return LEAST_EMISSION_MARGIN * max(net, 0.01 * case.voll_cny_per_mwh) * min([1.0, *cops]) / factor


@dataclass(frozen=True)
class PointSpec:
    """One solve of the front: the case (JSON), its carbon price and cap, and where to write its files."""

    case_json: str
    index: int
    role: str  # "least cost", "capped", "least emission (emissions as the cost)", "least emission"
    carbon_price_cny_per_t: float
    emissions_max_t: float | None
    out_dir: str | None
    mip_gap: float
    time_limit_s: float


def solve_point(spec: PointSpec) -> dict[str, Any]:
    """Solve one point (one HiGHS thread); write its files when ``out_dir`` is set; cost [CNY] and emissions [tCO2]."""
    from models import SolveOptions
    from vpp.dispatch import solve_case
    from vpp.errors import SolverError
    from vpp.results import write_outputs

    t0 = time.perf_counter()
    data = json.loads(spec.case_json)
    data["carbon_price_cny_per_t"] = spec.carbon_price_cny_per_t
    if spec.emissions_max_t is None:
        data.pop("emissions_max_t", None)
    else:
        data["emissions_max_t"] = spec.emissions_max_t
    case = load_case(data)
    row: dict[str, Any] = {"point": spec.index, "role": spec.role, "emissions_cap_t": spec.emissions_max_t,
                           "carbon_price_in_solve_cny_per_t": spec.carbon_price_cny_per_t}
    try:
        result = solve_case(case, SolveOptions(mip_gap=spec.mip_gap, time_limit_s=spec.time_limit_s, threads=1))
    except SolverError as exc:
        return row | {"status": exc.status, "reason": str(exc), "cost_cny": None, "emissions_t": None,
                      "mip_gap": None, "seconds": time.perf_counter() - t0}
    s = result.summary
    money = float(result.objective_cny) - float(s["cost_cny"].get("carbon", 0.0))
    if spec.out_dir is not None:
        write_outputs(result, spec.out_dir, chart=False)
    return row | {"status": result.status, "cost_cny": money, "emissions_t": float(s["emissions_t"]),
                  "mip_gap": s["mip_gap"], "unserved_mwh": s["energy_mwh"]["unserved_mwh"],
                  "unserved_thermal_mwh_th": s["energy_mwh"]["unserved_thermal_mwh_th"],
                  "seconds": time.perf_counter() - t0, "files": spec.out_dir}


def _sheds_more(point: dict[str, Any], least_cost: dict[str, Any]) -> bool:
    """Whether a solve leaves more energy or heat unserved than the least-cost one (beyond 1e-6 MWh)."""
    return any(point[k] > least_cost[k] + 1e-6 for k in ("unserved_mwh", "unserved_thermal_mwh_th"))


def carbon_price_ranges(emissions_t: list[float], cost_cny: list[float]) -> list[tuple[float | None, float | None]]:
    """For each point, the carbon prices [CNY/tCO2] at which it is the least-cost choice (None, None: at none).

    The upper end of the last point (least emissions) is ``inf``.
    """
    out: list[tuple[float | None, float | None]] = []
    n = len(emissions_t)
    for k in range(n):
        lo, hi = 0.0, math.inf
        for j in range(n):
            de = emissions_t[j] - emissions_t[k]
            if abs(de) <= 1e-9 * max(1.0, abs(emissions_t[k])):
                if cost_cny[j] < cost_cny[k] - 1e-9 * max(1.0, abs(cost_cny[k])):
                    lo, hi = math.inf, -math.inf  # the same emissions for less: never chosen
                continue
            slope = (cost_cny[k] - cost_cny[j]) / de  # the price at which j and k cost the same
            if de > 0:  # j emits more: k wins above the price
                lo = max(lo, slope)
            else:  # j emits less: k wins below it
                hi = min(hi, slope)
        out.append((lo, hi) if lo <= hi + 1e-9 * max(1.0, abs(lo)) else (None, None))
    return out


@dataclass
class Front:
    """The points of the front (least cost first) and what was asked."""

    case_name: str
    start: str
    points: pd.DataFrame
    least_emission_price_cny_per_t: float
    case_carbon_price_cny_per_t: float
    runner: str
    seconds: float

    @property
    def monotone(self) -> bool:
        """Less emission never costs less (within the solves' gaps)."""
        c = self.points["cost_cny"].to_numpy()
        e = self.points["emissions_t"].to_numpy()
        order = np.argsort(-e, kind="stable")
        tol = 1e-6 * max(1.0, float(np.abs(c).max()))
        return bool(np.all(np.diff(c[order]) >= -tol))

    def to_dict(self) -> dict[str, Any]:
        from vpp.results import _clean

        return _clean({
            "case": self.case_name, "start": self.start,
            "method": "least emission: the emissions made the cost by a carbon price M, then the least cost at that "
                      "emission level (a second solve with emissions_max_t); the points between are solved with "
                      "emissions_max_t evenly spaced; every solve at carbon price 0 (the front is the money cost)",
            "least_emission_carbon_price_cny_per_t": self.least_emission_price_cny_per_t,
            "case_carbon_price_cny_per_t": self.case_carbon_price_cny_per_t,
            "monotone": self.monotone,
            "points": self.points.replace({np.nan: None}).to_dict(orient="records"),
            "runner": self.runner, "seconds": self.seconds,
        })


def cost_carbon_front(
    case: Case,
    points: int,
    out_dir: str | Path | None = None,
    pool: Any = None,
    *,
    mip_gap: float = 1e-6,
    time_limit_s: float = 60.0,
    progress: Callable[[int, int], None] | None = None,
) -> Front:
    """Solve the front's ``points`` (≥ 2) points, least cost to least emission (see the module docstring)."""
    from vpp.coalitions import Pool
    from vpp.errors import SolverError

    if points < 2:
        raise ValueError(f"points: expected at least 2 (the least-cost and the least-emission ends), got {points}")
    t0 = time.perf_counter()
    own = pool is None
    pool = pool or Pool("serial")
    base = json.loads(case.model_dump_json(exclude_none=True))
    base.pop("emissions_max_t", None)
    case_json = json.dumps(base)
    folder = (lambda k: None) if out_dir is None else (lambda k: str(Path(out_dir) / "points" / f"{k:02d}"))
    big_m = least_emission_carbon_price(case)
    try:
        if own:
            pool.__enter__()
        ends = pool.map(solve_point, [
            PointSpec(case_json, 0, "least cost", 0.0, None, folder(0), mip_gap, time_limit_s),
            PointSpec(case_json, -1, "emissions as the cost", big_m, None, None, mip_gap, time_limit_s),
        ])
        for _ in range(HALVINGS):
            if ends[1]["cost_cny"] is None or not _sheds_more(ends[1], ends[0]):
                break
            big_m /= 2
            ends[1] = solve_point(PointSpec(case_json, -1, "emissions as the cost", big_m, None, None, mip_gap,
                                            time_limit_s))
        for r in ends:
            if r["cost_cny"] is None:
                raise SolverError(f"no schedule for the {r['role']} solve: {r.get('reason', r['status'])}", status=r["status"])
        e0, e_min = ends[0]["emissions_t"], ends[1]["emissions_t"]
        e_min = min(e_min, e0)
        last = points - 1
        caps = [e0 - (e0 - e_min) * k / last for k in range(1, points)]
        caps[-1] = e_min
        specs = [PointSpec(case_json, k, "least emission" if k == last else "capped", 0.0,
                           cap + 1e-9 * max(1.0, cap), folder(k), mip_gap, time_limit_s)
                 for k, cap in enumerate(caps, start=1)]
        rest = pool.map(solve_point, specs, progress)
    finally:
        if own:
            pool.__exit__(None, None, None)
    rows = [ends[0], *rest]
    for r in rows:
        if r["cost_cny"] is None:
            raise SolverError(f"no schedule for point {r['point']} (cap {r['emissions_cap_t']} t): "
                              f"{r.get('reason', r['status'])}", status=r["status"])
    table = pd.DataFrame(rows)
    e, c = table["emissions_t"].tolist(), table["cost_cny"].tolist()
    mac = [None] + [((c[k] - c[k - 1]) / (e[k - 1] - e[k])) if e[k - 1] - e[k] > 1e-9 * max(1.0, e[k - 1]) else None
                    for k in range(1, len(rows))]
    table["abated_t"] = [e[0] - x for x in e]
    table["extra_cost_cny"] = [x - c[0] for x in c]
    table["marginal_abatement_cny_per_t"] = mac
    ranges = carbon_price_ranges(e, c)
    table["chosen_from_cny_per_t"] = [r[0] for r in ranges]
    table["chosen_to_cny_per_t"] = [r[1] for r in ranges]
    table["on_hull"] = [r[0] is not None for r in ranges]
    cols = ["point", "role", "emissions_cap_t", "emissions_t", "cost_cny", "abated_t", "extra_cost_cny",
            "marginal_abatement_cny_per_t", "chosen_from_cny_per_t", "chosen_to_cny_per_t", "on_hull", "status",
            "mip_gap", "unserved_mwh", "unserved_thermal_mwh_th", "seconds", "files"]
    table = table.reindex(columns=cols)
    return Front(case.name, case.start.isoformat(), table, big_m, case.carbon_price_cny_per_t,
                 pool.description, time.perf_counter() - t0)


def plot_front(front: Front, path: str | Path) -> Path:
    """front.png: cost against emissions with the points' carbon prices, and the marginal abatement cost."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = front.points
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(12, 4.6), gridspec_kw={"width_ratios": [1.3, 1]})
    ax.plot(t["emissions_t"], t["cost_cny"], "-", color="#8c9aa8", lw=1.2, zorder=1)
    hull = t["on_hull"].astype(bool)
    ax.scatter(t.loc[hull, "emissions_t"], t.loc[hull, "cost_cny"], color="#3cb44b", zorder=2, label="chosen at some carbon price")
    if (~hull).any():
        ax.scatter(t.loc[~hull, "emissions_t"], t.loc[~hull, "cost_cny"], color="#e53935", marker="x", zorder=2,
                   label="chosen at no carbon price")
    for _, r in t.iterrows():
        if r["on_hull"]:
            hi = r["chosen_to_cny_per_t"]
            text = f"{r['chosen_from_cny_per_t']:,.0f}–" + ("∞" if hi is None or not math.isfinite(hi) else f"{hi:,.0f}")
            ax.annotate(text, (r["emissions_t"], r["cost_cny"]), textcoords="offset points", xytext=(4, 5), fontsize=7)
    ax.set_xlabel("emissions [tCO2]")
    ax.set_ylabel("cost [CNY] (at carbon price 0)")
    ax.set_title(f"{front.case_name} {front.start[:10]}: cost–carbon front\n(labels: carbon price range [CNY/tCO2] "
                 "at which the point is chosen)", fontsize=9)
    ax.legend(fontsize=8, frameon=False)
    ax.invert_xaxis()
    mac = t["marginal_abatement_cny_per_t"].to_numpy(dtype=float)
    ab = t["abated_t"].to_numpy(dtype=float)
    for k in range(1, len(t)):
        if np.isfinite(mac[k]):
            bx.fill_between([ab[k - 1], ab[k]], [mac[k], mac[k]], color="#5b8ff9", alpha=0.8, step="post", lw=0)
    bx.set_xlabel("CO2 avoided against the least-cost point [t]")
    bx.set_ylabel("marginal abatement cost [CNY/tCO2]")
    bx.set_title("marginal abatement cost between points", fontsize=9)
    for a in (ax, bx):
        a.grid(alpha=0.3)
    fig.tight_layout()
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(p, dpi=120)
    plt.close(fig)
    return p


def write_front(front: Front, out_dir: str | Path, chart: bool = True) -> dict[str, Path]:
    """front.csv, front.json and front.png in ``out_dir``; their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"front.csv": out / "front.csv", "front.json": out / "front.json"}
    front.points.to_csv(paths["front.csv"], index=False)
    paths["front.json"].write_text(json.dumps(front.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if chart:
        paths["front.png"] = plot_front(front, out / "front.png")
    return paths
