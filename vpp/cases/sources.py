"""Numbers with their sources: the ``{value, source}`` wrappers of the data files.

The template data files (``vpp/cases/*.yaml``) and the sizing defaults
(``vpp/sizing/defaults.yaml``) write every number as ``{value, source}``;
:func:`unwrap_sources` strips the wrappers and keeps the labels by path, so
that they reach the materialised case's ``meta`` and ``sizing.json``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from vpp.errors import CaseError, Problem

LABELS: dict[str, str] = {
    "[plan]": "TEDA carbon-peaking implementation plan (天津经济技术开发区碳达峰实施方案)",
    "[tianjin]": "Tianjin carbon-peaking plan (天津市碳达峰实施方案, 津政发〔2022〕18号)",
    "[tj-tech]": "Tianjin science-and-technology carbon plan",
    "[pub]": "a published figure from elsewhere, named in the source text",
    "[assumed]": "ours: a documented default; replace it with real data",
    "[override]": "passed to materialize() by the caller",
}
"""The source labels a number may carry (``[pub, weak]`` counts as ``[pub]``)."""


def is_number(x: Any) -> bool:
    """A real number (an int or a float, not a bool)."""
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _is_sourced(x: Any) -> bool:
    return (
        isinstance(x, Mapping)
        and "value" in x
        and "source" in x
        and set(x) <= {"value", "source", "note"}
    )


def unwrap_sources(
    raw: Any, path: str = "", what: str = "the data file"
) -> tuple[Any, dict[str, dict[str, Any]]]:
    """Strip the ``{value, source}`` wrappers; return the plain data and ``{path: {value, source}}``.

    A number outside a wrapper is an error: every number must carry its label.
    List items with an ``id`` are named by it in the paths (``pv.phases[p1].share``).
    ``what`` names the file in the error's step.
    """
    sources: dict[str, dict[str, Any]] = {}
    problems: list[Problem] = []

    def walk(x: Any, where: str) -> Any:
        if _is_sourced(x):
            source = x["source"]
            if not isinstance(source, str) or not any(lbl[:-1] in source for lbl in LABELS):
                problems.append(
                    Problem(where, f"source {source!r} carries none of the labels {list(LABELS)}")
                )
            check_numbers(x["value"], where)
            sources[where] = {"value": x["value"], "source": source}
            return x["value"]
        if isinstance(x, Mapping):
            return {k: walk(v, f"{where}.{k}" if where else str(k)) for k, v in x.items()}
        if isinstance(x, list):
            out = []
            for i, v in enumerate(x):
                key = v["id"] if isinstance(v, Mapping) and isinstance(v.get("id"), str) else str(i)
                out.append(walk(v, f"{where}[{key}]"))
            return out
        if is_number(x):
            problems.append(
                Problem(
                    where,
                    f"the number {x!r} has no source label: write {{value: {x!r}, source: '[assumed] …'}}",
                )
            )
        return x

    def check_numbers(v: Any, where: str) -> None:
        flat = np.asarray(v, dtype=object).ravel() if isinstance(v, list) else [v]
        if not all(is_number(e) for e in flat):
            problems.append(
                Problem(where, f"expected a number or a list of numbers as value, got {v!r}")
            )

    plain = walk(raw, path)
    if problems:
        raise CaseError(problems, step=f"reading {what}")
    return plain, sources
