"""One module per asset type: its fields, input rules, variables, constraints, costs and outputs.

Every module has

- ``SCHEMA``: the pydantic class of the asset's fields (model.md §4), with a
  ``type`` literal that names it in a case;
- ``declare(m, asset, h)``: its part of the model, stated once on its block
  (:class:`models.declare.Block`): variables, constraints, ports (what the
  network and the case-level options sum), cost terms and outputs;
- optionally ``RULES``: checks across its own fields, each ``(asset, ctx) ->
  list[Problem]`` (paths relative to the asset). They run on every asset of a
  case, and on an asset with field errors of its own too: a check that reads a
  field that failed is skipped (its problem would be a knock-on);
- optionally ``SECTION`` and ``report(values, asset, h) -> dict``: its line in
  that section of the summary.

Adding an asset type is a module here, one line in :data:`ASSETS` and its tests:
the case schema, validation messages, results, writers and the API pick it up.
"""

from __future__ import annotations

from types import ModuleType
from typing import Annotated, Union

from pydantic import Field

from models.assets import battery, curtailable, flexible, green, load, pv, shiftable, thermal

ASSETS: dict[str, ModuleType] = {
    module.SCHEMA.model_fields["type"].default: module
    for module in (pv, load, battery, curtailable, shiftable, flexible, green, thermal)
}
"""Asset type (the ``type`` key of a case) → its module."""

Asset = Annotated[Union[tuple(m.SCHEMA for m in ASSETS.values())], Field(discriminator="type")]  # noqa: UP007
"""Any asset of a case, told apart by its ``type``."""

SECTIONS: tuple[str, ...] = tuple(dict.fromkeys(m.SECTION for m in ASSETS.values() if hasattr(m, "SECTION")))
"""Summary sections the asset types report into (always present, empty when no asset reports)."""
