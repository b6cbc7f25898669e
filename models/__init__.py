"""The optimisation model: written by each asset module in Pyomo and in matrix form, solved by HiGHS.

Never reads files, never imports FastAPI.
"""

from models.build import SPEC, BuiltModel, Formulation, build
from models.extract import Solution, extract
from models.matrix import MatrixModel, build_matrix, solve_matrix
from models.optimize import ENGINES, Engine, Exclusivity, optimize
from models.solve import SolveOptions, SolveReport, Status, solve

__all__ = [
    "ENGINES",
    "SPEC",
    "BuiltModel",
    "Engine",
    "Exclusivity",
    "Formulation",
    "MatrixModel",
    "Solution",
    "SolveOptions",
    "SolveReport",
    "Status",
    "build",
    "build_matrix",
    "extract",
    "optimize",
    "solve",
    "solve_matrix",
]
