"""Reading a canonical case (``shared/spec/model.md`` §1): files, raw data, every problem at once.

The schema itself lives with the model (:mod:`models.case` for the case, each
asset's module in :mod:`models.assets` for its fields and rules); this module
is the edge where raw data becomes a :class:`Case`. It checks every rule and
reports *every* problem found, each with its field path, the offending value
and what was expected (:func:`validate_case`, :func:`load_case`,
:func:`read_case`). :func:`field_path` is the one converter from pydantic's
error locations to those paths (the service uses it too).
"""

from __future__ import annotations

import difflib
import json
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError

from models.assets import ASSETS, Asset
from models.assets.battery import Battery
from models.assets.curtailable import CurtailableLoad
from models.assets.flexible import FlexibleLoad, Requirement
from models.assets.green import GreenContract
from models.assets.load import Load
from models.assets.pv import PV
from models.assets.shiftable import ShiftableLoad
from models.assets.thermal import ThermalStorage
from models.case import (
    MODELS,
    Case,
    DemandResponseEvent,
    Deviation,
    Grid,
    Network,
    Node,
    asset_problems,
    event_problems,
    grid_problems,
    partial_asset,
    rule_context,
    structure_problems,
)
from models.schema import short_repr, whole
from vpp.errors import CaseError, Problem

ASSET_TYPES: dict[str, type[BaseModel]] = {kind: module.SCHEMA for kind, module in ASSETS.items()}

__all__ = [
    "ASSET_TYPES", "PV", "Battery", "Case", "CurtailableLoad", "DemandResponseEvent", "Deviation",
    "FlexibleLoad", "GreenContract", "Grid", "Load", "Network", "Node", "Requirement", "ShiftableLoad",
    "ThermalStorage", "field_path", "load_case", "parse_case_text", "read_case", "read_case_data",
    "short_repr", "validate_case",
]


# ---------------------------------------------------------------------------
# Field paths and messages
# ---------------------------------------------------------------------------


def field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """A pydantic error location as a field path: ``("assets", 3, "battery", "energy_mwh")`` → ``assets[3].energy_mwh``.

    The tag pydantic puts after an index of a discriminated union (the asset's
    type) is dropped; list positions are written ``[i]``.
    """
    parts: list[str] = []
    prev: Any = None
    for i, item in enumerate(loc):
        if isinstance(item, int) or (isinstance(item, str) and "." in item):
            parts.append(f"[{item}]")  # a list position, or a key that is itself dotted (a scenario's series)
        elif i >= 2 and isinstance(prev, int) and item in ASSETS:
            pass  # discriminator tag pydantic puts in the location
        else:
            parts.append(("." if parts else "") + str(item))
        prev = item
    return "".join(parts)


_BOUNDS = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=", "less_than": "<"}

_TYPES = {
    "float_type": "a number", "int_type": "a whole number", "bool_type": "true or false",
    "string_type": "text", "list_type": "a list", "dict_type": "an object (mapping)",
    "model_type": "an object (mapping)", "literal_error": None,
}


def _field_names() -> list[str]:
    names: set[str] = set()
    for model in (*MODELS, Requirement, *ASSET_TYPES.values()):
        names.update(model.model_fields)
    return sorted(names)


_FIELD_NAMES = _field_names()


