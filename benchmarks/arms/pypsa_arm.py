"""The PyPSA arm: the canonical case as a ``pypsa.Network``, optimised through linopy and HiGHS.

PyPSA is the best-known open energy-system modelling framework, so this arm is
the peer the product's modelling overhead is compared with. PyPSA writes a
linear programme: it has no charge/discharge or import/export exclusivity
binaries. The arm therefore solves only the cases whose optimum the spec's
binaries cannot change (:func:`supports`), and :func:`restrict` turns any case
into one of those for the benchmark runner.

Mapping (``shared/spec/model.md``; Δ = step_minutes/60 h; every snapshot
weighting — objective, generators, stores — is Δ):

=========================  ====================================================================
spec                       PyPSA
=========================  ====================================================================
root, node n               Bus ``bus:<id>``
branch f[n] (upwards)      Link ``branch:<n>``: bus0 = n, bus1 = parent, efficiency 1 (lossless),
                           p_nom = max of the finite limits (else 1),
                           p_max_pu = up limit/p_nom, p_min_pu = −capacity/p_nom (±inf if absent)
imp                        Generator ``grid:import`` at the root, p_nom = import_max,
                           marginal cost buy[t] + carbon·emission[t]
demand charge              the same generator extendable: p_nom_max = import_max,
                           capital_cost = demand_charge (p ≤ p_nom is ``peak ≥ imp``)
exp                        Generator ``grid:export``, p_nom = export_max, p_min_pu = −1,
                           p_max_pu = 0, marginal cost sell[t] (cost sell·p = −sell·exp)
u[n]                       Generator ``unserved:<bus>`` at every bus, p_nom = inf, cost voll
pv                         Generator ``pv:<id>``, p_nom = max available, p_max_pu = available/p_nom,
                           marginal cost −c_curt; the constant c_curt·Δ·Σ available is added to
                           the objective (c_curt·(avail − p) = c_curt·avail − c_curt·p)
load                       Load ``load:<id>``, p_set = demand
curtailable_load (no       Load ``load:<id>`` (demand) + Generator ``reduce:<id>`` (r),
binaries)                  p_max_pu = min(max_reduction, demand)/p_nom, marginal cost c
battery                    Bus ``bat:<id>``; Store ``soc:<id>`` (e_nom = E, e_initial = (1 − σΔ)·soc_initial·E
                           (PyPSA's first snapshot starts from e_initial with no standing loss),
                           e_min_pu = soc_min except the last snapshot: max(soc_min, soc_final_min),
                           e_max_pu = soc_max, standing_loss s with (1 − s)^Δ = 1 − σΔ);
                           Link ``charge:<id>`` node → bat bus, efficiency ηc, p_nom = Pch;
                           Link ``discharge:<id>`` bat bus → node, efficiency ηd, p_nom = Pdis/ηd
                           (its p0 is dis/ηd), marginal cost degradation·ηd (= degradation per MWh
                           discharged); max_cycles: the linopy row Σ_t Δ·p0 ≤ max_cycles·E/ηd
flexible_load              Bus ``flex:<id>``; Link ``flex:<id>`` node → flex bus, p_min_pu/p_max_pu =
                           min/max power over p_nom; Store ``flex:<id>`` (cumulative energy taken):
                           e_nom = energy, e_initial = 0, e_min_pu = E_k/energy at snapshot k − 1 of
                           each requirement and 1 at the last snapshot (Σ p·Δ = energy)
thermal_storage            Bus ``heat:<id>``; Link ``chiller:<id>`` node → heat bus, efficiency cop,
                           p_nom = max_power; Load ``heat:<id>`` (thermal demand); Generator
                           ``unserved:heat:<id>`` (w, cost voll); Store ``heat:<id>`` (e_nom =
                           capacity, e_initial = (1 − λΔ)·level_initial·capacity, last e_min_pu =
                           level_initial, standing loss from loss_per_hour as for batteries)
=========================  ====================================================================

Not expressible (rejected by :func:`supports`, removed by :func:`restrict`):
green contracts (binary take-or-not, ``G ≤ imp``), demand-response events (binary
join; peak shaving and valley filling alike), a green-share target, shiftable loads
(binary start), curtailable loads with event binaries (``min_duration_steps > 1``,
``max_events``, ``min_reduction_mw`` or ``start_cny``), export together with import
when selling can pay more than buying (the import/export binary), batteries in a
case where wasting energy can pay (below), and what model version 2 adds beyond the
arm's mapping: grid maxima that change over the day (an outage is a step where both
are 0; the connection is one generator of fixed ``p_nom``, whose extendable ``p_nom``
is the demand-charge peak), a demand charge above a peak to date or a declared demand,
deviations from a declared plan, an emissions cap, a backup reserve (``backup_hours``),
frequency regulation (the band, its headroom on batteries, branches and the connection,
its revenue) and two-stage scenarios.

**Why the LP is exact.** With both grid maxima positive the spec forbids
importing and exporting at once. In the LP, doing both at step t is a no-op for
energy and costs (buy + carbon·emission − sell)·Δ per MW, so when
sell[t] ≤ buy[t] + carbon·emission[t] at every step an LP optimum with both at
once is never better than the same optimum with the smaller of the two
subtracted from both; the binary cannot change the optimum.

A battery that charges and discharges in the same step is a lossy loop: it
consumes ``(1 − ηc·ηd)`` of what circulates and pays degradation, and changes
nothing else (reducing ``ch`` by ε and ``dis`` by ηc·ηd·ε keeps every level
unchanged). So the LP can undercut the MIP only by using the loop to *dispose* of
energy that the system cannot refuse for free. Energy enters at a step only
from import, PV, unserved energy, curtailable-load reduction, or a battery's
initial level. When

- buy[t] + carbon·emission[t] ≥ 0 at every step (no import at a negative price),
- every PV curtailment cost ≤ 0 (curtailing is free: PV never *must* run),
- every curtailable-load cost ≥ 0 (reducing load never pays by itself), and
- every battery can hold its initial level: (1 − σΔ)·soc_initial ≤ soc_max (no
  discharge forced at step 0),

each of those sources can be turned down at no extra cost (unserved energy
costs voll ≥ 0; less import also never raises a demand-charge peak), so the
energy that feeds a loop — traced back through branches and storage levels to
where it entered — can be removed together with the loop: the LP optimum is
attained by a schedule without simultaneous charge and discharge, which is
feasible for the MIP, so the two optima are equal. In LP-duality terms: a loop
at node n and step t needs the node's price there to be ≤ 0 (< 0 when the
battery has degradation cost), and without a source that must run no price
falls below 0. The conditions are sufficient, not necessary; the tests show
the LP undercutting the MIP on cases that break the price conditions. They are
checked only when some battery can both charge and discharge: without one the
LP is the MIP, and PV curtailment costs or negative prices of any sign are
expressed exactly.

Phases: ``build`` = case → ``pypsa.Network`` with its components; ``handover`` =
``n.optimize.create_model()`` (the linopy model) plus linopy's direct HiGHS
build (``linopy.solvers.Solver.from_name(..., io_api="direct")``, i.e.
``addVars``/``addRows`` into a ``highspy.Highs``); ``solve`` = HiGHS's own run
time (``Highs.getRunTime``); ``extract`` = the rest of linopy's solve call
(reading the solution from HiGHS), ``Model.assign_result``,
``n.optimize.assign_solution()`` and reading ``n.generators_t.p`` etc. into
per-step arrays. PyPSA's consistency check, duals and post-processing are not
run (``n.optimize()`` would run them).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.arms import ArmResult, Settings
from vpp.case import (
    PV,
    Battery,
    Case,
    CurtailableLoad,
    FlexibleLoad,
    GreenContract,
    Load,
    ShiftableLoad,
    ThermalStorage,
    load_case,
)

NAME = "pypsa"
REQUIRES = ("pypsa",)
"""Packages the arm needs beyond the product's (the ``bench`` extra): it is skipped, with a note, without them."""
IO_API = "direct"  # linopy → HiGHS through highspy's API ("lp" would write and read an LP file)
_TOL = 1e-9

