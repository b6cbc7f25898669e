"""The key reference of the canonical case, walked from ``vpp.case.Case``'s fields.

Every pydantic model reached from ``Case`` (through objects, lists and the
``assets`` discriminated union) gets a table of its keys: type (with its bounds),
default, unit and description. Nothing here names a model class or a module: the
walk starts at ``Case`` and follows the annotations.

Descriptions come from the field's ``description``; keys without one are looked
up in ``case_keys.yaml`` by their path (``grid.import_max_mw``, ``battery.energy_mwh``,
``network.nodes.capacity_mw``), then by their bare name (``meta``). A key with
neither is reported as a problem.
"""

from __future__ import annotations

import datetime as dt
import inspect
import re
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types as at
import yaml
from markup import inline
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

#: Units read off the end of a key's name, longest first (the project names quantities with their unit).
UNIT_SUFFIXES = (
    ("_cny_per_mw_h", "CNY/(MW·h)"),
    ("_cny_per_mwh", "CNY/MWh"),
    ("_cny_per_mw", "CNY/MW"),
    ("_cny_per_t", "CNY/tCO2"),
    ("_t_per_mwh", "tCO2/MWh"),
    ("_mw_per_mw_h", "MW/(MW·h)"),
    ("_mwh_th", "MWh thermal"),
    ("_mw_th", "MW thermal"),
    ("_mwh", "MWh"),
    ("_mw", "MW"),
    ("_cny", "CNY"),
    ("_per_hour", "1/h"),
    ("_steps", "steps"),
    ("_step", "step"),
    ("_minutes", "min"),
    ("_hours", "h"),
    ("_h", "h"),
    ("_t", "tCO2"),
)


def unit_of(key: str) -> str | None:
    for suffix, unit in UNIT_SUFFIXES:
        if key.endswith(suffix):
            return unit
    return None


@dataclass
class Bounds:
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    min_length: int | None = None
    max_length: int | None = None

    def add(self, item: Any) -> None:
        """Collect the bounds of one metadata item (annotated_types or a nested FieldInfo)."""
        if isinstance(item, FieldInfo):
            for inner in item.metadata:
                self.add(inner)
            return
        for name in ("ge", "gt", "le", "lt", "min_length", "max_length"):
            value = getattr(item, name, None)
            if isinstance(item, (at.BaseMetadata, at.GroupedMetadata)) and value is not None:
                setattr(self, name, value)

    def number_text(self) -> str:
        low = f"≥ {_num(self.ge)}" if self.ge is not None else f"> {_num(self.gt)}" if self.gt is not None else ""
        high = f"≤ {_num(self.le)}" if self.le is not None else f"< {_num(self.lt)}" if self.lt is not None else ""
        if low and high:
            left = "[" if self.ge is not None else "("
            right = "]" if self.le is not None else ")"
            lo, hi = (self.ge if self.ge is not None else self.gt), (self.le if self.le is not None else self.lt)
            return f"in {left}{_num(lo)}, {_num(hi)}{right}"
        return low or high

    def length_text(self, noun: str) -> str:
        lo, hi = self.min_length, self.max_length
        if lo is not None and hi is not None:
            return f"{lo}–{hi} {noun}"
        if lo is not None:
            return f"at least {lo} {noun}"
        if hi is not None:
            return f"at most {hi} {noun}"
        return ""


