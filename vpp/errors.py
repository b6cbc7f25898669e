"""Domain errors.

Every error the product raises on purpose derives from :class:`VPPError`; the CLI
and (later) the HTTP service map these to exit codes and status codes in one
place. Nothing here knows about HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass


class VPPError(Exception):
    """Base of every error the product raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One problem found in an input: where it is and what was expected.

    ``path`` is a dotted field path such as ``assets[3].energy_mwh``.
    """

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class CaseError(VPPError, ValueError):
    """A case (or an input that becomes one) is invalid.

    Carries *every* problem found, not only the first, in ``problems``.
    """

    def __init__(self, problems: list[Problem], step: str = "reading the case") -> None:
        self.problems = list(problems)
        self.step = step
        lines = "\n".join(f"  - {p}" for p in self.problems)
        n = len(self.problems)
        super().__init__(f"{n} problem{'s' if n != 1 else ''} while {step}:\n{lines}")


class SolverError(VPPError):
    """The solver failed or stopped without any feasible schedule."""

    def __init__(self, message: str, status: str = "error") -> None:
        self.status = status
        super().__init__(message)


class InfeasibleError(SolverError):
    """The model has no feasible solution even with unserved energy allowed.

    Unserved energy makes every energy balance feasible, so this points at a
    hard requirement in the data (a mandatory green contract's minimum take,
    a flexible load's energy, a battery's final state of charge).
    """

    def __init__(self, message: str) -> None:
        super().__init__(message, status="infeasible")