# ---------------------------------------------------------------------------
# What PyPSA can express
# ---------------------------------------------------------------------------


def _keep(rate_per_hour: float, dt: float) -> float:
    """Fraction of a stored level kept over one step: 1 − rate·Δ [-]."""
    return 1.0 - rate_per_hour * dt


def _can_loop(b: Battery) -> bool:
    """Whether a battery can charge and discharge at once in the LP (both power limits > 0)."""
    return b.charge_mw > 0 and b.discharge_mw > 0


def _import_cost(case: Case) -> np.ndarray:
    """Marginal cost of one MWh imported [CNY/MWh]: buy + carbon price · emission factor."""
    return case.series(case.grid.buy_cny_per_mwh) + case.carbon_price_cny_per_t * case.series(
        case.grid.emission_t_per_mwh
    )


def _grid_max(case: Case, value: float | list[float]) -> float:
    """The largest value of a grid maximum (a number or a series) [MW]."""
    return float(case.series(value).max())


def _export_binary_needed(case: Case) -> bool:
    g = case.grid
    return _grid_max(case, g.import_max_mw) > 0 and _grid_max(case, g.export_max_mw) > 0


def _varies(case: Case, value: float | list[float]) -> bool:
    series = case.series(value)
    return bool(series.size) and bool(np.ptp(series) > _TOL)


