"""The optimisation model: Pyomo in, HiGHS underneath. Never reads files, never imports FastAPI."""

from models.build import BuiltModel, build
from models.extract import Solution, extract
from models.solve import SolveOptions, SolveReport, Status, solve

__all__ = ["BuiltModel", "Solution", "SolveOptions", "SolveReport", "Status", "build", "extract", "solve"]
