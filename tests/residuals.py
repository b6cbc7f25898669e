"""Residual checks of a dispatch, recomputed from the *written* output files only.

:func:`check_residuals` reads ``case.json``, ``schedule.parquet`` (and checks
``schedule.csv`` and ``curve.csv`` against it) and ``summary.json`` from an
output folder written by :func:`vpp.results.write_outputs`, and re-derives,
independently of the product's code (no import of ``vpp`` or ``models``; the
case defaults are those of ``shared/spec/model.md`` §1 and §4):

- every asset's own constraints (bounds, SoC / thermal level recursions,
  shiftable profile placement, flexible energy and deadlines, green-contract
  take, curtailment binaries);
- every node balance, the root balance, the branch limits, the grid bounds,
  import/export exclusivity and ``G ≤ import``;
- the demand-response shortfalls and the green-share constraint;
- the total cost by the formula of model.md §6, which must equal
  ``summary["objective_cny"]``, the sum of ``summary["cost_cny"]`` terms and
  ``summary["cost_cny"]["total"]``; the cost terms one by one;
- emissions (§3) and the renewable share (§5: PV used − export + green over
  end-use consumption), and that every node with unserved energy is named in
  ``summary["unserved"]`` and ``summary["messages"]``.

It raises ``AssertionError`` with the residual that failed, and returns the
recomputed figures.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

#: Absolute tolerance on powers and energies [MW, MWh] (HiGHS's feasibility
#: tolerances are 1e-7 on rows and 1e-6 on integrality); scaled by magnitude.
ATOL = 1e-6
#: Relative tolerance on the objective and the cost terms.
RTOL = 1e-6

# Product names of the cost terms in summary["cost_cny"] → our term names.
COST_TERMS = {
    "energy": "energy",
    "export": "export",
    "carbon": "carbon",
    "green_energy": "green_energy",
    "green_fixed": "green_fixed",
    "curtailment": "pv_curtailment",
    "degradation": "degradation",
    "load_curtailment": "load_curtailment",
    "unserved": "unserved",
    "unserved_thermal": "unserved_thermal",
    "thermal_final_shortfall": "thermal_final_shortfall",
    "dr_penalty": "dr_penalty",
    "dr_revenue": "dr_revenue",
    "demand": "demand",
    "deviation": "deviation",
    "load_curtailment_start": "load_curtailment_start",
    "regulation_capacity": "regulation_capacity",
    "regulation_mileage": "regulation_mileage",
}


class Residuals:
    """Collects failures so that one run reports all of them."""

    def __init__(self) -> None:
        self.failures: list[str] = []

    def close(self, what: str, got: Any, expected: Any, tol: float) -> None:
        got_a, exp_a = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
        err = np.abs(got_a - exp_a)
        if not np.all(np.isfinite(got_a)) or np.any(err > tol):
            i = int(np.nanargmax(np.where(np.isfinite(err), err, np.inf))) if err.size > 1 else 0
            self.failures.append(
                f"{what}: residual {float(np.ravel(err)[i]):.3g} > {tol:.3g} "
                f"(got {np.ravel(got_a)[i]!r}, expected {np.ravel(exp_a)[i]!r}, index {i})"
            )

    def le(self, what: str, lhs: Any, rhs: Any, tol: float) -> None:
        lhs_a, rhs_a = np.asarray(lhs, dtype=float), np.asarray(rhs, dtype=float)
        excess = lhs_a - rhs_a
        if np.any(excess > tol) or not np.all(np.isfinite(lhs_a)):
            i = int(np.argmax(excess)) if excess.size > 1 else 0
            self.failures.append(
                f"{what}: violated by {float(np.ravel(excess)[i]):.3g} > {tol:.3g} "
                f"(lhs {np.ravel(np.broadcast_to(lhs_a, excess.shape))[i]!r}, "
                f"rhs {np.ravel(np.broadcast_to(rhs_a, excess.shape))[i]!r}, index {i})"
            )

    def true(self, what: str, cond: bool) -> None:
        if not cond:
            self.failures.append(what)


def _series(value: Any, n: int) -> np.ndarray:
    if isinstance(value, list):
        assert len(value) == n, f"series of {len(value)} values for {n} steps"
        return np.asarray(value, dtype=float)
    return np.full(n, float(value))


def _tol(*arrays: Any) -> float:
    scale = max([1.0] + [float(np.max(np.abs(np.asarray(a, dtype=float)))) for a in arrays if np.size(a)])
    return ATOL * scale


def read_schedule(out: Path, steps: int) -> dict[tuple[str, str], np.ndarray]:
    """(element, quantity) → per-step values (NaN where a step has no row), from the parquet file."""
    table = pd.read_parquet(out / "schedule.parquet")
    values: dict[tuple[str, str], np.ndarray] = {}
    for (asset, quantity), rows in table.groupby(["asset", "quantity"], sort=False):
        v = np.full(steps, np.nan)
        v[rows["step"].to_numpy(dtype=int)] = rows["value"].to_numpy(dtype=float)
        values[(str(asset), str(quantity))] = v
    return values


def _check_files_agree(out: Path, res: Residuals, case: dict[str, Any]) -> None:
    """schedule.csv and curve.csv carry the same numbers as schedule.parquet (9 significant digits)."""
    pq = pd.read_parquet(out / "schedule.parquet")
    csv = pd.read_csv(out / "schedule.csv")
    res.true(f"schedule.csv has {len(csv)} rows, schedule.parquet {len(pq)}", len(csv) == len(pq))
    if len(csv) == len(pq):
        for col in ("step", "asset", "type", "node", "quantity", "unit"):
            res.true(f"schedule.csv column {col} differs from the parquet file",
                     list(csv[col].astype(str)) == list(pq[col].astype(str)))
        v_csv, v_pq = csv["value"].to_numpy(float), pq["value"].to_numpy(float)
        err = np.abs(v_csv - v_pq)
        bad = err > 1e-8 * np.maximum(1.0, np.abs(v_pq))
        res.true(f"schedule.csv values differ from the parquet file at rows {np.flatnonzero(bad)[:5].tolist()}",
                 not bad.any())
    # Timestamps: start + step·Δ, with the case's UTC offset.
    start = pd.Timestamp(case["start"])
    expect = [(start + pd.Timedelta(minutes=case["step_minutes"] * int(s))).isoformat() for s in csv["step"]]
    res.true("schedule.csv timestamps are not start + step x step_minutes", list(csv["timestamp"]) == expect)

    curve = pd.read_csv(out / "curve.csv")
    res.true(f"curve.csv has {len(curve)} rows for {case['steps']} steps", len(curve) == case["steps"])
    for (asset, quantity), rows in pq.groupby(["asset", "quantity"], sort=False):
        col = f"{asset}.{quantity}"
        if col not in curve.columns:
            res.failures.append(f"curve.csv lacks column {col}")
            continue
        got = curve.set_index("step")[col].reindex(rows["step"]).to_numpy(float)
        want = rows["value"].to_numpy(float)
        if np.any(np.abs(got - want) > 1e-8 * np.maximum(1.0, np.abs(want))):
            res.failures.append(f"curve.csv column {col} differs from schedule.parquet")


def check_residuals(out_dir: str | Path) -> dict[str, Any]:
    """Recompute every constraint and the objective of a written dispatch; assert they hold.

    Returns the recomputed ``cost_cny`` (our term names, see :data:`COST_TERMS`),
    ``total_cny``, ``emissions_t``, ``renewable_share``, ``consumption_mwh`` and
    the per-step arrays ``import``, ``export``, ``green``.
    """
    out = Path(out_dir)
    case = json.loads((out / "case.json").read_text(encoding="utf-8"))
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    N = int(case["steps"])
    dt = case["step_minutes"] / 60.0
    voll = float(case.get("voll_cny_per_mwh", 20000.0))
    carbon = float(case.get("carbon_price_cny_per_t", 0.0))
    rho = case.get("green_share_min")
    network = case.get("network") or {}
    root = network.get("root") or "grid"
    nodes = network.get("nodes") or []
    grid = case["grid"]
    res = Residuals()
    _check_files_agree(out, res, case)
    v = read_schedule(out, N)

    def get(element: str, quantity: str) -> np.ndarray:
        key = (element, quantity)
        if key not in v:
            res.failures.append(f"schedule lacks {element}.{quantity}")
            return np.zeros(N)
        return v[key]

    imp, exp = get("grid", "import_mw"), get("grid", "export_mw")
    buy = _series(grid["buy_cny_per_mwh"], N)
    sell = _series(grid.get("sell_cny_per_mwh", 0.0), N)
    emission = _series(grid.get("emission_t_per_mwh", 0.0), N)
    imax, emax = _series(grid["import_max_mw"], N), _series(grid.get("export_max_mw", 0.0), N)
    demand_charge = float(grid.get("demand_charge_cny_per_mw", 0.0))
    regulation = case.get("regulation")
    bands: dict[str, tuple[str, np.ndarray]] = {}  # battery → (node, band [MW])
    critical = np.zeros(N)
    reserve = np.zeros(N)
    span = 0.0

    cost: dict[str, float] = dict.fromkeys(COST_TERMS.values(), 0.0)
    injection_at: dict[str, np.ndarray] = {n: np.zeros(N) for n in [root, *(x["id"] for x in nodes)]}
    consumption = np.zeros(N)  # end-use electric consumption (§5)
    pv_used = np.zeros(N)
    G = np.zeros(N)
    contracts = {c["id"]: c for c in summary.get("green_contracts", [])}

    for a in case.get("assets", []):
        aid, kind = a["id"], a["type"]
        node = a.get("node") or root
        inj = np.zeros(N)
        if kind == "pv":
            avail = _series(a["available_mw"], N)
            p = get(aid, "power_mw")
            tol = _tol(avail)
            res.le(f"{aid}: p >= 0", -p, 0, tol)
            res.le(f"{aid}: p <= available", p, avail, tol)
            inj = p
            pv_used += p
            cost["pv_curtailment"] += float(a.get("curtailment_cny_per_mwh", 0.0)) * float(np.sum(avail - p)) * dt
        elif kind == "load":
            d = _series(a["demand_mw"], N)
            inj = -d
            consumption += d
            critical += float(a.get("critical_fraction", 0.0)) * d
        elif kind == "battery":
            E = float(a["energy_mwh"])
            pch = a.get("charge_power_mw")
            pch = float(a["power_mw"] if pch is None else pch)
            pdis = a.get("discharge_power_mw")
            pdis = float(a["power_mw"] if pdis is None else pdis)
            eta_c, eta_d = float(a.get("charge_efficiency", 0.95)), float(a.get("discharge_efficiency", 0.95))
            smin, smax = float(a.get("soc_min", 0.1)), float(a.get("soc_max", 0.9))
            s0 = float(a.get("soc_initial", 0.5))
            sfin = a.get("soc_final_min")
            sfin = s0 if sfin is None else float(sfin)
            sigma = float(a.get("self_discharge_per_hour", 0.0))
            ch, dis, soc = get(aid, "charge_mw"), get(aid, "discharge_mw"), get(aid, "soc_mwh")
            tol = _tol(pch, pdis, E)
            res.le(f"{aid}: charge >= 0", -ch, 0, tol)
            res.le(f"{aid}: discharge >= 0", -dis, 0, tol)
            res.le(f"{aid}: charge <= Pch", ch, pch, tol)
            res.le(f"{aid}: discharge <= Pdis", dis, pdis, tol)
            # b binary: not both; b may be off integrality by 1e-6, hence the scaled tolerance.
            res.le(f"{aid}: charge and discharge at once", np.minimum(ch, dis), 0, 10 * tol)
            before = np.concatenate([[s0 * E], soc[:-1]])
            loss = np.zeros(N)
            if regulation is not None and a.get("regulation", False):
                r = get(aid, "regulation_mw")
                B = int(regulation.get("block_steps", 1))
                tau = float(regulation.get("duration_h", 0.25))
                res.le(f"{aid}: band >= 0", -r, 0, tol)
                res.close(f"{aid}: band constant within blocks of {B}", r, r[(np.arange(N) // B) * B], tol)
                res.le(f"{aid}: power headroom up", dis - ch + r, pdis, tol)
                res.le(f"{aid}: power headroom down", ch - dis + r, pch, tol)
                for name, level in (("end", soc), ("start", before)):
                    res.le(f"{aid}: energy headroom up at the {name} of a step", smin * E, level - tau * r / eta_d, tol)
                    res.le(f"{aid}: energy headroom down at the {name} of a step", level + tau * eta_c * r, smax * E, tol)
                loss = float(regulation.get("deployment_fraction", 0.0)) * (1 / eta_d - eta_c) * r * dt
                price = _series(regulation["capacity_price_cny_per_mw_h"], N)
                mileage = (_series(regulation.get("mileage_price_cny_per_mw", 0.0), N)
                           * float(regulation.get("mileage_mw_per_mw_h", 0.0)) * float(a.get("regulation_performance", 1.0)))
                cost["regulation_capacity"] -= float(np.sum(r * price)) * dt
                cost["regulation_mileage"] -= float(np.sum(r * mileage)) * dt
                bands[aid] = (node, r)
                span += pch + pdis
            reserve += eta_d * (soc - smin * E)
            res.close(f"{aid}: SoC recursion", soc,
                      (1 - sigma * dt) * before + eta_c * ch * dt - dis * dt / eta_d - loss, 10 * tol)
            res.le(f"{aid}: soc >= soc_min", smin * E, soc, tol)
            res.le(f"{aid}: soc <= soc_max", soc, smax * E, tol)
            res.le(f"{aid}: final soc >= soc_final_min", sfin * E, soc[-1], tol)
            if a.get("max_cycles") is not None:
                res.le(f"{aid}: max_cycles", float(np.sum(dis)) * dt, float(a["max_cycles"]) * E, tol * N)
            inj = dis - ch
            cost["degradation"] += float(a.get("degradation_cny_per_mwh", 0.0)) * float(np.sum(dis)) * dt
        elif kind == "curtailable_load":
            d = _series(a["demand_mw"], N)
            R = np.minimum(_series(a["max_reduction_mw"], N), d)
            r = get(aid, "reduction_mw")
            tol = _tol(d)
            res.le(f"{aid}: reduction >= 0", -r, 0, tol)
            res.le(f"{aid}: reduction <= min(max_reduction, demand)", r, R, tol)
            D = int(a.get("min_duration_steps", 1))
            max_events = a.get("max_events")
            rmin = np.minimum(_series(a.get("min_reduction_mw", 0.0), N), R)
            start_cny = float(a.get("start_cny", 0.0))
            critical += float(a.get("critical_fraction", 0.0)) * d
            if D > 1 or max_events is not None or start_cny > 0 or np.any(rmin > 0):
                z = get(aid, "curtailing")
                res.true(f"{aid}: curtailing flags not 0/1: {z.tolist()}", bool(np.all(np.isin(z, [0.0, 1.0]))))
                res.le(f"{aid}: r <= R*z", r, R * z, tol)
                res.le(f"{aid}: r >= min_reduction*z", rmin * z, r, tol)
                starts = np.maximum(0.0, z - np.concatenate([[0.0], z[:-1]]))
                cost["load_curtailment_start"] += start_cny * float(starts.sum())
                if max_events is not None:
                    res.le(f"{aid}: curtailment events <= max_events", float(starts.sum()), float(max_events), 1e-9)
                for t0 in np.flatnonzero(starts > 0.5):
                    held = z[t0 : min(t0 + D, N)]
                    res.true(f"{aid}: event starting at step {t0} shorter than {D} steps: {z.tolist()}",
                             bool(np.all(held > 0.5)))
            inj = r - d
            consumption += d - r
            cost["load_curtailment"] += float(a["cost_cny_per_mwh"]) * float(np.sum(r)) * dt
        elif kind == "shiftable_load":
            profile = np.asarray(a["profile_mw"], dtype=float)
            dur = len(profile)
            es = int(a.get("earliest_start", 0))
            le = a.get("latest_end")
            le = N if le is None else int(le)
            c = get(aid, "consumption_mw")
            running = get(aid, "running")
            on = np.flatnonzero(running > 0.5)
            res.true(f"{aid}: running is not one block of {dur} steps: {running.tolist()}",
                     len(on) == dur and (dur == 0 or on[-1] - on[0] == dur - 1))
            if len(on):
                s = int(on[0])
                res.true(f"{aid}: start {s} outside [earliest_start={es}, latest_end-d={le - dur}]", es <= s <= le - dur)
                expect = np.zeros(N)
                expect[s : s + dur] = profile[: N - s]
                res.close(f"{aid}: consumption is the profile placed at step {s}", c, expect, _tol(profile))
            inj = -c
            consumption += c
        elif kind == "flexible_load":
            lo = _series(a.get("min_power_mw", 0.0), N)
            hi = _series(a["max_power_mw"], N)
            p = get(aid, "consumption_mw")
            tol = _tol(hi)
            res.le(f"{aid}: p >= min_power", lo, p, tol)
            res.le(f"{aid}: p <= max_power", p, hi, tol)
            res.close(f"{aid}: energy over the horizon", float(np.sum(p)) * dt, float(a["energy_mwh"]), tol * N)
            for req in a.get("requirements") or []:
                k = int(req["by_step"])
                res.le(f"{aid}: requirement by step {k}", float(req["energy_mwh"]), float(np.sum(p[:k])) * dt, tol * N)
            inj = -p
            consumption += p
        elif kind == "green_contract":
            avail = _series(a["available_mw"], N)
            g = get(aid, "purchase_mw")
            optional = bool(a.get("optional", True))
            taken = contracts[aid]["taken"] if aid in contracts else bool(np.any(g > 1e-6))
            res.true(f"{aid}: a non-optional contract not taken", taken or optional)
            x = 1.0 if taken else 0.0
            tol = _tol(avail)
            res.le(f"{aid}: g <= available*x", g, avail * x, tol)
            res.le(f"{aid}: g >= min_take*available*x", float(a.get("min_take", 0.0)) * avail * x, g, tol)
            G += g
            cost["green_energy"] += float(a["price_cny_per_mwh"]) * float(np.sum(g)) * dt
            cost["green_fixed"] += float(a.get("fixed_cny", 0.0)) * x
            if node != root:
                res.failures.append(f"{aid}: a green contract at node {node!r}, not the root")
            continue  # no injection of its own: G arrives through the import
        elif kind == "thermal_storage":
            cap = float(a["capacity_mwh_th"])
            h0 = float(a.get("level_initial", 0.5)) * cap
            lam = float(a.get("loss_per_hour", 0.0))
            cop = float(a["cop"])
            dem = _series(a["thermal_demand_mw"], N)
            e = get(aid, "consumption_mw")
            h, w = get(aid, "level_mwh_th"), get(aid, "unserved_thermal_mw_th")
            tol = _tol(cap, dem, float(a["max_power_mw"]) * cop)
            res.le(f"{aid}: e >= 0", -e, 0, tol)
            res.le(f"{aid}: e <= max_power", e, float(a["max_power_mw"]), tol)
            res.le(f"{aid}: level >= 0", -h, 0, tol)
            res.le(f"{aid}: level <= capacity", h, cap, tol)
            res.le(f"{aid}: unserved thermal >= 0", -w, 0, tol)
            res.le(f"{aid}: unserved thermal <= thermal demand", w, dem, tol)
            before = np.concatenate([[h0], h[:-1]])
            res.close(f"{aid}: thermal level recursion", h,
                      (1 - lam * dt) * before + (cop * e - dem + w) * dt, 10 * tol)
            inj = -e
            consumption += e
            cost["unserved_thermal"] += voll * float(np.sum(w)) * dt
            # what the store ends below its initial level is its final shortfall, at voll (v2)
            cost["thermal_final_shortfall"] += voll * max(0.0, h0 - float(h[-1]))
        else:
            res.failures.append(f"{aid}: unknown asset type {kind!r}")
            continue
        injection_at[node] = injection_at[node] + inj

    # --- network (§2): every node balance, the root balance, branch limits ----------
    flows = {n["id"]: get(n["id"], "flow_mw") for n in nodes}
    unserved = {n: get(n, "unserved_mw") for n in injection_at}
    children: dict[str, list[str]] = {n: [] for n in injection_at}
    for n in nodes:
        children[n.get("parent") or root].append(n["id"])
    scale = _tol(imp, exp, *injection_at.values(), *flows.values())
    for n in nodes:
        nid = n["id"]
        lhs = injection_at[nid] + sum((flows[c] for c in children[nid]), np.zeros(N)) + unserved[nid]
        res.close(f"balance at node {nid}", lhs, flows[nid], 10 * scale)
        cap = n.get("capacity_mw")
        up = n.get("export_capacity_mw", cap)
        if cap is not None:
            res.le(f"branch {nid}: f >= -capacity", -flows[nid], float(cap), scale)
        if up is not None:
            res.le(f"branch {nid}: f <= upward capacity", flows[nid], float(up), scale)
    lhs = imp - exp + injection_at[root] + sum((flows[c] for c in children[root]), np.zeros(N)) + unserved[root]
    res.close(f"balance at the root {root}", lhs, np.zeros(N), 10 * scale)
    for n, u in unserved.items():
        res.le(f"unserved at {n} >= 0", -u, 0, scale)

    # --- grid connection (§3) --------------------------------------------------------
    res.le("import >= 0", -imp, 0, scale)
    res.le("import <= import_max", imp, imax, scale)
    res.le("export >= 0", -exp, 0, scale)
    res.le("export <= export_max", exp, emax, scale)
    both = (imax > 0) & (emax > 0)
    res.le("import and export at once", np.minimum(imp, exp)[both], 0, 10 * scale)
    res.le("G <= import", G, imp, scale)
    res.close("grid.green_mw = sum of purchases", get("grid", "green_mw"), G, scale)
    grid_energy = imp - G
    emissions = emission * grid_energy * dt
    res.close("grid.emissions_t per step", get("grid", "emissions_t"), emissions, scale)

    cost["energy"] = float(np.sum(buy * grid_energy)) * dt
    cost["export"] = -float(np.sum(sell * exp)) * dt
    cost["carbon"] = carbon * float(np.sum(emissions))
    cost["unserved"] = voll * float(sum(np.sum(u) for u in unserved.values())) * dt
    peak = float(np.max(imp)) if N else 0.0
    p_hat = float(grid.get("peak_to_date_mw", 0.0))
    billed = max(peak, p_hat)  # the billing period's maximum demand after this day [MW]
    declared = grid.get("declared_demand_mw")
    if demand_charge <= 0:
        cost["demand"] = 0.0
    elif declared is None:
        cost["demand"] = demand_charge * (billed - p_hat)
    else:
        limit = 1.05 * float(declared)
        cost["demand"] = 2 * demand_charge * (max(0.0, billed - limit) - max(0.0, p_hat - limit))
    # At an optimum the peak variable is max(import) and a shortfall is exactly the excess; a
    # time-limited incumbent ("feasible") need only respect the inequalities.
    optimal = summary["status"] == "optimal"
    if not optimal and demand_charge > 0:
        reported_demand = float(summary["cost_cny"].get("demand", 0.0))
        res.le("demand charge >= demand_charge * max(import)", cost["demand"], reported_demand, RTOL * max(1.0, cost["demand"]))
        cost["demand"] = max(cost["demand"], reported_demand)

    # --- declared plan and deviations (§3) ---------------------------------------------
    net = imp - exp
    deviation = grid.get("deviation")
    if deviation is not None:
        plan = (_series(grid["schedule_mw"], N) if grid.get("schedule_mw") is not None
                else get("grid", "plan_mw"))
        eps = _series(deviation.get("tolerance_mw", 0.0), N)
        short, long_ = get("grid", "deviation_short_mw"), get("grid", "deviation_long_mw")
        res.le("deviation short >= 0", -short, 0, scale)
        res.le("deviation long >= 0", -long_, 0, scale)
        res.le("deviation short >= net - plan - tolerance", net - plan - eps, short, scale)
        res.le("deviation long >= plan - net - tolerance", plan - net - eps, long_, scale)
        cost["deviation"] = dt * float(np.sum(_series(deviation["short_cny_per_mwh"], N) * short
                                              + _series(deviation["long_cny_per_mwh"], N) * long_))

    # --- frequency regulation: the band through the network and the connection (§5.4) --------------
    if bands:
        total_band = sum((r for _, r in bands.values()), np.zeros(N))
        res.le("regulation: net + band <= import_max", net + total_band, imax, scale)
        res.le("regulation: net - band >= -export_max", -emax, net - total_band, scale)
        parent = {n["id"]: n.get("parent") or root for n in nodes}
        for n in nodes:
            nid = n["id"]
            inside = np.zeros(N)
            for at, r in bands.values():
                while at != root and at != nid:
                    at = parent[at]
                if at == nid:
                    inside += r
            cap = n.get("capacity_mw")
            up = n.get("export_capacity_mw", cap)
            if up is not None:
                res.le(f"regulation: branch {nid} f + band <= upward capacity", flows[nid] + inside, float(up), scale)
            if cap is not None:
                res.le(f"regulation: branch {nid} f - band >= -capacity", -float(cap), flows[nid] - inside, scale)
        rmin_offer = float(regulation.get("min_offer_mw", 0.0))
        if rmin_offer > 0:
            offered = total_band > 1e-6
            res.le("regulation: an offer below min_offer_mw", rmin_offer * offered, total_band, scale)
            res.le("regulation: offer above what the batteries span", total_band, span, scale)

    # --- the emissions cap (§5.3) and the backup reserve (§5.5) ------------------------------------
    if case.get("emissions_max_t") is not None:
        res.le("emissions_max_t", float(np.sum(emission * (imp - G) * dt)), float(case["emissions_max_t"]), scale * N)
    if case.get("backup_hours") is not None:
        K = int(math.ceil(float(case["backup_hours"]) / dt - 1e-9))
        pv_avail = sum((_series(a["available_mw"], N) for a in case["assets"] if a["type"] == "pv"), np.zeros(N))
        short_mwh = np.maximum(0.0, critical - pv_avail) * dt
        Q = np.array([short_mwh[(t + np.arange(1, K + 1)) % N].sum() for t in range(N)])
        res.le("backup reserve held at every step", Q, reserve, scale * K)

    # --- demand response (§5) ----------------------------------------------------------
    events = {e["id"]: e for e in summary.get("demand_response", [])}
    for ev in case.get("demand_response") or []:
        eid = ev["id"]
        window = np.arange(int(ev["start_step"]), int(ev["end_step"]))
        joined = bool(events[eid]["joined"]) if eid in events else True
        if not ev.get("optional", True):
            res.true(f"event {eid}: non-optional but not joined", joined)
        w = 1.0 if joined else 0.0
        baseline = _series(ev["baseline_mw"], N)
        valley = ev.get("kind", "peak_shaving") == "valley_filling"
        amount = float(ev["increase_mw"] if valley else ev["reduction_mw"])
        target = baseline + amount * w if valley else baseline - amount * w
        sf = get(eid, "shortfall_mw")[window]
        # v2: an event not joined has no shortfall (its row is freed by M·(1 − w))
        excess = ((target[window] - net[window]) if valley else (net[window] - target[window])) * w
        res.le(f"event {eid}: shortfall >= 0", -sf, 0, scale)
        res.le(f"event {eid}: shortfall >= {'target - net import' if valley else 'net import - target'}", excess, sf, scale)
        if optimal and float(ev["shortfall_penalty_cny_per_mwh"]) > 0:  # at an optimum: exactly the excess
            res.close(f"event {eid}: shortfall = max(0, excess over the target)", sf, np.maximum(excess, 0.0), 10 * scale)
        res.close(f"event {eid}: target_mw", get(eid, "target_mw")[window], target[window], scale)
        cost["dr_penalty"] += float(ev["shortfall_penalty_cny_per_mwh"]) * float(np.sum(sf)) * dt
        cost["dr_revenue"] -= float(ev["price_cny_per_mwh"]) * amount * w * len(window) * dt

    # --- green share (§5) -----------------------------------------------------------------
    renewable = pv_used - exp + G
    renewable_mwh = float(np.sum(renewable)) * dt
    consumption_mwh = float(np.sum(consumption)) * dt
    if rho is not None:
        res.le("green_share_min", float(rho) * consumption_mwh, renewable_mwh, scale * N)

    # --- objective (§6) ---------------------------------------------------------------------
    total = float(sum(cost.values()))
    magnitude = max(1.0, sum(abs(x) for x in cost.values()))
    # voll multiplies unserved energy: give it a feasibility tolerance of its own.
    cost_tol = RTOL * magnitude + voll * 1e-7 * N * dt * (1 + len(nodes))
    reported = summary["cost_cny"]
    res.close("objective_cny vs the §6 formula", summary["objective_cny"], total, cost_tol)
    res.close("sum of cost_cny terms vs the §6 formula",
              sum(x for k, x in reported.items() if k != "total"), total, cost_tol)
    res.close("cost_cny.total vs the §6 formula", reported.get("total", math.nan), total, cost_tol)
    for key, x in reported.items():
        if key == "total":
            continue
        if key not in COST_TERMS:
            res.failures.append(f"summary cost_cny has an unknown term {key!r}")
            continue
        res.close(f"cost_cny.{key}", x, cost[COST_TERMS[key]], cost_tol)
    ours_reported = {COST_TERMS[k] for k in reported if k in COST_TERMS}
    for term, x in cost.items():
        if term not in ours_reported:
            res.close(f"cost term {term} (absent from cost_cny) is zero", x, 0.0, cost_tol)

    # --- totals ---------------------------------------------------------------------------------
    res.close("summary emissions_t", summary["emissions_t"], float(np.sum(emissions)), scale * N)
    share = renewable_mwh / consumption_mwh if consumption_mwh > 1e-6 else None
    if share is None:
        res.true(f"renewable_share {summary.get('renewable_share')!r} with no consumption",
                 summary.get("renewable_share") is None)
    else:
        res.close("summary renewable_share", summary["renewable_share"], share, 1e-6)
    energy = summary["energy_mwh"]
    res.close("energy import_mwh", energy["import_mwh"], float(np.sum(imp)) * dt, scale * N)
    res.close("energy export_mwh", energy["export_mwh"], float(np.sum(exp)) * dt, scale * N)
    res.close("energy green_purchased_mwh", energy["green_purchased_mwh"], float(np.sum(G)) * dt, scale * N)
    res.close("energy consumption_mwh", energy["consumption_mwh"], consumption_mwh, scale * N)
    res.close("energy unserved_mwh", energy["unserved_mwh"],
              float(sum(np.sum(u) for u in unserved.values())) * dt, scale * N)
    res.close("peak_import_mw", summary["peak_import_mw"], peak, scale)

    # --- every unserved quantity named with its node ----------------------------------------------
    named = {(u["kind"], u["where"]): u for u in summary.get("unserved", [])}
    for n, u in unserved.items():
        steps = np.flatnonzero(u > 1e-6).tolist()
        if not steps:
            continue
        item = named.get(("unserved_electric", n))
        if item is None:
            res.failures.append(f"unserved energy at {n} in steps {steps} is not named in summary['unserved']")
            continue
        res.true(f"summary unserved steps at {n}: {item['steps']} != {steps}", item["steps"] == steps)
        res.close(f"summary unserved energy at {n}", item["energy_mwh"], float(np.sum(u)) * dt, scale * N)
        res.true(f"no message names the unserved node {n}: {summary.get('messages')}",
                 any(n in m for m in summary.get("messages", [])))

    assert not res.failures, f"{len(res.failures)} residual check(s) failed in {out}:\n  " + "\n  ".join(res.failures)
    return {
        "cost_cny": cost,
        "total_cny": total,
        "emissions_t": float(np.sum(emissions)),
        "renewable_share": share,
        "consumption_mwh": consumption_mwh,
        "import": imp,
        "export": exp,
        "green": G,
        "unserved": unserved,
    }