def _version2_problems(case: Case) -> list[str]:
    """What model version 2 adds that the arm's mapping does not write (empty: nothing)."""
    out = []
    g = case.grid
    imax, emax = case.series(g.import_max_mw), case.series(g.export_max_mw)
    if _varies(case, g.import_max_mw) or _varies(case, g.export_max_mw):
        outage = (imax <= _TOL) & (emax <= _TOL)
        where = f" (an outage, both 0, at steps {_steps(outage)})" if outage.any() else ""
        out.append(f"grid maxima that change over the day{where}: the connection is one generator of fixed p_nom")
    if g.demand_charge_cny_per_mw > 0 and (g.peak_to_date_mw > 0 or g.declared_demand_mw is not None):
        out.append("peak_to_date_mw / declared_demand_mw: a demand charge on raising a peak to date or above 105 % "
                   "of a declaration is not the arm's c·peak")
    if g.deviation is not None:
        out.append("grid.deviation: charges on deviations from a declared plan have no PyPSA component")
    if case.emissions_max_t is not None:
        out.append("emissions_max_t: a cap on the horizon's emissions has no PyPSA constraint in the arm")
    if case.backup_hours is not None:
        out.append("backup_hours: the batteries' backup reserve for an outage has no PyPSA constraint in the arm")
    regulating = [b.id for b in case.assets_of(Battery) if b.regulation] if case.regulation is not None else []
    if regulating:
        out.append(f"frequency regulation by {regulating}: the band, its headroom in power, energy and on every "
                   "branch and the connection, and its revenue have no PyPSA component")
    if case.scenarios:
        out.append("scenarios: a two-stage stochastic day has no PyPSA counterpart in the arm")
    return out


def _steps(mask: np.ndarray) -> str:
    idx = np.flatnonzero(mask)
    more = f" … ({idx.size} steps)" if idx.size > 5 else ""
    return ", ".join(str(i) for i in idx[:5]) + more


def _loop_problems(case: Case) -> list[str]:
    """Why simultaneous charge and discharge could pay in the LP (empty: it cannot)."""
    if not any(_can_loop(b) for b in case.assets_of(Battery)):
        return []
    out = []
    cost = _import_cost(case)
    if (cost < -_TOL).any():
        out.append(
            "buy + carbon·emission < 0 at steps "
            f"{_steps(cost < -_TOL)}: with a negative import price a battery could waste energy "
            "by charging and discharging at once, which the LP allows and the spec's binary forbids"
        )
    for a in case.assets:
        if isinstance(a, PV) and a.curtailment_cny_per_mwh > _TOL:
            out.append(
                f"PV {a.id!r} has curtailment cost {a.curtailment_cny_per_mwh:g} CNY/MWh > 0: running PV "
                "would beat curtailing it, so a battery could waste the surplus by charging and "
                "discharging at once (LP only)"
            )
        elif isinstance(a, CurtailableLoad) and a.cost_cny_per_mwh < -_TOL:
            out.append(
                f"curtailable load {a.id!r} has a negative cost {a.cost_cny_per_mwh:g} CNY/MWh: reducing "
                "it pays by itself, so a battery could waste the freed energy (LP only)"
            )
        elif isinstance(a, Battery):
            kept = _keep(a.self_discharge_per_hour, case.dt_hours) * a.soc_initial
            if kept > a.soc_max + _TOL:
                out.append(
                    f"battery {a.id!r} starts above soc_max (soc_initial {a.soc_initial:g} after one step "
                    f"of self-discharge is {kept:g} > {a.soc_max:g}): the forced discharge could be wasted "
                    "by charging and discharging at once (LP only)"
                )
    return out


