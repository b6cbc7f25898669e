"""Pages and parts of pages generated from the code at build time (run by mkdocs-gen-files).

- ``guide/case-format.md``: every key of the canonical case, walked from
  ``vpp.case.Case``'s fields (the asset union's members included): type, default,
  unit and description;
- ``model/assets.md``: the maths of every asset type, from the docstring of the
  module in ``models.assets`` that states it;
- ``guide/service.md``: the service's settings, from ``api.settings.Settings``;
- ``contributing/how-it-works.md``: the map of the packages, from the modules' docstrings;
- ``results/``: the figures of ``benchmarks/results``.

A hand-written page holds a marker line ``<!-- generated: NAME -->`` where the
generated part goes. Anything the generators cannot document (a key without a
description, an asset type without a module) is logged as a warning, which fails
``mkdocs build --strict``.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import mkdocs_gen_files

sys.path.insert(0, str(Path(__file__).resolve().parent))

from asset_maths import asset_pages  # noqa: E402
from case_keys import case_key_tables  # noqa: E402
from module_map import module_map  # noqa: E402
from service_settings import settings_table  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
log = logging.getLogger("mkdocs.plugins.vpp.gen")


def fill(page: str, name: str, text: str) -> None:
    """Put ``text`` in place of the marker ``<!-- generated: name -->`` of a hand-written page."""
    marker = f"<!-- generated: {name} -->"
    with mkdocs_gen_files.open(page, "r") as f:
        source = f.read()
    if source.count(marker) != 1:
        log.warning("%s: expected one marker line %r, found %d", page, marker, source.count(marker))
        return
    with mkdocs_gen_files.open(page, "w") as f:
        f.write(source.replace(marker, text.rstrip() + "\n"))


def copy_figures() -> None:
    """The benchmark figures, under ``results/`` as in ``benchmarks/results/``."""
    source = ROOT / "benchmarks" / "results"
    for png in sorted(source.rglob("*.png")):
        with mkdocs_gen_files.open(f"results/{png.relative_to(source).as_posix()}", "wb") as f:
            f.write(png.read_bytes())


def main() -> None:
    tables, problems = case_key_tables(ROOT / "docs" / "gen" / "case_keys.yaml")
    fill("guide/case-format.md", "case keys", tables)
    sections, asset_problems = asset_pages()
    fill("model/assets.md", "assets", sections)
    table, settings_problems = settings_table()
    fill("guide/service.md", "settings", table)
    modules, module_problems = module_map(ROOT)
    fill("contributing/how-it-works.md", "modules", modules)
    for problem in [*problems, *asset_problems, *settings_problems, *module_problems]:
        log.warning(problem)
    copy_figures()


main()
