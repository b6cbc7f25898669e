"""Build the model of a case (``shared/spec/model.md`` §2–§6): every part declared once into one program.

The builder knows no asset type: it declares each asset with its module
(:data:`models.assets.ASSETS`), then the grid connection and the network
(:mod:`models.network`), the demand-response events and the case-level options
(:mod:`models.events`), on blocks named like the spec (``asset[bess-1]``,
``dr[peak-1]``; the grid and the network at the top level). Assets offer *ports*
the others sum: ``injection`` (MW at the asset's node, generation positive, §2),
``consumption`` (end-use consumption, §5.1), ``renewable`` and
``renewable_available`` (§5.1), ``green`` (G, §3), ``critical``, ``pv_available``
and ``reserve`` (§5.5), ``regulation`` and ``regulation_span`` (§5.4). The grid
connection offers ``exchange`` (the net import), ``export`` and ``emissions``.

A stochastic case (§6) is declared once per scenario, each scenario a scope of
the program with its own series (:func:`models.scenarios.scenario_cases`).
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from models.assets import ASSETS
from models.case import Case
from models.declare import SPEC, Element, Formulation, Horizon, Program, Scope
from models.declare.program import Path, ScopeState
from models.events import (
    declare_backup,
    declare_emissions_cap,
    declare_event,
    declare_green_share,
    declare_regulation,
)
from models.network import declare_grid, declare_network
from models.scenarios import declare_risk, scenario_cases
from models.standard_form import Arrays


@dataclass
class Built:
    """A case's model in standard form, with the program that names it; ``x`` once solved."""

    case: Case
    program: Program
    arrays: Arrays
    build_seconds: float
    formulation: Formulation
    scopes: list[ScopeState] = field(repr=False)
    x: np.ndarray | None = None

    def pyomo(self) -> Any:
        """The Pyomo model generated from the same program (:class:`models.declare.pyomo.PyomoModel`)."""
        from models.declare.pyomo import to_pyomo

        return to_pyomo(self.program, self.arrays)


def declare_case(program: Program, case: Case, prefix: Path = (), weight: float = 1.0,
                 billing: Any = None) -> list[ScopeState]:
    """Declare ``case`` into ``program`` under ``prefix``, its costs weighted by ``weight``; its scopes.

    ``billing``: the billing period whose maximum-demand charge the case shares with the
    other days declared with the same key (charged once, with weight 1).
    """
    scenarios = scenario_cases(case)
    states = []
    for k, (sid, probability, scase) in enumerate(scenarios):
        here = (*prefix, ("scenario", sid)) if len(scenarios) > 1 else prefix
        state = program.scope(Scope(prefix=here, case=prefix, name=sid, weight=weight * probability,
                                    case_weight=weight, first=k == 0, scenarios=len(scenarios)))
        h = Horizon(scase, case, sid, billing)
        root = scase.network.root
        for a in scase.assets:
            block = program.block(state, (("asset", a.id),), Element(a.id, a.type, scase.node_of(a)), h)
            ASSETS[a.type].declare(block, a, h)
        declare_grid(program.block(state, (), Element("grid", "grid", root), h), h)
        declare_network(program.block(state, (), Element("network", "network", root), h), h)
        for ev in scase.demand_response:
            declare_event(program.block(state, (("dr", ev.id),), Element(ev.id, "demand_response", root), h), ev, h)
        options = program.block(state, (), Element("case", "case", root), h)
        declare_green_share(options, h)
        declare_emissions_cap(options, h)
        declare_regulation(program.block(state, (), Element("regulation", "regulation", root), h), h)
        declare_backup(program.block(state, (), Element("backup", "reserve", root), h), h)
        states.append(state)
    declare_risk(program, case, states, prefix, weight)
    return states


def build(case: Case, formulation: Formulation = SPEC, fixed: dict[str, np.ndarray] | None = None) -> Built:
    """The model of a validated case under ``formulation``, in standard form.

    ``fixed``: values of first-stage families by name (:func:`first_stage_values`
    of another solve), fixed here: a plan evaluated on this case's scenarios.
    Python's cyclic garbage collector is paused while the many small arrays are
    made: a collection would find nothing to free, at random moments.
    """
    t0 = time.perf_counter()
    enabled = gc.isenabled()
    gc.disable()
    try:
        program = Program(formulation)
        states = declare_case(program, case)
        arrays = program.finish()
    finally:
        if enabled:
            gc.enable()
    if fixed:
        fix_first_stage(program, arrays, fixed)
    return Built(case=case, program=program, arrays=arrays, build_seconds=time.perf_counter() - t0,
                 formulation=formulation, scopes=states)


def first_stage_values(built: Built) -> dict[str, np.ndarray]:
    """The solution's first-stage decisions by family name (``asset[g].x``, ``dr[e].w``, ``plan`` …).

    With one scenario, the families a stochastic case would share (§6): the
    names are the same, so a deterministic plan can be fixed in a stochastic case.
    """
    if built.x is None:
        raise ValueError("the model has not been solved")
    return {f.full_name(): built.x[f.start : f.start + f.n].copy()
            for f in built.program.families if f.first_stage and f.path[:1] != (("capacity", f.element),)}


def fix_first_stage(program: Program, arrays: Arrays, fixed: dict[str, np.ndarray]) -> None:
    """Fix every first-stage family named in ``fixed`` at its values (bounds); unknown names are an error."""
    families = {f.full_name(): f for f in program.families if f.first_stage}
    unknown = sorted(set(fixed) - set(families))
    if unknown:
        raise ValueError(f"no first-stage family {', '.join(unknown)} in this case")
    for name, values in fixed.items():
        f = families[name]
        v = np.asarray(values, dtype=float)
        if v.shape != (f.n,):
            raise ValueError(f"{name}: expected {f.n} values, got {v.shape}")
        lo, hi = arrays.col_lower[f.start : f.start + f.n], arrays.col_upper[f.start : f.start + f.n]
        arrays.col_lower[f.start : f.start + f.n] = np.clip(v, lo, hi)
        arrays.col_upper[f.start : f.start + f.n] = np.clip(v, lo, hi)
