"""Property tests over random small cases, valid by construction.

2–6 steps, 0–2 nodes in a chain or a star, a few assets of random types. Each case is
solved, written, and its files re-checked by :func:`tests.residuals.check_residuals`
(every balance, recursion and bound; the §6 cost against the reported objective).

Validity by construction (so that every case is feasible and the solve must be optimal):
batteries end no higher than they start and can out-charge their self-discharge;
flexible loads get their energy and deadlines from a schedule drawn within their bounds;
shiftable windows are at least the profile's length; mandatory green contracts have no
minimum take; a green-share target is set only when a root PV can cover every consumer
through unlimited branches.

Two more properties compare the optimal objective (the default matrix engine's, through
``solve_case``) with the product's Pyomo model solved through Pyomo's own HiGHS interface,
and with an independent formulation of model.md written here with ``scipy.optimize.milp``
(rows built by hand, no Pyomo, no product code).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pyomo.environ as pyo
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import models
from models import SolveOptions
from tests.residuals import check_residuals
from vpp.case import load_case
from vpp.dispatch import solve_case
from vpp.results import write_outputs

OPTS = SolveOptions(mip_gap=1e-9, time_limit_s=20)
KINDS = ["pv", "load", "battery", "curtailable_load", "shiftable_load", "flexible_load", "green_contract",
         "thermal_storage"]


def _num(draw: Any, lo: float, hi: float, step: float = 0.1) -> float:
    """A number on a grid of ``step`` in [lo, hi] (round numbers keep the failures readable)."""
    return round(draw(st.integers(int(round(lo / step)), int(round(hi / step)))) * step, 6)


def _series(draw: Any, n: int, lo: float, hi: float) -> float | list[float]:
    if draw(st.booleans()):
        return _num(draw, lo, hi)
    return [_num(draw, lo, hi) for _ in range(n)]


def _arr(value: float | list[float], n: int) -> np.ndarray:
    return np.asarray(value, dtype=float) if isinstance(value, list) else np.full(n, float(value))


@st.composite
def cases(draw: Any) -> dict[str, Any]:
    n = draw(st.integers(2, 6))
    minutes = draw(st.sampled_from([15, 30, 45, 60, 120]))
    dt = minutes / 60
    # --- network: 0–2 nodes, chain or star ---------------------------------------------------
    k = draw(st.integers(0, 2))
    chain = draw(st.booleans())
    unlimited = draw(st.booleans())
    nodes = []
    for i in range(k):
        node: dict[str, Any] = {"id": f"n{i}"}
        if chain and i > 0:
            node["parent"] = f"n{i - 1}"
        if not unlimited:
            if draw(st.integers(0, 3)):
                node["capacity_mw"] = _num(draw, 0, 6)
            if draw(st.booleans()):
                node["export_capacity_mw"] = _num(draw, 0, 3)
        nodes.append(node)
    places = ["grid"] + [x["id"] for x in nodes]

    imax = _num(draw, 0, 12, 0.5)
    emax = draw(st.sampled_from([0.0, _num(draw, 0.5, 5, 0.5)]))
    grid: dict[str, Any] = {
        "import_max_mw": imax, "export_max_mw": emax,
        "buy_cny_per_mwh": _series(draw, n, -20, 600), "sell_cny_per_mwh": _series(draw, n, -50, 400),
        "emission_t_per_mwh": _series(draw, n, 0, 1),
    }
    if draw(st.booleans()):
        grid["demand_charge_cny_per_mw"] = _num(draw, 0, 300, 10)
    data: dict[str, Any] = {
        "name": "prop", "start": "2026-07-15T00:00:00+08:00", "step_minutes": minutes, "steps": n,
        "voll_cny_per_mwh": draw(st.sampled_from([2000.0, 20000.0])),
        "carbon_price_cny_per_t": draw(st.sampled_from([0.0, 80.0])),
        "network": {"root": "grid", "nodes": nodes}, "grid": grid,
    }

    # --- assets ---------------------------------------------------------------------------------
    assets: list[dict[str, Any]] = []
    peak_use = 0.0  # an upper bound of the electric use of every asset in any step [MW]
    for i, kind in enumerate(draw(st.lists(st.sampled_from(KINDS), min_size=1, max_size=5))):
        a: dict[str, Any] = {"id": f"a{i}", "type": kind}
        if kind != "green_contract":
            a["node"] = draw(st.sampled_from(places))
        if kind == "pv":
            a["available_mw"] = _series(draw, n, 0, 5)
            a["curtailment_cny_per_mwh"] = _num(draw, 0, 50, 5)
        elif kind == "load":
            a["demand_mw"] = _series(draw, n, 0, 4)
            peak_use += float(_arr(a["demand_mw"], n).max())
        elif kind == "battery":
            E = _num(draw, 0.5, 5) if draw(st.integers(0, 9)) else 0.0
            if draw(st.booleans()):
                a["power_mw"] = pch = _num(draw, 0.2, 3)
            else:
                a["charge_power_mw"] = pch = _num(draw, 0.2, 3)
                a["discharge_power_mw"] = _num(draw, 0.2, 3)
            eta_c = _num(draw, 0.8, 1, 0.01)
            smin, smax = _num(draw, 0, 0.3, 0.05), _num(draw, 0.7, 1, 0.05)
            s0 = _num(draw, smin, smax, 0.05)
            a.update(energy_mwh=E, charge_efficiency=eta_c, discharge_efficiency=_num(draw, 0.8, 1, 0.01),
                     soc_min=smin, soc_max=smax, soc_initial=s0,
                     degradation_cny_per_mwh=_num(draw, 0, 50, 5))
            if draw(st.booleans()):
                a["soc_final_min"] = _num(draw, smin, s0, 0.05)  # ≤ soc_initial: reachable
            # self-discharge that charging can make up every step: σ·E ≤ ηc·Pch
            sigma_max = min(0.2, 0.9 * eta_c * pch / E) if E > 0 else 0.2
            a["self_discharge_per_hour"] = round(sigma_max * draw(st.sampled_from([0, 0.5, 1])), 6)
            if draw(st.booleans()):
                a["max_cycles"] = _num(draw, 0, 2, 0.25)
            peak_use += pch
        elif kind == "curtailable_load":
            a.update(demand_mw=_series(draw, n, 0, 3), max_reduction_mw=_series(draw, n, 0, 2),
                     cost_cny_per_mwh=_num(draw, 0, 800, 50), min_duration_steps=draw(st.integers(1, 3)))
            if draw(st.booleans()):
                a["max_events"] = draw(st.integers(0, 2))
            peak_use += float(_arr(a["demand_mw"], n).max())
        elif kind == "shiftable_load":
            d = draw(st.integers(1, min(3, n)))
            a["profile_mw"] = [_num(draw, 0, 2) for _ in range(d)]
            es = draw(st.integers(0, n - d))
            a["earliest_start"] = es
            if draw(st.booleans()):
                a["latest_end"] = draw(st.integers(es + d, n))
            peak_use += max(a["profile_mw"])
        elif kind == "flexible_load":
            hi = np.array([_num(draw, 0.5, 3) for _ in range(n)])
            lo = np.round(hi * draw(st.sampled_from([0, 0, 0.25, 0.5])), 6)
            frac = np.array([draw(st.sampled_from([0, 0.5, 1])) for _ in range(n)])
            p = lo + frac * (hi - lo)  # a schedule within the bounds
            a.update(min_power_mw=lo.tolist(), max_power_mw=hi.tolist(), energy_mwh=round(float(p.sum() * dt), 9))
            a["requirements"] = []
            for _ in range(draw(st.integers(0, 2))):
                by = draw(st.integers(1, n))
                need = float(p[:by].sum() * dt) * draw(st.sampled_from([0.5, 1]))
                a["requirements"].append({"by_step": by, "energy_mwh": max(0.0, round(need, 9) - 1e-7)})
            peak_use += float(hi.max())
        elif kind == "green_contract":
            optional = draw(st.booleans())
            a.update(available_mw=_series(draw, n, 0, 3), price_cny_per_mwh=_num(draw, -50, 500, 10),
                     fixed_cny=_num(draw, 0, 300, 10), optional=optional,
                     min_take=_num(draw, 0, 1, 0.25) if optional else 0.0)
        elif kind == "thermal_storage":
            a.update(max_power_mw=_num(draw, 0, 2), cop=_num(draw, 1, 4, 0.5), thermal_demand_mw=_series(draw, n, 0, 3),
                     capacity_mwh_th=_num(draw, 0, 5), level_initial=_num(draw, 0, 1, 0.25),
                     loss_per_hour=_num(draw, 0, 0.1, 0.05))
            peak_use += a["max_power_mw"]
        assets.append(a)

    if unlimited and draw(st.booleans()):
        # A root PV big enough to serve every consumer: any share is reachable.
        assets.append({"id": "pv-green", "type": "pv", "available_mw": round(peak_use + 1, 6)})
        data["green_share_min"] = _num(draw, 0, 1, 0.05)
    data["assets"] = assets

    if draw(st.booleans()):
        s = draw(st.integers(0, n - 1))
        data["demand_response"] = [{
            "id": "ev0", "start_step": s, "end_step": draw(st.integers(s + 1, n)),
            "baseline_mw": _series(draw, n, 0, 6), "reduction_mw": _num(draw, 0, 2),
            "price_cny_per_mwh": _num(draw, 0, 600, 50), "shortfall_penalty_cny_per_mwh": _num(draw, 0, 1000, 50),
            "optional": draw(st.booleans()),
        }]
    return data


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_random_cases_solve_optimal_and_pass_the_residual_checks(data: dict[str, Any]) -> None:
    case = load_case(data)
    result = solve_case(case, OPTS)
    assert result.status == "optimal"
    assert result.report.mip_gap <= 1e-6
    if result.report.best_bound_cny is not None:
        assert result.report.best_bound_cny <= result.objective_cny + 1e-6 * max(1.0, abs(result.objective_cny))
    with tempfile.TemporaryDirectory() as tmp:
        write_outputs(result, tmp, chart=False)
        got = check_residuals(Path(tmp))
    assert result.objective_cny == pytest.approx(got["total_cny"], rel=1e-6, abs=1e-3)
    # Summing the balances over the tree: unserved energy never exceeds what is drawn
    # (end-use consumption, battery charging, export).
    energy = result.summary["energy_mwh"]
    assert energy["unserved_mwh"] <= (
        got["consumption_mwh"] + energy["battery_charge_mwh"] + energy["export_mwh"] + 1e-6)
    assert -1e-6 <= energy["pv_used_mwh"] <= energy["pv_available_mwh"] + 1e-6


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_random_cases_same_objective_through_pyomos_highs(data: dict[str, Any]) -> None:
    case = load_case(data)
    ours = solve_case(case, OPTS)
    pm = models.build(case).pyomo().model
    # Presolve off: HiGHS 1.15's presolve calls some feasible cases infeasible (tests/models/test_solve.py).
    res = pyo.SolverFactory("highs").solve(pm, options={"mip_rel_gap": 1e-9, "time_limit": 20, "presolve": "off"})
    assert str(res.solver.termination_condition) == "optimal"
    assert ours.objective_cny == pytest.approx(pyo.value(pm.obj), rel=1e-6, abs=1e-4)


# ---------------------------------------------------------------------------
# An independent formulation of model.md §2–§6, written from the spec with scipy's milp
# (matrix rows built by hand, no Pyomo, no product code): the optimal objective must agree.
# ---------------------------------------------------------------------------


class _Milp:
    """min c·x + offset  s.t.  lo ≤ A x ≤ hi, bounds, integrality; linear expressions are dicts."""

    def __init__(self) -> None:
        self.lb: list[float] = []
        self.ub: list[float] = []
        self.cost: list[float] = []
        self.integer: list[int] = []
        self.rows: list[tuple[dict[int, float], float, float]] = []
        self.offset = 0.0

    def var(self, lb: float = 0.0, ub: float = np.inf, cost: float = 0.0, binary: bool = False) -> int:
        self.lb.append(0.0 if binary else lb)
        self.ub.append(1.0 if binary else ub)
        self.cost.append(cost)
        self.integer.append(1 if binary else 0)
        return len(self.lb) - 1

    def row(self, expr: dict[int, float], lo: float = -np.inf, hi: float = np.inf) -> None:
        self.rows.append((expr, lo, hi))

    def solve(self) -> float:
        from scipy.optimize import Bounds, LinearConstraint, milp
        from scipy.sparse import lil_array

        A = lil_array((len(self.rows), len(self.lb)))
        for i, (expr, _, _) in enumerate(self.rows):
            for j, a in expr.items():
                A[i, j] += a
        res = milp(np.array(self.cost), integrality=np.array(self.integer),
                   bounds=Bounds(np.array(self.lb), np.array(self.ub)),
                   constraints=LinearConstraint(A.tocsr(), [r[1] for r in self.rows], [r[2] for r in self.rows]),
                   options={"mip_rel_gap": 1e-10, "time_limit": 30})
        assert res.status == 0, res.message
        return float(res.fun) + self.offset


def _add(*exprs: dict[int, float]) -> dict[int, float]:
    out: dict[int, float] = {}
    for e in exprs:
        for j, a in e.items():
            out[j] = out.get(j, 0.0) + a
    return out


def spec_objective(data: dict[str, Any]) -> float:
    """The optimal objective of a case by model.md, formulated independently."""
    N, dt = data["steps"], data["step_minutes"] / 60
    voll = data.get("voll_cny_per_mwh", 20000.0)
    network = data.get("network") or {}
    root = network.get("root") or "grid"
    nodes = network.get("nodes") or []
    g = data["grid"]
    buy, sell = _arr(g["buy_cny_per_mwh"], N), _arr(g.get("sell_cny_per_mwh", 0), N)
    emis = _arr(g.get("emission_t_per_mwh", 0), N)
    carbon = data.get("carbon_price_cny_per_t", 0.0)
    m = _Milp()
    T = range(N)
    # per step: linear injection expression and constant at each node
    inj = {n: [({}, 0.0) for _ in T] for n in [root, *(x["id"] for x in nodes)]}
    renewable: list[dict[int, float]] = [{} for _ in T]
    consumption: list[tuple[dict[int, float], float]] = [({}, 0.0) for _ in T]
    G: list[dict[int, float]] = [{} for _ in T]

    def put(node: str, t: int, expr: dict[int, float], const: float = 0.0) -> None:
        e, c = inj[node][t]
        inj[node][t] = (_add(e, expr), c + const)

    def use(t: int, expr: dict[int, float], const: float = 0.0) -> None:
        e, c = consumption[t]
        consumption[t] = (_add(e, expr), c + const)

    # grid (§3): energy and carbon costs on imp − G are added once G is known
    imax = _arr(g["import_max_mw"], N)
    imp = [m.var(0, imax[t]) for t in T]
    exp = [m.var(0, g.get("export_max_mw", 0.0), cost=-dt * sell[t]) for t in T]
    if g["import_max_mw"] > 0 and g.get("export_max_mw", 0.0) > 0:
        for t in T:
            y = m.var(binary=True)
            m.row({imp[t]: 1, y: -g["import_max_mw"]}, hi=0)
            m.row({exp[t]: 1, y: g["export_max_mw"]}, hi=g["export_max_mw"])
    for t in T:
        m.cost[imp[t]] += dt * (buy[t] + carbon * emis[t])

    for a in data.get("assets", []):
        node = a.get("node") or root
        kind = a["type"]
        if kind == "pv":
            avail = _arr(a["available_mw"], N)
            c = a.get("curtailment_cny_per_mwh", 0.0)
            for t in T:
                p = m.var(0, avail[t], cost=-c * dt)
                m.offset += c * dt * avail[t]
                put(node, t, {p: 1})
                renewable[t] = _add(renewable[t], {p: 1})
        elif kind == "load":
            d = _arr(a["demand_mw"], N)
            for t in T:
                put(node, t, {}, -d[t])
                use(t, {}, d[t])
        elif kind == "battery":
            E = a["energy_mwh"]
            pch = a.get("charge_power_mw", a.get("power_mw"))
            pdis = a.get("discharge_power_mw", a.get("power_mw"))
            ec, ed = a.get("charge_efficiency", 0.95), a.get("discharge_efficiency", 0.95)
            smin, smax, s0 = a.get("soc_min", 0.1), a.get("soc_max", 0.9), a.get("soc_initial", 0.5)
            sfin = a.get("soc_final_min", s0)
            keep = 1 - a.get("self_discharge_per_hour", 0.0) * dt
            prev: int | None = None
            dis_all = {}
            for t in T:
                ch, dis = m.var(0, pch), m.var(0, pdis, cost=a.get("degradation_cny_per_mwh", 0.0) * dt)
                b = m.var(binary=True)
                soc = m.var(smin * E, smax * E)
                m.row({ch: 1, b: -pch}, hi=0)
                m.row({dis: 1, b: pdis}, hi=pdis)
                # soc − keep·prev − ηc·Δ·ch + Δ/ηd·dis = (keep·soc0 at t = 0)
                row = {soc: 1.0, ch: -ec * dt, dis: dt / ed}
                if prev is None:
                    m.row(row, keep * s0 * E, keep * s0 * E)
                else:
                    row[prev] = -keep
                    m.row(row, 0, 0)
                prev = soc
                dis_all[dis] = dt
                put(node, t, {dis: 1, ch: -1})
            m.row({prev: 1}, lo=sfin * E)
            if a.get("max_cycles") is not None:
                m.row(dis_all, hi=a["max_cycles"] * E)
        elif kind == "curtailable_load":
            d = _arr(a["demand_mw"], N)
            R = np.minimum(_arr(a["max_reduction_mw"], N), d)
            D = a.get("min_duration_steps", 1)
            binaries = D > 1 or a.get("max_events") is not None
            rs, zs, ss = [], [], []
            for t in T:
                r = m.var(0, R[t], cost=a["cost_cny_per_mwh"] * dt)
                rs.append(r)
                put(node, t, {r: 1}, -d[t])
                use(t, {r: -1}, d[t])
                if binaries:
                    z, s = m.var(binary=True), m.var(0, 1)
                    zs.append(z)
                    ss.append(s)
                    m.row({r: 1, z: -R[t]}, hi=0)
                    m.row(_add({s: 1, z: -1}, {zs[t - 1]: 1} if t > 0 else {}), lo=0)
            if binaries:
                for t in T:
                    m.row(_add({zs[t]: 1}, {ss[k]: -1 for k in range(max(0, t - D + 1), t + 1)}), lo=0)
                if a.get("max_events") is not None:
                    m.row({s: 1 for s in ss}, hi=a["max_events"])
        elif kind == "shiftable_load":
            prof = a["profile_mw"]
            end = a.get("latest_end") or N
            starts = range(a.get("earliest_start", 0), end - len(prof) + 1)
            xs = {tau: m.var(binary=True) for tau in starts}
            m.row({x: 1 for x in xs.values()}, 1, 1)
            for t in T:
                c = {xs[tau]: prof[t - tau] for tau in starts if 0 <= t - tau < len(prof)}
                put(node, t, {j: -v for j, v in c.items()})
                use(t, c)
        elif kind == "flexible_load":
            lo, hi = _arr(a.get("min_power_mw", 0.0), N), _arr(a["max_power_mw"], N)
            ps = [m.var(lo[t], hi[t]) for t in T]
            m.row({p: dt for p in ps}, a["energy_mwh"], a["energy_mwh"])
            for req in a.get("requirements", []):
                m.row({ps[t]: dt for t in range(req["by_step"])}, lo=req["energy_mwh"])
            for t in T:
                put(node, t, {ps[t]: -1})
                use(t, {ps[t]: 1})
        elif kind == "green_contract":
            avail = _arr(a["available_mw"], N)
            mt = a.get("min_take", 0.0)
            optional = a.get("optional", True)
            x = m.var(binary=True, cost=a.get("fixed_cny", 0.0)) if optional else None
            if x is None:
                m.offset += a.get("fixed_cny", 0.0)
            for t in T:
                gv = m.var(0, avail[t], cost=a["price_cny_per_mwh"] * dt)
                if x is None:
                    m.row({gv: 1}, lo=mt * avail[t])
                else:
                    m.row({gv: 1, x: -avail[t]}, hi=0)
                    m.row({gv: 1, x: -mt * avail[t]}, lo=0)
                G[t] = _add(G[t], {gv: 1})
                # green energy is not bought at buy[t] and emits nothing
                m.cost[gv] -= dt * (buy[t] + carbon * emis[t])
        elif kind == "thermal_storage":
            cap = a["capacity_mwh_th"]
            h0 = a.get("level_initial", 0.5) * cap
            keep = 1 - a.get("loss_per_hour", 0.0) * dt
            dem = _arr(a["thermal_demand_mw"], N)
            prev = None
            for t in T:
                e, h, w = m.var(0, a["max_power_mw"]), m.var(0, cap), m.var(0, dem[t], cost=voll * dt)
                row = {h: 1.0, e: -a["cop"] * dt, w: -dt}
                rhs = -dem[t] * dt + (keep * h0 if prev is None else 0.0)
                if prev is not None:
                    row[prev] = -keep
                m.row(row, rhs, rhs)
                prev = h
                put(node, t, {e: -1})
                use(t, {e: 1})
            v = m.var(0, np.inf, cost=voll)  # the final shortfall [MWh_th] (v2)
            m.row({prev: 1, v: 1}, lo=h0)

    # network (§2)
    flows = {}
    for n in nodes:
        cap, up = n.get("capacity_mw"), n.get("export_capacity_mw", n.get("capacity_mw"))
        flows[n["id"]] = [m.var(-cap if cap is not None else -np.inf, up if up is not None else np.inf) for _ in T]
    children: dict[str, list[str]] = {k: [] for k in inj}
    for n in nodes:
        children[n.get("parent") or root].append(n["id"])
    for name in inj:
        for t in T:
            u = m.var(0, np.inf, cost=voll * dt)
            e, c = inj[name][t]
            row = _add(e, {u: 1}, {flows[ch][t]: 1 for ch in children[name]})
            if name == root:
                row = _add(row, {imp[t]: 1, exp[t]: -1})
            else:
                row = _add(row, {flows[name][t]: -1})
            m.row(row, -c, -c)
    for t in T:
        if G[t]:
            m.row(_add(G[t], {imp[t]: -1}), hi=0)
    if g.get("demand_charge_cny_per_mw", 0.0) > 0:
        peak = m.var(0, np.inf, cost=g["demand_charge_cny_per_mw"])
        for t in T:
            m.row({peak: 1, imp[t]: -1}, lo=0)

    # §5
    rho = data.get("green_share_min")
    if rho is not None:
        row: dict[int, float] = {}
        const = 0.0
        for t in T:
            row = _add(row, renewable[t], {exp[t]: -1}, G[t])
            e, c = consumption[t]
            row = _add(row, {j: -rho * a for j, a in e.items()})  # renewable − ρ·consumption ≥ ρ·(constant consumption)
            const += rho * c
        m.row(row, lo=const)
    for ev in data.get("demand_response") or []:
        base = _arr(ev["baseline_mw"], N)
        length = ev["end_step"] - ev["start_step"]
        revenue = ev["price_cny_per_mwh"] * ev["reduction_mw"] * length * dt
        w = m.var(binary=True, cost=-revenue) if ev.get("optional", True) else None
        if w is None:
            m.offset -= revenue
        for t in range(ev["start_step"], ev["end_step"]):
            sf = m.var(0, np.inf, cost=ev["shortfall_penalty_cny_per_mwh"] * dt)
            # v2: sf ≥ net − (baseline − A) − M·(1 − w), M = max(0, I − baseline + A): an event not
            # joined has no shortfall. sf − imp + exp − M·w ≥ −baseline + A − M  (w = 1: no M at all)
            A = ev["reduction_mw"]
            M = max(0.0, imax[t] - base[t] + A)
            row = {sf: 1.0, imp[t]: -1.0, exp[t]: 1.0}
            if w is None:
                m.row(row, lo=-base[t] + A)
            else:
                row[w] = -M
                m.row(row, lo=-base[t] + A - M)
    return m.solve()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_random_cases_same_objective_as_an_independent_formulation(data: dict[str, Any]) -> None:
    ours = solve_case(load_case(data), OPTS)
    assert ours.objective_cny == pytest.approx(spec_objective(data), rel=1e-6, abs=1e-4)


def test_independent_formulation_on_the_rich_and_hand_cases() -> None:
    from tests.models.test_residuals import RICH, _variant_star_half_hours
    from tests.models.test_solve import BATTERY_HAND

    assert spec_objective(BATTERY_HAND) == pytest.approx(257, rel=1e-9)
    for data in (RICH, _variant_star_half_hours(), BATTERY_HAND):
        ours = solve_case(load_case(data), OPTS)
        assert ours.objective_cny == pytest.approx(spec_objective(data), rel=1e-6)
