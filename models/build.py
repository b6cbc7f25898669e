"""Build the canonical dispatch model (``shared/spec/model.md`` §2–§6) in Pyomo.

The builder knows the network, the grid connection and the objective; it knows
no asset type. Each ``models/assets/<type>.py`` owns its variables, constraints
and costs on its own block ``asset[<id>]`` and exposes *ports* by name:

=================  ==========================================================
``injection[t]``   MW at the asset's node, generation positive (§2)
``consumption[t]`` MW of end-use electric consumption (green share, §5)
``renewable[t]``   MW of renewable generation used or exported (PV, §5)
``green[t]``       MW bought through a green contract (G, §3)
``cost_<term>``    CNY over the horizon, one Expression per cost term (§6)
=================  ==========================================================

System symbols (all per step t, MW unless stated):

=============  =============================================================
imp, exp       import from / export to the public grid at the root
y              binary: 1 = importing (only when both maxima are positive)
f[n]           flow on node n's branch to its parent, positive upwards
u[n]           unserved energy at node n (and the root) [MW], cost voll
peak           peak import [MW] (only when a demand charge is set)
G              Σ_k g[k]: green purchases, arriving through imp
=============  =============================================================
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyomo.environ as pyo
from pyomo.common.gc_manager import PauseGC

from models.assets import BUILDERS
from models.events import build_demand_response, build_green_share
from vpp.case import Case


@dataclass(frozen=True)
class Formulation:
    """Which exclusivity binaries the model carries, and optional valid cuts.

    battery_binaries: ids of the batteries with a charge/discharge binary b[t]
        (``None`` = every battery, as model.md §4.3 writes it).
    grid_binary: the import/export binary y[t] when both maxima are positive (§3).
    storage_cut: add ch/Pch + dis/Pdis ≤ 1 for every battery: valid for the
        MIP (it follows from the binaries) and a tighter LP relaxation.

    The default is the spec's model. :func:`models.optimize.optimize` starts
    without exclusivity binaries and adds them only where a solution needs them.
    """

    battery_binaries: frozenset[str] | None = None
    grid_binary: bool = True
    storage_cut: bool = False

    def battery_needs_binary(self, asset_id: str) -> bool:
        return self.battery_binaries is None or asset_id in self.battery_binaries


SPEC = Formulation()


@dataclass
class BuildContext:
    """What an asset builder may use: the case, the step set, Δ and the formulation."""

    case: Case
    T: Any  # the Pyomo step set
    dt: float  # step length Δ [h]
    steps: int
    formulation: Formulation = SPEC

    def series(self, value: float | list[float]) -> np.ndarray:
        return self.case.series(value)


@dataclass
class BuiltModel:
    """A built model with the facts needed to solve and read it."""

    case: Case
    model: pyo.ConcreteModel
    build_seconds: float
    formulation: Formulation = SPEC


def _sum(terms: list[Any]) -> Any:
    return sum(terms) if terms else 0.0


def build(case: Case, formulation: Formulation = SPEC) -> BuiltModel:
    """Build the mixed-integer model of a validated case.

    Python's cyclic garbage collector is paused while Pyomo creates its many
    small objects: collections would only find nothing to free, at random
    moments, and made build times vary fourfold.
    """
    with PauseGC():
        return _build(case, formulation)


def _build(case: Case, formulation: Formulation) -> BuiltModel:
    t0 = time.perf_counter()
    N, dt = case.steps, case.dt_hours
    root = case.network.root
    m = pyo.ConcreteModel(name=case.name)
    m.T = pyo.RangeSet(0, N - 1)
    T = list(range(N))
    ctx = BuildContext(case=case, T=m.T, dt=dt, steps=N, formulation=formulation)

    # --- assets: each type builds its own block --------------------------------
    by_id = {a.id: a for a in case.assets}

    def asset_rule(block: pyo.Block, aid: str) -> None:
        asset = by_id[aid]
        BUILDERS[asset.type].build(block, asset, ctx)

    m.asset = pyo.Block(list(by_id), rule=asset_rule)

    def port(name: str) -> list[Any]:
        found = (m.asset[a.id].component(name) for a in case.assets)
        return [c for c in found if c is not None]

    # --- network (§2) ------------------------------------------------------------
    nodes = case.network.nodes
    node_ids = [n.id for n in nodes]
    at: dict[str, list[Any]] = {n: [] for n in [root, *node_ids]}
    for a in case.assets:
        inj = m.asset[a.id].component("injection")
        if inj is not None:
            at[case.node_of(a)].append(inj)
    children: dict[str, list[str]] = {n: [] for n in [root, *node_ids]}
    for n in nodes:
        children[case.parent_of(n)].append(n.id)

    node_by_id = {n.id: n for n in nodes}

    def flow_bounds(_m: Any, n: str, _t: int) -> tuple[float | None, float | None]:
        node = node_by_id[n]
        cap = node.capacity_mw
        return (-cap if cap is not None else None, node.up_limit_mw)

    m.f = pyo.Var(node_ids, m.T, bounds=flow_bounds)
    m.u = pyo.Var([root, *node_ids], m.T, domain=pyo.NonNegativeReals)

    grid = case.grid
    m.imp = pyo.Var(m.T, bounds=(0, grid.import_max_mw))
    m.exp = pyo.Var(m.T, bounds=(0, grid.export_max_mw))

    def node_balance(_m: Any, n: str, t: int) -> Any:
        return (
            _sum([inj[t] for inj in at[n]]) + _sum([m.f[c, t] for c in children[n]]) + m.u[n, t]
            == m.f[n, t]
        )

    m.node_balance = pyo.Constraint(node_ids, m.T, rule=node_balance)
    m.root_balance = pyo.Constraint(
        m.T,
        rule=lambda _m, t: m.imp[t] - m.exp[t]
        + _sum([inj[t] for inj in at[root]])
        + _sum([m.f[c, t] for c in children[root]])
        + m.u[root, t]
        == 0,
    )

    # --- grid connection (§3) ------------------------------------------------------
    if grid.import_max_mw > 0 and grid.export_max_mw > 0 and formulation.grid_binary:
        m.y = pyo.Var(m.T, domain=pyo.Binary)
        m.import_if_y = pyo.Constraint(m.T, rule=lambda _m, t: m.imp[t] <= grid.import_max_mw * m.y[t])
        m.export_if_not_y = pyo.Constraint(
            m.T, rule=lambda _m, t: m.exp[t] <= grid.export_max_mw * (1 - m.y[t])
        )
    greens = port("green")
    m.G = pyo.Expression(m.T, rule=lambda _m, t: _sum([g[t] for g in greens]))
    if greens:
        m.green_via_import = pyo.Constraint(m.T, rule=lambda _m, t: m.G[t] <= m.imp[t])

    buy = case.series(grid.buy_cny_per_mwh)
    sell = case.series(grid.sell_cny_per_mwh)
    emission = case.series(grid.emission_t_per_mwh)
    m.emissions_t = pyo.Expression(m.T, rule=lambda _m, t: emission[t] * (m.imp[t] - m.G[t]) * dt)
    m.cost_energy = pyo.Expression(expr=dt * sum(buy[t] * (m.imp[t] - m.G[t]) for t in T))
    m.cost_export = pyo.Expression(expr=-dt * sum(sell[t] * m.exp[t] for t in T))
    m.cost_carbon = pyo.Expression(expr=case.carbon_price_cny_per_t * sum(m.emissions_t[t] for t in T))
    m.cost_unserved = pyo.Expression(
        expr=case.voll_cny_per_mwh * dt * sum(m.u[n, t] for n in [root, *node_ids] for t in T)
    )
    if grid.demand_charge_cny_per_mw > 0:
        m.peak = pyo.Var(domain=pyo.NonNegativeReals)
        m.peak_def = pyo.Constraint(m.T, rule=lambda _m, t: m.peak >= m.imp[t])
        m.cost_demand = pyo.Expression(expr=grid.demand_charge_cny_per_mw * m.peak)

    # --- case-level options (§5) ---------------------------------------------------
    build_demand_response(m, case)
    build_green_share(m, case, port("renewable"), port("consumption"))

    # --- objective (§6): every cost_<term> Expression on the model and its blocks ---
    m.obj = pyo.Objective(expr=sum(e for _, e in cost_terms(m)), sense=pyo.minimize)
    return BuiltModel(case=case, model=m, build_seconds=time.perf_counter() - t0, formulation=formulation)


def cost_terms(m: pyo.ConcreteModel) -> list[tuple[str, Any]]:
    """Every ``cost_<term>`` Expression in the model, as (term, expression)."""
    out = []
    for e in m.component_objects(pyo.Expression, active=True, descend_into=True):
        if e.local_name.startswith("cost_") and not e.is_indexed():
            out.append((e.local_name[len("cost_"):], e))
    return out
