"""The two-stage stochastic form (model.md §6): the scenarios of a case and the risk term.

Each scenario is the base case with some series replaced (:func:`scenario_cases`);
the whole model is declared once per scenario, each a scope of the program
(:func:`models.build.declare_case`), the first-stage decisions shared (families
declared ``first_stage``: the declared plan, events joined, regulation offers,
green contracts taken, shiftable starts). The objective is

    C1 + Σ_s π_s·C_s + λ·(η + 1/(1 − β)·Σ_s π_s·ζ_s),   ζ_s ≥ C_s − η,  ζ_s ≥ 0,  η free

with C1 the first-stage terms and C_s the others of scenario s (constants
included). A case without ``scenarios`` is one deterministic scenario with
probability 1 and no risk term: nothing changes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from models.declare import Element, Horizon, Lin

if TYPE_CHECKING:
    from models.case import Case
    from models.declare.program import Path, Program, ScopeState


def scenario_cases(case: Case) -> list[tuple[str, float, Case]]:
    """(id, probability, the case with the scenario's series in place) for every scenario of ``case``."""
    if not case.scenarios:
        return [("", 1.0, case)]
    from models.case import scenario_element

    out = []
    for sc in case.scenarios:
        grid, assets, events = case.grid, list(case.assets), list(case.demand_response)
        for key, value in sc.series.items():
            where, i, element = scenario_element(case, key, value)  # validated with the case
            field = key.rsplit(".", 1)[1]
            update = {field: getattr(element, field)}
            if where == "grid":
                grid = grid.model_copy(update=update)
            elif where == "asset":
                assets[i] = assets[i].model_copy(update=update)
            else:
                events[i] = events[i].model_copy(update=update)
        out.append((sc.id, sc.probability,
                    case.model_copy(update={"grid": grid, "assets": assets, "demand_response": events})))
    return out


def declare_risk(program: Program, case: Case, states: list[ScopeState], prefix: Path, weight: float) -> None:
    """The CVaR term of §6 over the scenario costs C_s (nothing without a ``risk`` weight)."""
    risk = case.risk
    if risk is None or risk.cvar_weight <= 0 or not case.scenarios:
        return
    lam, beta = risk.cvar_weight, risk.cvar_beta
    costs = [Lin.stack(state.costs, 1) for state in states]  # C_s, before the risk term adds its own
    eta = None
    for state, cost in zip(states, costs, strict=True):
        h = Horizon(case, case, state.scope.name)
        m = program.block(state, (), Element("risk", "risk", case.network.root), h)
        if eta is None:
            eta = m.var("cvar_threshold", -np.inf, np.inf, n=1, first_stage=True)
            m.cost("cvar", lam * eta, first_stage=True)
        zeta = m.var("cvar_excess", n=1)
        m.add("cvar_excess_def", zeta >= cost - eta)
        m.cost("cvar", lam / (1 - beta) * zeta)
        m.output("scenario_cost_cny", cost, table=False)
        m.output("cvar_threshold_cny", eta, table=False)
