"""One module per asset type; each owns its variables, constraints and costs, in both engines.

Every module has

- ``build(block, asset, ctx)``: the Pyomo statement (variables, constraints, ports
  and ``cost_<term>`` Expressions on ``asset[<id>]``, see :mod:`models.build`);
- ``matrix(sf, asset, ctx, node) -> Columns``: the same variables, constraints and
  cost terms written as column and row blocks of the standard form
  (:mod:`models.matrix`); it returns where its variable families sit;
- ``values(read, asset, ctx) -> dict[str, np.ndarray]``: its per-step results
  after a solve, quantities named with their unit, from a reader of its
  variables by name (:data:`models.standard_form.Reader`) that either engine gives.

Adding an asset kind means a class in :mod:`vpp.case`, a module here and a line
in :data:`BUILDERS`; ``tests/models/test_assets_hand.py`` solves each hand case
with both engines, so the two statements are held to the same optimum.
"""

from __future__ import annotations

from types import ModuleType

from models.assets import battery, curtailable, flexible, green, load, pv, shiftable, thermal

BUILDERS: dict[str, ModuleType] = {
    "pv": pv,
    "load": load,
    "battery": battery,
    "curtailable_load": curtailable,
    "shiftable_load": shiftable,
    "flexible_load": flexible,
    "green_contract": green,
    "thermal_storage": thermal,
}
