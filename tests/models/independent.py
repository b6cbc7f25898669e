"""An independent formulation of shared/spec/model.md (version 2), for the property tests.

Written from the spec's text, step by step with dictionaries of coefficients,
and solved with ``scipy.optimize.milp``: no product code, no Pyomo, no numpy
vector algebra of the product's kind. Where the spec allows two equivalent
statements, this file takes the other one on purpose: the regulation offer is a
variable per step held equal within its block by rows (the product has one
variable per block), the curtailable load's duration row is written for D = 1
too, the first-stage columns are shared through a registry keyed by name.
"""

from __future__ import annotations

import math
from copy import deepcopy
from typing import Any

import numpy as np


class Milp:
    """min c·x + offset  s.t.  lo ≤ A x ≤ hi, bounds, integrality; linear expressions are dicts."""

    def __init__(self) -> None:
        self.lb: list[float] = []
        self.ub: list[float] = []
        self.cost: list[float] = []
        self.integer: list[int] = []
        self.rows: list[tuple[dict[int, float], float, float]] = []
        self.offset = 0.0

    def var(self, lb: float = 0.0, ub: float = np.inf, binary: bool = False) -> int:
        self.lb.append(0.0 if binary else lb)
        self.ub.append(1.0 if binary else ub)
        self.cost.append(0.0)
        self.integer.append(1 if binary else 0)
        return len(self.lb) - 1

    def row(self, expr: dict[int, float], lo: float = -np.inf, hi: float = np.inf) -> None:
        self.rows.append((expr, lo, hi))

    def solve(self) -> float:
        from scipy.optimize import Bounds, LinearConstraint, milp
        from scipy.sparse import lil_array

        A = lil_array((max(len(self.rows), 1), len(self.lb)))
        for i, (expr, _, _) in enumerate(self.rows):
            for j, a in expr.items():
                A[i, j] += a
        lo = [r[1] for r in self.rows] or [-np.inf]
        hi = [r[2] for r in self.rows] or [np.inf]
        res = milp(np.array(self.cost), integrality=np.array(self.integer),
                   bounds=Bounds(np.array(self.lb), np.array(self.ub)),
                   constraints=LinearConstraint(A.tocsr(), lo, hi),
                   options={"mip_rel_gap": 1e-10, "time_limit": 60})
        if res.status == 2:
            raise IndependentInfeasible(res.message)
        assert res.status == 0, res.message
        return float(res.fun) + self.offset


class IndependentInfeasible(Exception):
    """The independent formulation proves the case infeasible."""


def add(*exprs: dict[int, float]) -> dict[int, float]:
    out: dict[int, float] = {}
    for e in exprs:
        for j, a in e.items():
            out[j] = out.get(j, 0.0) + a
    return out


def scale(e: dict[int, float], k: float) -> dict[int, float]:
    return {j: k * a for j, a in e.items()}


def arr(value: Any, n: int) -> list[float]:
    return [float(v) for v in value] if isinstance(value, list) else [float(value)] * n


class Cost:
    """A scenario's cost: second-stage terms (expression + constant) and first-stage ones."""

    def __init__(self) -> None:
        self.expr: dict[int, float] = {}
        self.const = 0.0
        self.first: dict[int, float] = {}
        self.first_const = 0.0

    def second(self, j: int, c: float) -> None:
        self.expr[j] = self.expr.get(j, 0.0) + c

    def stage1(self, j: int | None, c: float) -> None:
        if j is None:
            self.first_const += c
        else:
            self.first[j] = self.first.get(j, 0.0) + c


