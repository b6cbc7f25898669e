"""The maths of every asset type, from the docstrings of the modules that state it.

The asset types are the members of the ``assets`` union of ``vpp.case.Case``; the
module of each is the one in the ``models.assets`` package that defines the type's
case class, or else the one that imports it. Nothing here names a module or a class.

A docstring is read as the project writes them: a first line (what the asset
is), then blocks separated by blank lines: reStructuredText simple tables
(the symbol tables), prose (a paragraph that starts with a capital letter and
ends with ``.`` or ``:``) and formulas (anything else, shown as written).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from types import ModuleType

from case_keys import _first_paragraph, _literal_type, shape_of, slug
from markup import inline
from pydantic import BaseModel

_SPEC_REF = re.compile(r"\s*\((model\.md\s*)?§[^)]*\)")


def _table(lines: list[str]) -> list[str]:
    """A simple table (``===  ===`` rule, rows, rule) as a Markdown table of symbol and meaning."""
    rule = lines[0]
    starts = [m.start() for m in re.finditer(r"=+", rule)]
    rows: list[list[str]] = []
    for line in lines[1:]:
        if re.fullmatch(r"[=\s]+", line):
            continue
        cells = [line[a:b].strip() for a, b in zip(starts, [*starts[1:], None], strict=True)]
        if rows and not cells[0]:  # a continuation of the row above
            rows[-1] = [f"{old} {new}".strip() for old, new in zip(rows[-1], cells, strict=True)]
        else:
            rows.append(cells)
    out = ["| symbol | meaning |", "|---|---|"]
    for symbol, *rest in rows:
        meaning = inline(" ".join(rest)).replace("|", "\\|")
        out.append(f"| `{symbol}` | {meaning} |")
    return [*out, ""]


def _is_prose(block: list[str]) -> bool:
    text = " ".join(block).strip()
    return bool(re.match(r"[A-Z][a-z]", text)) and text.endswith((".", ":"))


def render_docstring(doc: str) -> str:
    """A module docstring (after its first line) as Markdown."""
    blocks: list[list[str]] = [[]]
    for line in inspect.cleandoc(doc).splitlines()[1:]:
        if line.strip():
            blocks[-1].append(line)
        elif blocks[-1]:
            blocks.append([])
    out: list[str] = []
    for block in (b for b in blocks if b):
        if re.fullmatch(r"=+(\s+=+)+", block[0].strip()):
            out += _table(block)
        elif _is_prose(block):
            out += [inline(" ".join(line.strip() for line in block)), ""]
        else:
            out += ["```text", *block, "```", ""]
    return "\n".join(out)


def _asset_types() -> list[tuple[str, type[BaseModel]]]:
    from vpp.case import Case

    info = Case.model_fields["assets"]
    shape = shape_of(info.annotation, tuple(info.metadata))
    return [(_literal_type(m) or m.__name__, m) for m in shape.models]


def _modules() -> list[ModuleType]:
    import models.assets as package

    return [
        importlib.import_module(f"{package.__name__}.{m.name}")
        for m in pkgutil.iter_modules(package.__path__)
        if not m.name.startswith("_")
    ]


def _holds(module: ModuleType, model: type[BaseModel]) -> bool:
    return any(value is model for value in vars(module).values())


def asset_pages() -> tuple[str, list[str]]:
    """One section per asset type (in the case's order): its maths, and a link to its keys."""
    out: list[str] = []
    problems: list[str] = []
    modules = _modules()
    for kind, model in _asset_types():
        holders = [m for m in modules if m.__name__ == model.__module__] or [m for m in modules if _holds(m, model)]
        if len(holders) != 1:
            found = ", ".join(m.__name__ for m in holders) or "none"
            problems.append(f"model reference: asset type {kind!r} needs one module in models.assets, found {found}")
            continue
        module = holders[0]
        doc = module.__doc__ or ""
        title = _SPEC_REF.sub("", inline(inspect.cleandoc(doc).splitlines()[0] if doc else "")).rstrip(".")
        if not doc.strip():
            problems.append(f"model reference: {module.__name__} has no docstring with the maths of {kind!r}")
        out += [f"## `{kind}` {{#{slug(kind)}}}", ""]
        out += [f"{title or _first_paragraph(model)}. Stated in `{module.__name__}`; its keys: "
                f"[the case format → {kind}](../guide/case-format.md#{slug(kind)}).", ""]
        out += [render_docstring(doc), ""]
    return "\n".join(out), problems