def supports(case: Case) -> str | None:
    """``None`` when PyPSA's LP has the same optimum as the spec's MIP on ``case``, else why not.

    See the module docstring for the argument behind each condition.
    """
    reasons: list[str] = []
    kinds = {type(a) for a in case.assets}
    if GreenContract in kinds:
        reasons.append("green contracts: binary take-or-not and G ≤ imp have no PyPSA component")
    if ShiftableLoad in kinds:
        reasons.append("shiftable loads: the binary start time has no PyPSA component")
    binary_curtail = [a.id for a in case.assets_of(CurtailableLoad) if a.needs_binaries]
    if binary_curtail:
        reasons.append(
            f"curtailable loads {binary_curtail} need event binaries "
            "(min_duration_steps > 1, max_events, min_reduction_mw or start_cny)"
        )
    if case.demand_response:
        kinds_of = sorted({ev.kind.replace("_", " ") for ev in case.demand_response})
        reasons.append(f"demand-response events ({', '.join(kinds_of)}): the event and its join decision "
                       "have no PyPSA component")
    if case.green_share_min:
        reasons.append("green_share_min: a renewable share of consumption has no PyPSA constraint")
    if _export_binary_needed(case):
        sell = case.series(case.grid.sell_cny_per_mwh)
        bad = sell > _import_cost(case) + _TOL
        if bad.any():
            reasons.append(
                "export with import: sell > buy + carbon·emission at steps "
                f"{_steps(bad)}, so the LP would import and export at once where the spec's binary forbids it"
            )
    reasons.extend(_version2_problems(case))
    reasons.extend(_loop_problems(case))
    return "; ".join(reasons) if reasons else None


def restrict(case: Case) -> Case:
    """The part of ``case`` that PyPSA expresses exactly: a case :func:`supports` accepts.

    Drops green contracts, demand-response events, the green-share target and
    shiftable loads; keeps curtailable loads but without their event rules
    (``min_duration_steps`` 1, no ``max_events``, ``min_reduction_mw`` or ``start_cny``);
    drops export when selling can pay more than buying; of model version 2 it drops
    the regulation market, the scenarios and their risk term, the emissions cap, the
    backup reserve, the deviation charges and their plan, the peak to date and the
    declared demand, and holds each grid maximum at its largest value. When a battery can both charge and discharge it also
    clips what would make wasting energy pay: import prices to
    buy ≥ −carbon·emission, PV curtailment costs to ≤ 0, curtailable-load costs
    to ≥ 0, and the soc_initial of a battery that starts above soc_max (after one
    step of self-discharge) to soc_max, lowering an explicit soc_final_min only
    if it becomes unreachable. A case already supported is
    returned unchanged.
    """
    if supports(case) is None:
        return case
    data = case.model_dump(mode="python")
    data["demand_response"] = []
    data["green_share_min"] = None
    data.update(regulation=None, scenarios=None, risk=None, emissions_max_t=None, backup_hours=None)
    assets = []
    for a in data["assets"]:
        if a["type"] in ("green_contract", "shiftable_load"):
            continue
        if a["type"] == "curtailable_load":
            a.update(min_duration_steps=1, max_events=None, min_reduction_mw=0.0, start_cny=0.0)
        assets.append(a)
    data["assets"] = assets
    grid = data["grid"]
    g = case.grid
    grid.update(deviation=None, schedule_mw=None, peak_to_date_mw=0.0, declared_demand_mw=None,
                import_max_mw=_grid_max(case, g.import_max_mw), export_max_mw=_grid_max(case, g.export_max_mw))
    if _export_binary_needed(case):
        sell = case.series(case.grid.sell_cny_per_mwh)
        if (sell > _import_cost(case) + _TOL).any():
            grid["export_max_mw"] = 0.0
            grid["sell_cny_per_mwh"] = 0.0
    if any(_can_loop(b) for b in case.assets_of(Battery)):
        carbon = case.carbon_price_cny_per_t * case.series(case.grid.emission_t_per_mwh)
        buy = case.series(case.grid.buy_cny_per_mwh)
        if (buy + carbon < -_TOL).any():
            grid["buy_cny_per_mwh"] = np.maximum(buy, -carbon).tolist()
        dt, n = case.dt_hours, case.steps
        for a in assets:
            if a["type"] == "pv":
                a["curtailment_cny_per_mwh"] = min(a["curtailment_cny_per_mwh"], 0.0)
            elif a["type"] == "curtailable_load":
                a["cost_cny_per_mwh"] = max(a["cost_cny_per_mwh"], 0.0)
            elif a["type"] == "battery" and (
                _keep(a["self_discharge_per_hour"], dt) * a["soc_initial"] > a["soc_max"] + _TOL
            ):
                b = Battery.model_validate(a)
                a["soc_initial"] = b.soc_max
                if b.soc_final_min is not None and b.energy_mwh > 0:
                    reach = b.soc_max + b.charge_efficiency * b.charge_mw * n * dt / b.energy_mwh
                    a["soc_final_min"] = min(b.soc_final_min, reach)
    return load_case(data)