def scenario_data(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """The base case with a scenario's series in place (§6): keys ``<id>.<field>`` or ``grid.<field>``."""
    d = deepcopy(base)
    for key, value in overrides.items():
        owner, field = key.rsplit(".", 1)
        if owner == "grid":
            d["grid"][field] = value
            continue
        for a in d.get("assets", []):
            if a["id"] == owner:
                a[field] = value
        for ev in d.get("demand_response") or []:
            if ev["id"] == owner:
                ev[field] = value
    return d


def spec_objective(data: dict[str, Any]) -> float:
    """The optimal objective of a case by model.md version 2, formulated independently."""
    m = Milp()
    shared: dict[str, Any] = {}  # first-stage columns by name
    scenarios = data.get("scenarios") or [{"id": "", "probability": 1.0, "series": {}}]
    costs: list[tuple[float, Cost]] = []
    expected: dict[str, list[tuple[float, dict[int, float], float, float]]] = {}
    for sc in scenarios:
        d = scenario_data(data, sc.get("series") or {})
        cost = Cost()
        one_scenario(m, d, data, shared, cost, expected, float(sc["probability"]))
        costs.append((float(sc["probability"]), cost))
    # expected rows: Σ_s π_s·(expr_s) within Σ_s π_s·bounds
    for rows in expected.values():
        expr: dict[int, float] = {}
        lo = hi = 0.0
        for p, e, low, high in rows:
            expr = add(expr, scale(e, p))
            lo += p * low
            hi += p * high
        m.row(expr, lo, hi)
    # objective: first-stage terms once, second-stage weighted by probability
    _, c0 = costs[0]
    for j, a in c0.first.items():
        m.cost[j] += a
    m.offset += c0.first_const
    for p, c in costs:
        for j, a in c.expr.items():
            m.cost[j] += p * a
        m.offset += p * c.const
    risk = data.get("risk")
    if risk and risk.get("cvar_weight", 0.0) > 0:
        lam, beta = float(risk["cvar_weight"]), float(risk.get("cvar_beta", 0.9))
        eta = m.var(-np.inf, np.inf)
        m.cost[eta] += lam
        for p, c in costs:
            zeta = m.var(0, np.inf)
            m.cost[zeta] += lam * p / (1 - beta)
            # ζ_s ≥ C_s − η:  ζ − expr + η ≥ const
            m.row(add({zeta: 1.0, eta: 1.0}, scale(c.expr, -1.0)), lo=c.const)
    return m.solve()


def one_scenario(m: Milp, d: dict[str, Any], base: dict[str, Any], shared: dict[str, Any], cost: Cost,
                 expected: dict[str, list[tuple[float, dict[int, float], float, float]]], probability: float) -> None:
    N, dt = d["steps"], d["step_minutes"] / 60
    T = range(N)
    voll = d.get("voll_cny_per_mwh", 20000.0)
    network = d.get("network") or {}
    root = network.get("root") or "grid"
    nodes = network.get("nodes") or []
    g = d["grid"]
    buy, sell = arr(g["buy_cny_per_mwh"], N), arr(g.get("sell_cny_per_mwh", 0), N)
    emis = arr(g.get("emission_t_per_mwh", 0), N)
    imax, emax = arr(g["import_max_mw"], N), arr(g.get("export_max_mw", 0.0), N)
    carbon = d.get("carbon_price_cny_per_t", 0.0)
    reg = d.get("regulation")
    first = not shared.get("_declared")  # the first scenario states the first-stage rows

    def first_var(name: str, lb: float = 0.0, ub: float = np.inf, binary: bool = False) -> tuple[int, bool]:
        """A first-stage column by name, and whether it was new."""
        if name in shared:
            return shared[name], False
        shared[name] = m.var(lb, ub, binary)
        return shared[name], True

    inj: dict[str, list[tuple[dict[int, float], float]]] = {n: [({}, 0.0) for _ in T]
                                                          for n in [root, *(x["id"] for x in nodes)]}
    renewable: list[dict[int, float]] = [{} for _ in T]
    consumption: list[tuple[dict[int, float], float]] = [({}, 0.0) for _ in T]
    G: list[dict[int, float]] = [{} for _ in T]
    critical = [0.0] * N
    pv_avail = [0.0] * N
    reserve: list[dict[int, float]] = [{} for _ in T]
    reserve_const = [0.0] * N
    bands: list[tuple[str, list[int]]] = []  # (node, r per step) of each regulating battery
    span = 0.0

    def put(node: str, t: int, expr: dict[int, float], const: float = 0.0) -> None:
        e, c = inj[node][t]
        inj[node][t] = (add(e, expr), c + const)

    def use(t: int, expr: dict[int, float], const: float = 0.0) -> None:
        e, c = consumption[t]
        consumption[t] = (add(e, expr), c + const)

    # --- grid connection (§3) --------------------------------------------------------------------
    imp = [m.var(0, imax[t]) for t in T]
    exp = [m.var(0, emax[t]) for t in T]
    for t in T:
        if imax[t] > 0 and emax[t] > 0:
            y = m.var(binary=True)
            m.row({imp[t]: 1, y: -imax[t]}, hi=0)
            m.row({exp[t]: 1, y: emax[t]}, hi=emax[t])
        cost.second(imp[t], dt * (buy[t] + carbon * emis[t]))
        cost.second(exp[t], -dt * sell[t])

    for a in d.get("assets", []):
        node = a.get("node") or root
        kind = a["type"]
        aid = a["id"]
        if kind == "pv":
            avail = arr(a["available_mw"], N)
            c = a.get("curtailment_cny_per_mwh", 0.0)
            for t in T:
                p = m.var(0, avail[t])
                cost.second(p, -c * dt)
                cost.const += c * dt * avail[t]
                put(node, t, {p: 1})
                renewable[t] = add(renewable[t], {p: 1})
                pv_avail[t] += avail[t]
        elif kind == "load":
            dem = arr(a["demand_mw"], N)
            for t in T:
                put(node, t, {}, -dem[t])
                use(t, {}, dem[t])
                critical[t] += a.get("critical_fraction", 0.0) * dem[t]
        elif kind == "battery":
            E = a["energy_mwh"]
            pch = a.get("charge_power_mw", a.get("power_mw"))
            pdis = a.get("discharge_power_mw", a.get("power_mw"))
            ec, ed = a.get("charge_efficiency", 0.95), a.get("discharge_efficiency", 0.95)
            smin, smax, s0 = a.get("soc_min", 0.1), a.get("soc_max", 0.9), a.get("soc_initial", 0.5)
            sfin = a.get("soc_final_min", s0)
            keep = 1 - a.get("self_discharge_per_hour", 0.0) * dt
            regulating = reg is not None and a.get("regulation", False)
            r: list[int] = []
            if regulating:
                B = reg.get("block_steps", 1)
                for t in T:
                    rt, new = first_var(f"r/{aid}/{t}")
                    r.append(rt)
                    if new and t % B:
                        m.row({rt: 1, r[B * (t // B)]: -1}, 0, 0)  # constant within its block
                tau = reg.get("duration_h", 0.25)
                alpha = reg.get("deployment_fraction", 0.0)
                pi_c = arr(reg["capacity_price_cny_per_mw_h"], N)
                pi_m = arr(reg.get("mileage_price_cny_per_mw", 0.0), N)
                mu = reg.get("mileage_mw_per_mw_h", 0.0)
                K = a.get("regulation_performance", 1.0)
                if first:
                    for t in T:
                        cost.stage1(r[t], -dt * (pi_c[t] + pi_m[t] * mu * K))
                bands.append((node, r))
                span += pch + pdis
            prev: int | None = None
            dis_all = {}
            for t in T:
                ch, dis = m.var(0, pch), m.var(0, pdis)
                cost.second(dis, a.get("degradation_cny_per_mwh", 0.0) * dt)
                b = m.var(binary=True)
                soc = m.var(smin * E, smax * E)
                m.row({ch: 1, b: -pch}, hi=0)
                m.row({dis: 1, b: pdis}, hi=pdis)
                # soc − keep·prev − ηc·Δ·ch + Δ/ηd·dis + L = (keep·soc0 at t = 0)
                row = {soc: 1.0, ch: -ec * dt, dis: dt / ed}
                if regulating:
                    row[r[t]] = alpha * (1 / ed - ec) * dt
                    m.row({dis: 1, ch: -1, r[t]: 1}, hi=pdis)
                    m.row({ch: 1, dis: -1, r[t]: 1}, hi=pch)
                    m.row({soc: 1, r[t]: -tau / ed}, lo=smin * E)
                    m.row({soc: 1, r[t]: tau * ec}, hi=smax * E)
                    if prev is None:
                        m.row({r[t]: -tau / ed}, lo=smin * E - s0 * E)
                        m.row({r[t]: tau * ec}, hi=smax * E - s0 * E)
                    else:
                        m.row({prev: 1, r[t]: -tau / ed}, lo=smin * E)
                        m.row({prev: 1, r[t]: tau * ec}, hi=smax * E)
                if prev is None:
                    m.row(row, keep * s0 * E, keep * s0 * E)
                else:
                    row[prev] = -keep
                    m.row(row, 0, 0)
                prev = soc
                dis_all[dis] = dt
                put(node, t, {dis: 1, ch: -1})
                reserve[t] = add(reserve[t], {soc: ed})
                reserve_const[t] -= ed * smin * E
            m.row({prev: 1}, lo=sfin * E)
            if a.get("max_cycles") is not None:
                m.row(dis_all, hi=a["max_cycles"] * E)
        elif kind == "curtailable_load":
            dem = arr(a["demand_mw"], N)
            R = [min(x, y) for x, y in zip(arr(a["max_reduction_mw"], N), dem, strict=True)]
            rmin = arr(a.get("min_reduction_mw", 0.0), N)
            D = a.get("min_duration_steps", 1)
            start = a.get("start_cny", 0.0)
            binaries = D > 1 or a.get("max_events") is not None or start > 0 or any(v > 0 for v in rmin)
            zs, ss = [], []
            for t in T:
                r_ = m.var(0, R[t])
                cost.second(r_, a["cost_cny_per_mwh"] * dt)
                put(node, t, {r_: 1}, -dem[t])
                use(t, {r_: -1}, dem[t])
                critical[t] += a.get("critical_fraction", 0.0) * dem[t]
                if binaries:
                    z, s = m.var(binary=True), m.var(0, 1)
                    cost.second(s, start)
                    zs.append(z)
                    ss.append(s)
                    m.row({r_: 1, z: -R[t]}, hi=0)
                    m.row({r_: 1, z: -min(rmin[t], R[t])}, lo=0)
                    m.row(add({s: 1, z: -1}, {zs[t - 1]: 1} if t > 0 else {}), lo=0)
            if binaries:
                for t in T:
                    m.row(add({zs[t]: 1}, {ss[k]: -1 for k in range(max(0, t - D + 1), t + 1)}), lo=0)
                if a.get("max_events") is not None:
                    m.row({s: 1 for s in ss}, hi=a["max_events"])
        elif kind == "shiftable_load":
            prof = a["profile_mw"]
            end = a.get("latest_end") or N
            starts = range(a.get("earliest_start", 0), end - len(prof) + 1)
            xs = {}
            for tau in starts:
                xs[tau], _ = first_var(f"x/{aid}/{tau}", binary=True)
            if first:
                m.row({x: 1 for x in xs.values()}, 1, 1)
            for t in T:
                c = {xs[tau]: prof[t - tau] for tau in starts if 0 <= t - tau < len(prof)}
                put(node, t, {j: -v for j, v in c.items()})
                use(t, c)
        elif kind == "flexible_load":
            lo, hi = arr(a.get("min_power_mw", 0.0), N), arr(a["max_power_mw"], N)
            ps = [m.var(lo[t], hi[t]) for t in T]
            m.row({p: dt for p in ps}, a["energy_mwh"], a["energy_mwh"])
            for req in a.get("requirements", []):
                m.row({ps[t]: dt for t in range(req["by_step"])}, lo=req["energy_mwh"])
            for t in T:
                put(node, t, {ps[t]: -1})
                use(t, {ps[t]: 1})
        elif kind == "green_contract":
            avail = arr(a["available_mw"], N)
            mt = a.get("min_take", 0.0)
            optional = a.get("optional", True)
            x = None
            if optional:
                x, _ = first_var(f"x/{aid}", binary=True)
            if first:
                cost.stage1(x, a.get("fixed_cny", 0.0))
            for t in T:
                gv = m.var(0, avail[t])
                cost.second(gv, a["price_cny_per_mwh"] * dt - dt * (buy[t] + carbon * emis[t]))
                if x is None:
                    m.row({gv: 1}, lo=mt * avail[t])
                else:
                    m.row({gv: 1, x: -avail[t]}, hi=0)
                    m.row({gv: 1, x: -mt * avail[t]}, lo=0)
                G[t] = add(G[t], {gv: 1})
                renewable[t] = add(renewable[t], {gv: 1})
        elif kind == "thermal_storage":
            cap = a["capacity_mwh_th"]
            h0 = a.get("level_initial", 0.5) * cap
            keep = 1 - a.get("loss_per_hour", 0.0) * dt
            dem = arr(a["thermal_demand_mw"], N)
            prev = None
            for t in T:
                e, h, w = m.var(0, a["max_power_mw"]), m.var(0, cap), m.var(0, dem[t])
                cost.second(w, voll * dt)
                row = {h: 1.0, e: -a["cop"] * dt, w: -dt}
                rhs = -dem[t] * dt + (keep * h0 if prev is None else 0.0)
                if prev is not None:
                    row[prev] = -keep
                m.row(row, rhs, rhs)
                prev = h
                put(node, t, {e: -1})
                use(t, {e: 1})
            v = m.var(0, np.inf)
            cost.second(v, voll)
            m.row({prev: 1, v: 1}, lo=h0)

    for t in T:
        if G[t]:
            m.row(add(G[t], {imp[t]: -1}), hi=0)

    # demand charge
    c = g.get("demand_charge_cny_per_mw", 0.0)
    if c > 0:
        phat = g.get("peak_to_date_mw", 0.0)
        peak = m.var(phat, np.inf)
        for t in T:
            m.row({peak: 1, imp[t]: -1}, lo=0)
        dd = g.get("declared_demand_mw")
        if dd is None:
            cost.second(peak, c)
            cost.const -= c * phat
        else:
            x = m.var(0, np.inf)
            m.row({x: 1, peak: -1}, lo=-1.05 * dd)
            cost.second(x, 2 * c)
            cost.const -= 2 * c * max(0.0, phat - 1.05 * dd)

    # declared plan and deviations
    dev = g.get("deviation")
    if dev is not None:
        eps = arr(dev.get("tolerance_mw", 0.0), N)
        cplus, cminus = arr(dev["short_cny_per_mwh"], N), arr(dev["long_cny_per_mwh"], N)
        sched = g.get("schedule_mw")
        bimax, bemax = arr(base["grid"]["import_max_mw"], N), arr(base["grid"].get("export_max_mw", 0.0), N)
        for t in T:
            dp, dm = m.var(0, np.inf), m.var(0, np.inf)
            cost.second(dp, dt * cplus[t])
            cost.second(dm, dt * cminus[t])
            if sched is not None:
                D = arr(sched, N)[t]
                m.row({dp: 1, imp[t]: -1, exp[t]: 1}, lo=-D - eps[t])
                m.row({dm: 1, imp[t]: 1, exp[t]: -1}, lo=D - eps[t])
            else:
                Dv, _ = first_var(f"plan/{t}", -bemax[t], bimax[t])
                m.row({dp: 1, imp[t]: -1, exp[t]: 1, Dv: 1}, lo=-eps[t])
                m.row({dm: 1, imp[t]: 1, exp[t]: -1, Dv: -1}, lo=-eps[t])

    # network (§2)
    flows = {}
    for n in nodes:
        cap, up = n.get("capacity_mw"), n.get("export_capacity_mw", n.get("capacity_mw"))
        flows[n["id"]] = [m.var(-cap if cap is not None else -np.inf, up if up is not None else np.inf) for _ in T]
    children: dict[str, list[str]] = {k: [] for k in inj}
    parent = {}
    for n in nodes:
        parent[n["id"]] = n.get("parent") or root
        children[parent[n["id"]]].append(n["id"])
    for name in inj:
        for t in T:
            u = m.var(0, np.inf)
            cost.second(u, voll * dt)
            e, k = inj[name][t]
            row = add(e, {u: 1}, {flows[ch][t]: 1 for ch in children[name]})
            if name == root:
                row = add(row, {imp[t]: 1, exp[t]: -1})
            else:
                row = add(row, {flows[name][t]: -1})
            m.row(row, -k, -k)

    # regulation: the aggregate offer, its minimum, the band on every branch and at the root (§5.4)
    if reg is not None and bands:
        Rg = [add(*({r[t]: 1.0} for _, r in bands)) for t in T]
        B = reg.get("block_steps", 1)
        rmin_offer = reg.get("min_offer_mw", 0.0)
        if rmin_offer > 0 and first:
            os_: list[int] = []
            for t in T:
                o, _ = first_var(f"o/{t}", binary=True)
                os_.append(o)
                if t % B:
                    m.row({o: 1, os_[B * (t // B)]: -1}, 0, 0)
                m.row(add(Rg[t], {o: -rmin_offer}), lo=0)
                m.row(add(Rg[t], {o: -span}), hi=0)
        for n in nodes:
            nid = n["id"]
            inside = []
            for at, r in bands:
                walk = at
                while walk != root and walk != nid:
                    walk = parent[walk]
                if walk == nid:
                    inside.append(r)
            if not inside:
                continue
            cap, up = n.get("capacity_mw"), n.get("export_capacity_mw", n.get("capacity_mw"))
            for t in T:
                band = add(*({r[t]: 1.0} for r in inside))
                if up is not None:
                    m.row(add({flows[nid][t]: 1}, band), hi=up)
                if cap is not None:
                    m.row(add({flows[nid][t]: 1}, scale(band, -1)), lo=-cap)
        for t in T:
            m.row(add({imp[t]: 1, exp[t]: -1}, Rg[t]), hi=imax[t])
            m.row(add({imp[t]: 1, exp[t]: -1}, scale(Rg[t], -1)), lo=-emax[t])

    # green share (§5.1), in expectation
    rho = d.get("green_share_min")
    if rho is not None:
        row: dict[int, float] = {}
        const = 0.0
        for t in T:
            row = add(row, renewable[t], {exp[t]: -1})
            e, k = consumption[t]
            row = add(row, scale(e, -rho))
            const += rho * k
        expected.setdefault("green_share", []).append((probability, scale(row, dt), dt * const, np.inf))

    # emissions cap (§5.3), in expectation
    emax_t = d.get("emissions_max_t")
    if emax_t is not None:
        row = {}
        for t in T:
            row = add(row, {imp[t]: emis[t] * dt}, scale(G[t], -emis[t] * dt))
        expected.setdefault("emissions", []).append((probability, row, -np.inf, emax_t))

    # backup reserve (§5.5)
    H = d.get("backup_hours")
    if H is not None:
        K = math.ceil(H / dt - 1e-9)
        short = [max(0.0, critical[t] - pv_avail[t]) * dt for t in T]
        for t in T:
            Q = sum(short[(t + k) % N] for k in range(1, K + 1))
            m.row(reserve[t], lo=Q - reserve_const[t])

    # demand response (§5.2)
    for ev in d.get("demand_response") or []:
        bl = arr(ev["baseline_mw"], N)
        length = ev["end_step"] - ev["start_step"]
        valley = ev.get("kind", "peak_shaving") == "valley_filling"
        A = ev["increase_mw"] if valley else ev["reduction_mw"]
        revenue = ev["price_cny_per_mwh"] * A * length * dt
        w = None
        if ev.get("optional", True):
            w, _ = first_var(f"w/{ev['id']}", binary=True)
        if first:
            cost.stage1(w, -revenue)
        for t in range(ev["start_step"], ev["end_step"]):
            sf = m.var(0, np.inf)
            cost.second(sf, ev["shortfall_penalty_cny_per_mwh"] * dt)
            if valley:
                M = max(0.0, bl[t] + A + emax[t])
                # sf ≥ (bl + A) − net − M(1 − w):  sf + imp − exp − M·w ≥ bl + A − M
                row = {sf: 1.0, imp[t]: 1.0, exp[t]: -1.0}
                target = bl[t] + A
            else:
                M = max(0.0, imax[t] - bl[t] + A)
                # sf ≥ net − (bl − A) − M(1 − w):  sf − imp + exp − M·w ≥ −bl + A − M
                row = {sf: 1.0, imp[t]: -1.0, exp[t]: 1.0}
                target = -bl[t] + A
            if w is None:
                m.row(row, lo=target)
            else:
                row[w] = -M
                m.row(row, lo=target - M)
    shared["_declared"] = True