def problem_of(error: Mapping[str, Any], prefix: tuple[Any, ...] = ()) -> Problem:
    """One pydantic error as a :class:`Problem` with its field path and a message in the case's words."""
    path = field_path((*prefix, *error["loc"]))
    msg, kind, ctx = error["msg"], error["type"], error.get("ctx", {}) or {}
    if kind == "extra_forbidden":
        key = str(error["loc"][-1])
        model = _model_at((*prefix, *error["loc"][:-1]))
        names = sorted(model.model_fields) if model is not None else _FIELD_NAMES
        close = difflib.get_close_matches(key, names, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        if model is not None and not close:
            hint = f" (expected one of: {', '.join(names)})"
        msg = f"unknown field {key!r}{hint}"
    elif kind == "missing":
        msg = "required field is missing"
    elif kind == "union_tag_invalid":
        path += ".type"
        msg = f"unknown asset type {short_repr(error['input'].get('type'))}: expected one of {sorted(ASSETS)}"
    elif kind == "union_tag_not_found":
        path += ".type"
        msg = f"required field is missing: expected one of {sorted(ASSETS)}"
    elif kind in _BOUNDS:
        msg = f"expected a number {_BOUNDS[kind]} {list(ctx.values())[0]:g}, got {short_repr(error['input'])}"
    elif kind in ("int_type", "int_from_float", "int_parsing"):
        msg = f"expected a whole number, got {short_repr(error['input'])}"
    elif _TYPES.get(kind):
        msg = f"expected {_TYPES[kind]}, got {short_repr(error['input'])}"
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    return Problem(path, msg)


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model an annotation holds (through Optional, list and Annotated), if one."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class at a pydantic location inside a case (``("assets", 0, "load")`` → Load)."""
    model: type[BaseModel] | None = Case
    for item in loc:
        if model is None:
            return None
        if isinstance(item, int):
            continue
        if item in ASSETS and model is Case:
            model = ASSETS[item].SCHEMA
        elif item in model.model_fields:
            model = _model_of(model.model_fields[item].annotation)
        elif item in ASSETS:
            model = ASSETS[item].SCHEMA
        else:
            return None
    return model


def _pydantic_problems(err: ValidationError) -> list[Problem]:
    out: list[Problem] = []
    for e in err.errors(include_url=False):
        if e["type"] == "value_error" and isinstance(e.get("ctx", {}).get("error"), CaseError):
            out.extend(e["ctx"]["error"].problems)
            continue
        out.append(problem_of(e))
    return out


# ---------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------

_ASSET = TypeAdapter(Asset)
_EVENT = TypeAdapter(DemandResponseEvent)
_GRID = TypeAdapter(Grid)


def _element_rules(data: Mapping[str, Any], context: dict[str, Any]) -> list[Problem]:
    """The rules of every element that is valid on its own, when the case as a whole is not.

    An asset with field errors of its own gets every check that does not read
    a failed field (:func:`models.case.partial_asset`): a check on a wrong value
    would only report a knock-on problem.
    """
    out: list[Problem] = []
    ctx = rule_context(data)
    grid = data.get("grid")
    if isinstance(grid, Mapping):
        try:
            out += grid_problems(_GRID.validate_python(grid, context=context))
        except ValidationError:
            pass
    assets = data.get("assets") if isinstance(data.get("assets"), list) else []
    for i, raw in enumerate(assets):
        try:
            asset = _ASSET.validate_python(raw, context=context)
        except ValidationError as err:
            if not isinstance(raw, Mapping) or not isinstance(raw.get("type"), str) or raw["type"] not in ASSETS:
                continue
            failed = {str(e["loc"][1]) for e in err.errors() if len(e["loc"]) > 1}
            asset = partial_asset(raw, failed)
        out += asset_problems(asset, i, ctx)
    events = data.get("demand_response") if isinstance(data.get("demand_response"), list) else []
    for i, raw in enumerate(events):
        try:
            ev = _EVENT.validate_python(raw, context=context)
        except ValidationError:
            continue
        out += event_problems(ev, i)
    return out


def validate_case(data: Any) -> tuple[Case | None, list[Problem]]:
    """Validate raw case data; return the case (or None) and every problem found."""
    if data is None:
        return None, [Problem("", "the case is empty: expected a JSON/YAML object with the keys of shared/spec/model.md")]
    if not isinstance(data, Mapping):
        return None, [Problem("", f"expected a JSON/YAML object (mapping) for the case, got {type(data).__name__}")]
    steps = whole(data.get("steps"))
    context = {"steps": steps if isinstance(steps, int) and not isinstance(steps, bool) and steps >= 1 else None}
    try:
        return Case.model_validate(data, context=context), []
    except CaseError as err:
        return None, err.problems
    except ValidationError as err:
        problems = _pydantic_problems(err)
        if not any(p.message.startswith(("duplicate", "unknown node", "the network is not")) for p in problems):
            # Field errors stop pydantic before the cross-field rules: run those on the raw data too.
            problems += structure_problems(data, check_lengths=False)
            problems += _element_rules(data, context)
        return None, _dedupe(problems)


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen, out = set(), []
    for p in problems:
        if (p.path, p.message) not in seen:
            seen.add((p.path, p.message))
            out.append(p)
    return out


def load_case(data: Any) -> Case:
    """A :class:`Case` from raw data (a mapping), raising :class:`CaseError` with every problem."""
    if isinstance(data, Case):
        return data
    case, problems = validate_case(data)
    if problems or case is None:
        raise CaseError(problems)
    return case


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------


def read_case_data(path: str | Path) -> Any:
    """Parse a JSON or YAML case file into raw data (no validation)."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise CaseError([Problem("", f"cannot read case file {str(p)!r}: {exc.strerror or exc}")], step="opening the case file") from None
    step = f"parsing {p.name}"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CaseError([Problem("", f"not UTF-8 text: byte {exc.start} cannot be decoded ({exc.reason})")], step=step) from None
    try:
        return parse_case_text(text, yaml_format=p.suffix.lower() in (".yaml", ".yml"))
    except CaseError as exc:
        raise CaseError(exc.problems, step=step) from None


def parse_case_text(text: str, *, yaml_format: bool = False) -> Any:
    """Parse case text (JSON, or YAML when ``yaml_format``) into raw data, or raise :class:`CaseError`."""
    try:
        if yaml_format:
            try:
                return yaml.safe_load(text)
            except yaml.YAMLError as exc:
                mark = getattr(exc, "problem_mark", None)
                where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
                what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
                raise CaseError([Problem("", f"not valid YAML{where}: {what}")]) from None
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise CaseError([Problem("", f"not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}")]) from None
    except RecursionError:
        raise CaseError([Problem("", "the case is nested too deeply to read")]) from None


def read_case(path: str | Path) -> Case:
    """Read and validate a case file (``.json``, ``.yaml`` or ``.yml``)."""
    data = read_case_data(path)
    case, problems = validate_case(data)
    if problems or case is None:
        raise CaseError(problems, step=f"reading {Path(path).name}")
    return case
