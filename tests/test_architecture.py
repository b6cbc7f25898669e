"""The import direction of architecture.md: api → vpp.dispatch → models | forecasts → vpp domain.

models and forecasts never import each other; only the Pyomo back end (and the
solver's compiler of it) imports Pyomo; nothing outside api imports FastAPI;
the model imports nothing of vpp but its errors.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def imports_of(package: str) -> dict[str, set[str]]:
    """Top-level module names imported by each file of a package (absolute imports)."""
    out = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module)
        out[str(path.relative_to(ROOT))] = names
    return out


def _top(name: str) -> str:
    return name.split(".")[0]


def test_models_and_forecasts_do_not_import_each_other() -> None:
    for file, names in imports_of("models").items():
        assert "forecasts" not in {_top(n) for n in names}, file
    for file, names in imports_of("forecasts").items():
        assert "models" not in {_top(n) for n in names}, file


def test_only_models_imports_pyomo() -> None:
    for package in ("vpp", "forecasts"):
        for file, names in imports_of(package).items():
            assert not {n for n in names if _top(n) in ("pyomo", "highspy")}, file


def test_nothing_but_api_imports_fastapi() -> None:
    for package in ("vpp", "models", "forecasts"):
        for file, names in imports_of(package).items():
            assert "fastapi" not in {_top(n) for n in names}, file


def test_models_never_reads_files_or_imports_the_orchestration() -> None:
    for file, names in imports_of("models").items():
        assert not {n for n in names if n in ("vpp.dispatch", "vpp.cli", "vpp.results", "vpp.cases", "vpp.plot")}, file


def test_the_model_imports_no_vpp_module_but_its_errors() -> None:
    # The canonical case's schema lives with the model (models/case.py, models/assets/*): vpp.case
    # reads files into it, so models never reaches back into vpp, but for the domain errors.
    for file, names in imports_of("models").items():
        vpp_modules = {n for n in names if _top(n) == "vpp"}
        assert vpp_modules <= {"vpp.errors"}, (file, vpp_modules)


def test_vpp_domain_leaves_do_not_import_models() -> None:
    domain = ["vpp/errors.py", "vpp/tariffs.py", "vpp/timeseries.py"]
    found = imports_of("vpp")
    for file in domain:
        if file in found:
            assert "models" not in {_top(n) for n in found[file]}, file


def test_only_the_pyomo_back_end_and_the_solver_import_pyomo() -> None:
    allowed = {"models/declare/pyomo.py", "models/solve.py"}
    for file, names in imports_of("models").items():
        if any(_top(n) == "pyomo" for n in names):
            assert file in allowed, file


def test_forecasts_use_only_the_vpp_domain_and_never_know_a_battery() -> None:
    allowed = {"vpp.case", "vpp.timeseries", "vpp.errors"}
    for file, names in imports_of("forecasts").items():
        vpp_modules = {n for n in names if _top(n) == "vpp"}
        assert vpp_modules <= allowed, (file, vpp_modules - allowed)
        text = (ROOT / file).read_text(encoding="utf-8").lower()
        assert "battery" not in text and "pyomo" not in text, file


def test_the_product_never_imports_the_benchmarks() -> None:
    """`vpp bench` joins the command line through an entry point; the product does not depend on benchmarks/."""
    for package in ("vpp", "models", "forecasts", "api"):
        for file, names in imports_of(package).items():
            assert "benchmarks" not in {_top(n) for n in names}, file
