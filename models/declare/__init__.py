"""The layer every part of the model is stated in once, and its back ends.

:mod:`models.declare.lin` is the algebra (affine vectors over the columns),
:mod:`models.declare.program` the program a block states itself into (whose
standard form is the matrix handed to HiGHS), :mod:`models.declare.pyomo` the
Pyomo model generated from the same statement on request.
"""

from models.declare.horizon import Horizon, RuleContext, amount
from models.declare.lin import Con, Lin
from models.declare.program import SPEC, Block, Element, Formulation, Program, Scope, path_str

__all__ = ["SPEC", "amount", "Block", "Con", "Element", "Formulation", "Horizon", "Lin", "Program", "RuleContext", "Scope",
           "path_str"]