# ---------------------------------------------------------------------------
# The network
# ---------------------------------------------------------------------------


@dataclass
class Schedule:
    """Per-step results read back from PyPSA [MW unless named otherwise]."""

    import_mw: np.ndarray
    export_mw: np.ndarray
    flow_mw: dict[str, np.ndarray]  # branch of each node to its parent, positive upwards
    unserved_mw: dict[str, np.ndarray]  # by node (the root included)
    assets: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)


@dataclass
class _Built:
    network: Any  # pypsa.Network
    constant_cny: float  # objective terms PyPSA cannot carry (PV curtailment of the available energy)
    max_cycles: dict[str, float]  # discharge link → limit on Σ Δ·p0 [MWh of stored energy]


def _pypsa() -> Any:
    """Import PyPSA quietly (its logging and warnings off)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pypsa
    for name in ("pypsa", "linopy", "highspy"):
        logging.getLogger(name).setLevel(logging.ERROR)
    return pypsa


def _standing_loss(rate_per_hour: float, dt: float) -> float:
    """PyPSA's per-hour standing loss s with (1 − s)^Δ = 1 − rate·Δ (the spec's linear loss per step)."""
    keep = max(_keep(rate_per_hour, dt), 0.0)
    return 1.0 - keep ** (1.0 / dt)


def _nom(values: np.ndarray) -> float:
    """A nominal size for per-unit series: the largest value, or 1 when all are 0 [MW or MWh]."""
    top = float(np.max(values)) if values.size else 0.0
    return top if top > 0 else 1.0


class _Adder:
    """Collects components per class and adds each class to the network in one vectorised call."""

    def __init__(self, sns: pd.Index) -> None:
        self.sns = sns
        self.rows: dict[str, list[dict[str, Any]]] = {}

    def add(self, cls: str, name: str, **attrs: Any) -> None:
        self.rows.setdefault(cls, []).append({"name": name, **attrs})

    def flush(self, n: Any) -> None:
        for cls in ("Bus", "Generator", "Load", "Link", "Store"):
            rows = self.rows.get(cls)
            if not rows:
                continue
            names = [r["name"] for r in rows]
            keys = sorted({k for r in rows for k in r} - {"name"})
            kwargs: dict[str, Any] = {}
            for k in keys:
                vals = [r.get(k) for r in rows]
                if any(isinstance(v, np.ndarray) for v in vals):
                    kwargs[k] = pd.DataFrame(
                        {nm: (v if isinstance(v, np.ndarray) else np.full(len(self.sns), _default(k, v)))
                         for nm, v in zip(names, vals, strict=True)},
                        index=self.sns,
                    )
                else:
                    kwargs[k] = pd.Series([_default(k, v) for v in vals], index=names)
            n.add(cls, pd.Index(names), **kwargs)


_DEFAULTS = {
    "marginal_cost": 0.0, "p_min_pu": 0.0, "p_max_pu": 1.0, "efficiency": 1.0, "e_min_pu": 0.0,
    "e_max_pu": 1.0, "e_initial": 0.0, "standing_loss": 0.0, "p_nom": 0.0, "capital_cost": 0.0,
    "p_nom_extendable": False, "p_nom_max": np.inf, "p_nom_min": 0.0, "p_set": 0.0, "e_nom": 0.0,
}


def _default(key: str, value: Any) -> Any:
    """``value``, or PyPSA's default of attribute ``key`` when the component did not set it."""
    return _DEFAULTS.get(key) if value is None else value


