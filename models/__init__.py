"""The optimisation model: Pyomo in, HiGHS underneath. Never reads files, never imports FastAPI."""

from models.build import SPEC, BuiltModel, Formulation, build
from models.extract import Solution, extract
from models.optimize import Exclusivity, optimize
from models.solve import SolveOptions, SolveReport, Status, solve

__all__ = [
    "SPEC",
    "BuiltModel",
    "Exclusivity",
    "Formulation",
    "Solution",
    "SolveOptions",
    "SolveReport",
    "Status",
    "build",
    "extract",
    "optimize",
    "solve",
]
