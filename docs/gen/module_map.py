"""The map of the packages: every module with the first line of its docstring.

Read with ``ast`` (nothing is imported), so the map follows the code as it is.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from markup import inline

PACKAGES = ("vpp", "models", "forecasts", "api", "benchmarks")


def module_map(root: Path) -> tuple[str, list[str]]:
    """One table per package: module path and what it is; modules without a docstring are problems."""
    out: list[str] = []
    problems: list[str] = []
    for package in PACKAGES:
        rows = []
        for path in sorted((root / package).rglob("*.py")):
            relative = path.relative_to(root).as_posix()
            if "/migrations/" in relative:
                continue
            doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
            if not doc:
                if path.name != "__init__.py":
                    problems.append(f"module map: {relative} has no docstring saying what it is")
                continue
            first = re.sub(r"\s*\((``)?(shared/spec/)?model\.md(``)?\s*(§[^)]*)\)", r" (\4)", doc.splitlines()[0])
            first = re.sub(r"(``)?(shared/spec/)?model\.md(``)?\s*§", "§", first)
            rows.append(f"| `{relative}` | {inline(first).replace('|', chr(92) + '|')} |")
        out += [f"### `{package}/`", "", "| module | what it is |", "|---|---|", *rows, ""]
    return "\n".join(out), problems