def build_network(case: Case) -> _Built:
    """The PyPSA network of ``case`` (see the mapping in the module docstring); warnings are the caller's."""
    pypsa = _pypsa()
    N, dt = case.steps, case.dt_hours
    root = case.network.root
    sns = pd.RangeIndex(N, name="snapshot")
    n = pypsa.Network()
    n.set_snapshots(sns)
    n.snapshot_weightings = pd.DataFrame(
        dt, index=n.snapshots, columns=n.snapshot_weightings.columns, dtype=float
    )
    add = _Adder(n.snapshots)
    bus = {x: f"bus:{x}" for x in [root, *case.node_ids]}
    for b in bus.values():
        add.add("Bus", b)
        add.add("Generator", f"unserved:{b}", bus=b, p_nom=np.inf, marginal_cost=case.voll_cny_per_mwh)

    for node in case.network.nodes:
        cap, up = node.capacity_mw, node.up_limit_mw
        nom = max([x for x in (cap, up) if x is not None and x > 0], default=1.0)
        add.add(
            "Link", f"branch:{node.id}", bus0=bus[node.id], bus1=bus[case.parent_of(node)], p_nom=nom,
            p_max_pu=np.inf if up is None else up / nom, p_min_pu=-np.inf if cap is None else -cap / nom,
        )

    g = case.grid
    cost = _import_cost(case)
    import_max, export_max = _grid_max(case, g.import_max_mw), _grid_max(case, g.export_max_mw)  # constant here
    imp: dict[str, Any] = dict(bus=bus[root], p_nom=import_max, marginal_cost=cost)
    if g.demand_charge_cny_per_mw > 0:
        imp.update(p_nom=0.0, p_nom_extendable=True, p_nom_min=0.0, p_nom_max=import_max,
                   capital_cost=g.demand_charge_cny_per_mw)
    add.add("Generator", "grid:import", **imp)
    if export_max > 0:
        add.add("Generator", "grid:export", bus=bus[root], p_nom=export_max, p_min_pu=-1.0,
                p_max_pu=0.0, marginal_cost=case.series(g.sell_cny_per_mwh))

    constant = 0.0
    max_cycles: dict[str, float] = {}
    for a in case.assets:
        at = bus[case.node_of(a)]
        if isinstance(a, PV):
            avail = case.series(a.available_mw)
            nom = _nom(avail)
            add.add("Generator", f"pv:{a.id}", bus=at, p_nom=nom, p_max_pu=avail / nom,
                    marginal_cost=-a.curtailment_cny_per_mwh)
            constant += a.curtailment_cny_per_mwh * dt * float(avail.sum())
        elif isinstance(a, Load):
            add.add("Load", f"load:{a.id}", bus=at, p_set=case.series(a.demand_mw))
        elif isinstance(a, CurtailableLoad):
            demand = case.series(a.demand_mw)
            cut = np.minimum(case.series(a.max_reduction_mw), demand)
            nom = _nom(cut)
            add.add("Load", f"load:{a.id}", bus=at, p_set=demand)
            add.add("Generator", f"reduce:{a.id}", bus=at, p_nom=nom, p_max_pu=cut / nom,
                    marginal_cost=a.cost_cny_per_mwh)
        elif isinstance(a, Battery):
            E, eta_c, eta_d = a.energy_mwh, a.charge_efficiency, a.discharge_efficiency
            inner = f"bat:{a.id}"
            add.add("Bus", inner)
            e_min = np.full(N, a.soc_min)
            e_min[-1] = max(a.soc_min, a.final_min)
            keep = _keep(a.self_discharge_per_hour, dt)  # PyPSA applies no standing loss to e_initial
            add.add("Store", f"soc:{a.id}", bus=inner, e_nom=E, e_initial=keep * a.soc_initial * E,
                    e_min_pu=e_min, e_max_pu=a.soc_max,
                    standing_loss=_standing_loss(a.self_discharge_per_hour, dt))
            add.add("Link", f"charge:{a.id}", bus0=at, bus1=inner, efficiency=eta_c, p_nom=a.charge_mw)
            add.add("Link", f"discharge:{a.id}", bus0=inner, bus1=at, efficiency=eta_d,
                    p_nom=a.discharge_mw / eta_d, marginal_cost=a.degradation_cny_per_mwh * eta_d)
            if a.max_cycles is not None:
                max_cycles[f"discharge:{a.id}"] = a.max_cycles * E / eta_d
        elif isinstance(a, FlexibleLoad):
            if a.energy_mwh <= 0:
                continue  # Σ p·Δ = 0 with p ≥ min ≥ 0: it takes nothing
            lo, hi = case.series(a.min_power_mw), case.series(a.max_power_mw)
            nom = _nom(hi)
            inner = f"flex:{a.id}"
            add.add("Bus", inner)
            add.add("Link", inner, bus0=at, bus1=inner, p_nom=nom, p_min_pu=lo / nom, p_max_pu=hi / nom)
            e_min = np.zeros(N)
            for r in a.requirements:
                e_min[r.by_step - 1] = max(e_min[r.by_step - 1], r.energy_mwh / a.energy_mwh)
            e_min[-1] = 1.0
            add.add("Store", inner, bus=inner, e_nom=a.energy_mwh, e_min_pu=e_min, e_max_pu=1.0)
        elif isinstance(a, ThermalStorage):
            inner = f"heat:{a.id}"
            add.add("Bus", inner)
            add.add("Link", f"chiller:{a.id}", bus0=at, bus1=inner, efficiency=a.cop, p_nom=a.max_power_mw)
            add.add("Load", inner, bus=inner, p_set=case.series(a.thermal_demand_mw))
            add.add("Generator", f"unserved:{inner}", bus=inner, p_nom=np.inf,
                    marginal_cost=case.voll_cny_per_mwh)
            e_min = np.zeros(N)
            e_min[-1] = a.level_initial
            add.add("Store", inner, bus=inner, e_nom=a.capacity_mwh_th,
                    e_initial=_keep(a.loss_per_hour, dt) * a.level_initial * a.capacity_mwh_th,
                    e_min_pu=e_min, e_max_pu=1.0,
                    standing_loss=_standing_loss(a.loss_per_hour, dt))
        else:  # green contracts, shiftable loads: supports() rejects them
            raise ValueError(f"{a.type} {a.id!r}: not expressible in PyPSA ({supports(case)})")
    add.flush(n)
    return _Built(network=n, constant_cny=constant, max_cycles=max_cycles)