def slug(text: str) -> str:
    """An anchor: lower case, runs of anything but letters and digits as one hyphen."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _num(x: Any) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


@dataclass
class Shape:
    """What a key takes, in words, and the models to document below it."""

    text: str
    models: list[type[BaseModel]] = field(default_factory=list)
    union: bool = False
    number: bool = False


def _is_model(tp: Any) -> bool:
    return inspect.isclass(tp) and issubclass(tp, BaseModel)


def _strip_annotated(tp: Any, meta: tuple[Any, ...]) -> tuple[Any, tuple[Any, ...]]:
    while get_origin(tp) is Annotated:
        base, *more = get_args(tp)
        tp, meta = base, (*meta, *more)
    return tp, meta


def shape_of(tp: Any, meta: tuple[Any, ...] = ()) -> Shape:
    tp, meta = _strip_annotated(tp, meta)
    bounds = Bounds()
    for item in meta:
        bounds.add(item)
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        members = [a for a in get_args(tp) if a is not type(None)]
        if len(members) == 1:
            return shape_of(members[0], meta)
        plain = [_strip_annotated(m, ())[0] for m in members]
        if all(_is_model(m) for m in plain):
            return Shape("object, one of the types below", plain, union=True)
        shapes = [shape_of(m) for m in members]
        if any(s.number for s in shapes) and any(get_origin(p) is list for p in plain):
            return Shape("[series](#series)", number=True)
        return Shape(" or ".join(s.text for s in shapes), [m for s in shapes for m in s.models])
    if origin is list:
        (item,) = get_args(tp)
        inner = shape_of(item)
        text = f"list of {inner.text}"
        length = bounds.length_text("item" if bounds.min_length == 1 and bounds.max_length is None else "items")
        return Shape(f"{text}, {length}" if length else text, inner.models, inner.union)
    if origin is dict:
        key, value = (get_args(tp) or (Any, Any))[:2]
        if value is Any:
            return Shape("object (free-form)")
        inner = shape_of(value)
        return Shape(f"object of {shape_of(key).text} → {inner.text}", inner.models, inner.union)
    if origin is Literal:
        return Shape(" or ".join(f'`"{v}"`' if isinstance(v, str) else f"`{v}`" for v in get_args(tp)))
    if _is_model(tp):
        return Shape("object", [tp])
    if tp is bool:
        return Shape("true or false")
    if tp in (int, float):
        text = "integer" if tp is int else "number"
        limits = bounds.number_text()
        return Shape(f"{text} {limits}" if limits else text, number=True)
    if tp is str:
        length = bounds.length_text("characters")
        return Shape(f"text, {length}" if length else "text")
    if tp is dt.datetime:
        return Shape("date and time, ISO 8601 with its UTC offset")
    if tp is Any:
        return Shape("any")
    return Shape(getattr(tp, "__name__", str(tp)))


# Section keys and anchors: models are named by where they sit in the case, filled in by the walk.
_PLACES: dict[type[BaseModel], tuple[str, str]] = {}


def section_key_of(model: type[BaseModel]) -> str:
    return _PLACES[model][0]


def anchor_of(model: type[BaseModel]) -> str:
    return _PLACES[model][1]


def _default_text(info: FieldInfo) -> str:
    if info.default_factory is not None:
        value = info.default_factory()  # type: ignore[call-arg]
        if isinstance(value, BaseModel):
            return "its keys' defaults"
        return f"`{value!r}`"
    if info.default is PydanticUndefined:
        return "**required**"
    if info.default is None:
        return "none"
    if isinstance(info.default, bool):
        return f"`{str(info.default).lower()}`"
    if isinstance(info.default, str):
        return f'`"{info.default}"`'
    return f"`{_num(info.default)}`"


def _rejects_negative(info: FieldInfo) -> bool:
    """Whether a series key refuses −1 (its non-negativity sits in a validator, not in the bounds)."""
    adapter = TypeAdapter(Annotated[info.annotation, *info.metadata]) if info.metadata else TypeAdapter(info.annotation)
    try:
        adapter.validate_python(-1.0)
    except ValidationError:
        return True
    return False


def _first_paragraph(model: type[BaseModel]) -> str:
    doc = model.__dict__.get("__doc__") or ""
    text = inspect.cleandoc(doc).split("\n\n")[0].replace("\n", " ")
    return inline(re.sub(r"\s*\((model\.md\s*)?§[^)]*\)", "", text).strip())


def _literal_type(model: type[BaseModel]) -> str | None:
    info = model.model_fields.get("type")
    if info is None:
        return None
    tp, _ = _strip_annotated(info.annotation, ())
    if get_origin(tp) is Literal:
        return str(get_args(tp)[0])
    return None


@dataclass
class Row:
    key: str
    type: str
    default: str
    unit: str
    description: str

    def line(self) -> str:
        cells = (f"`{self.key}`", self.type, self.default, self.unit, self.description)
        return "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |"


class Walk:
    def __init__(self, descriptions: dict[str, Any]) -> None:
        self.descriptions = descriptions
        self.problems: list[str] = []
        self.out: list[str] = []

    def describe(self, section: str, key: str, info: FieldInfo) -> tuple[str, str | None]:
        """Description and unit override of a key: the model's own, then case_keys.yaml."""
        entry = self.descriptions.get(f"{section}.{key}", self.descriptions.get(key))
        unit = entry.get("unit") if isinstance(entry, dict) else None
        text = info.description or (entry.get("description") if isinstance(entry, dict) else entry)
        if not text:
            self.problems.append(
                f"case format: key {section}.{key} has no description: give the field "
                f"Field(description=...) or add '{section}.{key}' to docs/gen/case_keys.yaml"
            )
            text = ""
        return inline(str(text)), unit

    def rows(self, model: type[BaseModel], section: str, skip: set[str] = frozenset()) -> list[Row]:
        rows = []
        for key, info in model.model_fields.items():
            if key in skip:
                continue
            shape = shape_of(info.annotation, tuple(info.metadata))
            type_text = shape.text
            if len(shape.models) == 1 and not shape.union:
                (child,) = shape.models
                link = f"object ([`{section_key_of(child)}`](#{anchor_of(child)}))"
                type_text = type_text.replace("object", link, 1)
            if type_text == "[series](#series)" and _rejects_negative(info):
                type_text = "[series](#series) ≥ 0"
            text, unit = self.describe(section, key, info)
            if unit is None:
                unit = unit_of(key) or ("fraction" if shape.number and type_text.endswith("0, 1]") else "")
            rows.append(Row(key, type_text, _default_text(info), unit, text))
        return rows

    def children(
        self, model: type[BaseModel], path: str, section: str
    ) -> list[tuple[type[BaseModel], str, str, bool]]:
        """Models reached from a model's keys: (model, path in the case, section key, union member?).

        The section key names a model's keys in case_keys.yaml: the path without list
        brackets, with an asset type standing for ``assets[type=...]``.
        """
        found = []
        prefix = "" if section == "case" else section + "."
        for key, info in model.model_fields.items():
            shape = shape_of(info.annotation, tuple(info.metadata))
            for child in shape.models:
                if shape.union:
                    kind = _literal_type(child) or child.__name__
                    found.append((child, f"{path}{key}[type={kind}]", kind, True))
                else:
                    many = "[]" if shape.text.startswith("list of") else ""
                    found.append((child, f"{path}{key}{many}", prefix + key, False))
        return found

    def place(self, model: type[BaseModel], section: str) -> None:
        _PLACES.setdefault(model, (section, slug(section)))

    def table(self, rows: list[Row]) -> None:
        self.out += ["| key | type | default | unit | description |", "|---|---|---|---|---|"]
        self.out += [r.line() for r in rows]
        self.out.append("")

    def place_children(self, model: type[BaseModel], path: str, section: str) -> None:
        for child, _, child_section, _ in self.children(model, path + "." if path else "", section):
            self.place(child, child_section)

    def model_section(self, model: type[BaseModel], path: str, section: str, level: int) -> None:
        self.place(model, section)
        self.place_children(model, path, section)
        heading = "#" * level
        title = f"`{path}`" if path else "The top level"
        self.out += [f"{heading} {title} {{#{anchor_of(model)}}}", ""]
        intro = _first_paragraph(model)
        if intro:
            self.out += [intro, ""]
        self.table(self.rows(model, section))
        groups: dict[str, list[tuple[type[BaseModel], str, str]]] = {}
        for child, child_path, child_section, union in self.children(model, path + "." if path else "", section):
            groups.setdefault(child_path.split("[type=")[0] if union else child_path, []).append(
                (child, child_path, child_section)
            )
        for group_path, members in groups.items():
            if len(members) > 1 or "[type=" in members[0][1]:
                self.union_section(group_path, members, level)
            else:
                child, child_path, child_section = members[0]
                self.model_section(child, child_path, child_section, level)

    def union_section(self, path: str, members: list[tuple[type[BaseModel], str, str]], level: int) -> None:
        """A discriminated union (the assets): the keys every member shares, then each member's own."""
        models = [m for m, _, _ in members]
        shared = [
            key
            for key in models[0].model_fields
            if key != "type" and all(
                key in m.model_fields and repr(m.model_fields[key]) == repr(models[0].model_fields[key])
                for m in models
            )
        ]
        section = path.replace("[]", "")
        heading = "#" * level
        self.out += [f"{heading} `{path}[]` {{#{slug(section)}}}", ""]
        kinds = ", ".join(f"[`{_literal_type(m)}`](#{anchor_of(m)})" for m in models)
        self.out += [
            f"Each item is an object whose `type` is one of {kinds}. Keys every type takes:",
            "",
        ]
        shared_rows = [r for r in self.rows(models[0], section, skip={k for k in models[0].model_fields if k not in shared})]
        self.table(shared_rows)
        for model, member_path, member_section in members:
            kind = _literal_type(model) or model.__name__
            self.place_children(model, member_path, member_section)
            self.out += [f"{heading}# `{kind}` {{#{anchor_of(model)}}}", ""]
            intro = _first_paragraph(model)
            sentence = intro.rstrip(".") + ". " if intro else ""
            self.out += [
                f"{sentence}Written `\"type\": \"{kind}\"`; its maths: "
                f"[Assets → {kind}](../model/assets.md#{slug(kind)}).",
                "",
            ]
            self.table(self.rows(model, member_section, skip={*shared, "type"}))
            for child, child_path, child_section, _ in self.children(model, member_path + ".", member_section):
                self.model_section(child, child_path, child_section, level + 2)


def case_key_tables(descriptions_file: Path) -> tuple[str, list[str]]:
    """The Markdown of every key's table, and the problems found (keys without a description)."""
    from vpp.case import Case

    _PLACES.clear()
    descriptions = yaml.safe_load(descriptions_file.read_text(encoding="utf-8")) or {}
    walk = Walk(descriptions)
    walk.model_section(Case, "", "case", 2)
    return "\n".join(walk.out), walk.problems
