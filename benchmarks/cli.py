"""``vpp bench``: the benchmark suites on the command line.

The product's ``vpp`` command finds this command through the ``vpp.commands``
entry point (``pyproject.toml``); the product never imports this package.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from vpp.cli_common import err, out


def bench(
    suite: Annotated[str, typer.Option(help="quick: TEDA east and three small generated cases, every arm on each, about half a minute (CI); full: every axis and the 7-day target case, about ten minutes; stochastic: the TEDA day with 1 to 50 scenarios, extensive form against scenario decomposition, and the 50-scenario day with a 15-minute limit for the extensive form to finish; about half an hour.")] = "quick",
    out_dir: Annotated[Path, typer.Option("--out", metavar="FOLDER", help="Folder for bench.csv, bench.md and the plots.")] = Path("benchmarks/results/bench"),
    arm: Annotated[list[str] | None, typer.Option(help="Only these arms (repeatable); default: all that can run here (an arm whose package is missing is skipped with a note).")] = None,
    repeats: Annotated[int | None, typer.Option(help="Timed runs per case and arm (default: the suite's).")] = None,
) -> None:
    """Run a benchmark suite: every arm on the same cases, checked for agreement, timed phase by phase."""
    from benchmarks.report import targets, write
    from benchmarks.runner import run_suite

    if suite not in ("quick", "full", "stochastic"):
        raise typer.BadParameter(f"expected 'quick', 'full' or 'stochastic', got {suite!r}", param_hint="--suite")
    if repeats is not None and repeats < 1:
        raise typer.BadParameter(f"expected a positive number, got {repeats}", param_hint="--repeats")
    try:
        table, missing = run_suite(suite, arm, progress=lambda line: out.print(line, highlight=False), repeats=repeats)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--arm") from None
    for name, why in missing.items():
        out.print(f"[yellow]skipped[/] the {name} arm: {escape(why)}", highlight=False)
    paths = write(table, missing, out_dir, f"Benchmark suite '{suite}'")
    for name, measured, met in targets(table):
        label = "[green]met[/]" if met else "[red]not met[/]" if met is not None else "info"
        out.print(f"{label}  {escape(name)}: {escape(measured)}", highlight=False)
    disagree = table[table["agrees"] == False]  # noqa: E712
    out.print(f"wrote {', '.join(str(p) for p in paths.values())}", highlight=False)
    if len(disagree):
        for _, r in disagree.iterrows():
            err.print(f"[bold red]disagrees[/] {r['case']} · {r['arm']}: {r['objective_cny']:.6f} CNY", highlight=False)
        raise typer.Exit(1)
