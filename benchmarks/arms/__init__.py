"""Benchmark arms: different ways to solve the same canonical case, timed phase by phase.

Every arm is a module with

- ``NAME``: a short label (``product``, ``direct``, ``pypsa``, ``product-binaries-always`` …);
- ``supports(case) -> str | None``: ``None`` when the arm can express the case,
  else the reason it cannot (the runner then records the case as skipped for it);
- ``run(case, settings) -> ArmResult``: solve once and report;
- optionally ``REQUIRES``: the packages it needs beyond the product's (an arm
  whose package is not installed is skipped, with a note saying how to install it).

Phases are wall-clock seconds, named ``build`` (from the case to the arm's own
model), ``handover`` (from that model to HiGHS's memory), ``solve`` (HiGHS's
run) and ``extract`` (from HiGHS's solution back to per-step results). An arm
that has no such phase reports 0 for it. ``cpu_seconds`` is the CPU time the run
took in every process that worked on it (HiGHS's threads and Dask workers
included): on a shared machine it moves less than the wall clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Settings:
    """Solver settings shared by every arm: relative MIP gap, time limit [s], HiGHS threads."""

    mip_gap: float = 1e-4  # the product's default
    time_limit_s: float = 60.0
    threads: int = 1


@dataclass
class ArmResult:
    """One solve by one arm."""

    arm: str
    status: str  # optimal | feasible | infeasible | time_limit_no_solution | error
    objective_cny: float | None
    mip_gap: float | None
    phases: dict[str, float] = field(default_factory=dict)  # build, handover, solve, extract [s]
    variables: int = 0
    constraints: int = 0
    binaries: int = 0
    nonzeros: int = 0
    note: str = ""
    cpu_seconds: float | None = None  # CPU time of the run, every process that worked on it [s]

    @property
    def total_seconds(self) -> float:
        return sum(self.phases.values())

    @property
    def overhead_seconds(self) -> float:
        """Everything but HiGHS's own solve [s]."""
        return self.total_seconds - self.phases.get("solve", 0.0)
