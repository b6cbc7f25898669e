"""One module per asset type; each owns its variables, constraints and costs.

Every module has ``build(block, asset, ctx)`` (variables, constraints, ports and
``cost_<term>`` Expressions on ``asset[<id>]``, see :mod:`models.build`) and
``values(block, asset, ctx) -> dict[str, np.ndarray]`` (its per-step results
after a solve, quantities named with their unit). Adding an asset kind means a
class in :mod:`vpp.case`, a module here and a line in :data:`BUILDERS`.
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
