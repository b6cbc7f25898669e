"""The optimisation model: each part stated once (models.declare), solved by HiGHS.

Never reads files, never imports FastAPI.
"""

from models.build import Built, build, first_stage_values
from models.case import Case
from models.declare import SPEC, Formulation
from models.optimize import ENGINES, Engine, Exclusivity, optimize
from models.solution import Solution, extract
from models.solve import SolveOptions, SolveReport, Status, solve, solve_pyomo

__all__ = [
    "ENGINES",
    "SPEC",
    "Built",
    "Case",
    "Engine",
    "Exclusivity",
    "Formulation",
    "Solution",
    "SolveOptions",
    "SolveReport",
    "Status",
    "build",
    "extract",
    "first_stage_values",
    "optimize",
    "solve",
    "solve_pyomo",
]
