"""What ``vpp dispatch --scenarios K`` prints beside the day's summary: the scenarios and their worth."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from vpp.cli_common import out


def worth(value: float, bounds: list[float | None] | None, settled: bool) -> str:
    """A value [CNY], with the range the solves' bounds leave it when that range is wide against it."""
    text = f"{value:,.0f} CNY"
    if not settled and bounds and None not in bounds:
        text += f" (between {bounds[0]:,.0f} and {bounds[1]:,.0f} within the solver gaps)"
    return text


def print_uncertainty(summary: dict[str, Any]) -> None:
    """The stochastic day in a few lines: expected cost, CVaR, VSS, EVPI, how it was solved."""
    table = Table(title="scenarios", show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    scenarios = summary.get("scenarios") or []
    table.add_row("scenarios", f"{len(scenarios)} (probabilities {min(s['probability'] for s in scenarios):.3f} "
                               f"to {max(s['probability'] for s in scenarios):.3f})")
    table.add_row("expected cost", f"{summary['expected_cost_cny']:,.0f} CNY")
    if summary.get("cvar_cny") is not None:
        table.add_row(f"CVaR at {summary['cvar_beta']:g}", f"{summary['cvar_cny']:,.0f} CNY")
    d = summary.get("decomposition")
    if d:
        gap = f"gap {d['gap']:.1e}" if d.get("gap") is not None else "no finite gap"
        table.add_row("solved by", f"scenario decomposition ({d['method'].split(':')[0]}), {d['iterations']} "
                                   f"round(s), {d['subproblem_solves']} scenario solves, {gap}")
    elif summary.get("solved_by"):
        table.add_row("solved by", summary["solved_by"])
    u = summary.get("uncertainty")
    if u:
        dist = u["cost_distribution"]["stochastic_plan"]
        table.add_row("cost over the scenarios", f"{dist['min_cny']:,.0f} to {dist['max_cny']:,.0f} CNY")
        table.add_row(f"CVaR at {u['cost_distribution']['beta']:g} of the cost", f"{dist['cvar_cny']:,.0f} CNY")
        eev = u["expected_value_plan_objective_cny"]
        table.add_row("expected-value plan on the scenarios", "cannot be followed in every scenario" if eev is None
                      else f"{eev:,.0f} CNY")
        table.add_row("value of the stochastic solution (VSS)", "unbounded" if u["vss_cny"] is None else
                      worth(u["vss_cny"], u.get("vss_range_cny"), (u.get("settled") or {}).get("vss", True)))
        table.add_row("wait-and-see (perfect information)", f"{u['wait_and_see_cost_cny']:,.0f} CNY")
        table.add_row("expected value of perfect information (EVPI)",
                      worth(u["evpi_cny"], u.get("evpi_range_cny"), (u.get("settled") or {}).get("evpi", True)))
    out.print(table)