# ---------------------------------------------------------------------------
# Solving
# ---------------------------------------------------------------------------


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """Silence C-level stdout (HiGHS prints its banner when linopy adds the columns)."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        yield
        return
    sys.stdout.flush()
    saved = os.dup(fd)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)
        os.close(devnull)


def _handover(built: _Built, settings: Settings) -> tuple[Any, Any]:
    """Create the linopy model and build it into HiGHS; the model and the linopy solver."""
    from linopy import solvers

    from models.solve import use_threads

    n = built.network
    m = n.optimize.create_model(consistency_check=False, include_objective_constant=False)
    if built.max_cycles:
        names = list(built.max_cycles)
        p = m["Link-p"].sel(name=names)
        dt = n.snapshot_weightings.generators.to_numpy()
        weight = pd.Series(dt, index=n.snapshots).rename_axis("snapshot").to_xarray()
        limit = pd.Series(built.max_cycles).rename_axis("name").to_xarray()
        m.add_constraints((p * weight).sum("snapshot") <= limit, name="Link-max_cycles")
    m.constraints.sanitize_zeros()
    m.constraints.sanitize_infinities()
    options = {
        "output_flag": False,
        "log_to_console": False,
        "time_limit": float(settings.time_limit_s),
        "mip_rel_gap": float(settings.mip_gap),
    }
    with _quiet_stdout():
        solver = solvers.Solver.from_name(
            "highs", model=m, io_api=IO_API, options=options,
            explicit_coordinate_names=False, set_names=False, log_fn=None,
        )
    use_threads(solver.solver_model, settings.threads)
    return m, solver


def _column(df: pd.DataFrame, name: str, steps: int) -> np.ndarray:
    if name in df.columns:
        return df[name].to_numpy(dtype=float)
    return np.zeros(steps)


def _schedule(case: Case, n: Any) -> Schedule:
    """Per-step arrays from the solved network."""
    N, root = case.steps, case.network.root
    gen, links, stores = n.generators_t.p, n.links_t.p0, n.stores_t.e
    flow = {x.id: _column(links, f"branch:{x.id}", N) for x in case.network.nodes}
    unserved = {x: _column(gen, f"unserved:bus:{x}", N) for x in [root, *case.node_ids]}
    assets: dict[str, dict[str, np.ndarray]] = {}
    for a in case.assets:
        if isinstance(a, PV):
            p = _column(gen, f"pv:{a.id}", N)
            assets[a.id] = {"power_mw": p, "curtailed_mw": case.series(a.available_mw) - p, "injection_mw": p}
        elif isinstance(a, Load):
            assets[a.id] = {"injection_mw": -case.series(a.demand_mw)}
        elif isinstance(a, CurtailableLoad):
            r = _column(gen, f"reduce:{a.id}", N)
            assets[a.id] = {"reduction_mw": r, "injection_mw": r - case.series(a.demand_mw)}
        elif isinstance(a, Battery):
            ch = _column(links, f"charge:{a.id}", N)
            dis = a.discharge_efficiency * _column(links, f"discharge:{a.id}", N)
            assets[a.id] = {"charge_mw": ch, "discharge_mw": dis, "injection_mw": dis - ch,
                            "soc_mwh": _column(stores, f"soc:{a.id}", N)}
        elif isinstance(a, FlexibleLoad):
            p = _column(links, f"flex:{a.id}", N)
            assets[a.id] = {"power_mw": p, "injection_mw": -p}
        elif isinstance(a, ThermalStorage):
            e = _column(links, f"chiller:{a.id}", N)
            assets[a.id] = {"power_mw": e, "injection_mw": -e,
                            "level_mwh_th": _column(stores, f"heat:{a.id}", N),
                            "unserved_mw_th": _column(gen, f"unserved:heat:{a.id}", N)}
    exp = -_column(gen, "grid:export", N)
    return Schedule(import_mw=_column(gen, "grid:import", N), export_mw=exp, flow_mw=flow,
                    unserved_mw=unserved, assets=assets)


def _solve(case: Case, settings: Settings) -> tuple[ArmResult, Schedule | None]:
    reason = supports(case)
    if reason is not None:
        return ArmResult(NAME, "error", None, None, note=f"unsupported: {reason}"), None
    _pypsa()  # the import is not part of any phase
    phases: dict[str, float] = {}
    t0 = time.perf_counter()
    built = build_network(case)
    t1 = time.perf_counter()
    phases["build"] = t1 - t0
    try:
        m, solver = _handover(built, settings)
    except ValueError as exc:  # e.g. a case with no cost at all: PyPSA refuses an empty objective
        phases["handover"] = time.perf_counter() - t1
        return ArmResult(NAME, "error", None, None, phases=phases, note=str(exc)), None
    t2 = time.perf_counter()
    phases["handover"] = t2 - t1
    h = solver.solver_model
    sizes = dict(variables=int(h.getNumCol()), constraints=int(h.getNumRow()), binaries=0,
                 nonzeros=int(h.getNumNz()))
    result = solver.solve()
    t3 = time.perf_counter()
    run_s = result.report.runtime if result.report and result.report.runtime is not None else t3 - t2
    phases["solve"] = run_s
    condition = result.status.termination_condition.value
    note = "solve = HiGHS run time (Highs.getRunTime); LP (PyPSA has no binaries)"
    if condition != "optimal":
        phases["extract"] = (t3 - t2) - run_s
        status = {"infeasible": "infeasible", "time_limit": "time_limit_no_solution"}.get(condition, "error")
        return ArmResult(NAME, status, None, None, phases=phases, note=f"{note}; {condition}", **sizes), None
    m.assign_result(result, solver)
    built.network.optimize.assign_solution()
    schedule = _schedule(case, built.network)
    objective = float(m.objective.value) + built.constant_cny
    phases["extract"] = (t3 - t2) - run_s + (time.perf_counter() - t3)
    return ArmResult(NAME, "optimal", objective, 0.0, phases=phases, note=note, **sizes), schedule


def run(case: Case, settings: Settings) -> ArmResult:
    """Solve ``case`` once through PyPSA and report the phases (see the module docstring)."""
    return solve(case, settings)[0]


def solve(case: Case, settings: Settings) -> tuple[ArmResult, Schedule | None]:
    """Solve ``case`` once through PyPSA; the timed result and the schedule (None without one).

    PyPSA's and linopy's warnings are silenced for the call.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _solve(case, settings)
