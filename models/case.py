"""The canonical, materialised case (``shared/spec/model.md`` §1) as pydantic models.

The contract's schema lives with the maths that read it: each asset type's
fields are declared in its own module (:mod:`models.assets`), beside its
constraints and its input rules; this module holds the rest of the case (the
network, the grid connection, demand-response events, the case-level options)
and the rules that span the whole case (ids, the tree, references, windows).

Reading a case checks every rule of the spec at the edge (:mod:`vpp.case`
collects every problem with its field path); downstream code (the model, the
results) trusts a :class:`Case` and never re-checks it.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from datetime import datetime
from functools import cache, lru_cache
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import (
    BaseModel,
    BeforeValidator,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    model_validator,
)
from pydantic_core import PydanticCustomError

from models.assets import ASSETS, Asset
from models.declare.horizon import RuleContext
from models.schema import (
    Described,
    Fraction,
    Id,
    NonNeg,
    NonNegSeries,
    Positive,
    Series,
    Step,
    Strict,
    series,
    short_repr,
    whole,
)
from vpp.errors import CaseError, Problem

# ---------------------------------------------------------------------------
# Network and grid connection
# ---------------------------------------------------------------------------


class Node(Described):
    """A substation or bus below the root; its branch to ``parent`` carries f [MW], positive upwards."""

    id: Id
    parent: Id | None = Field(default=None, description="Parent node id; absent = the root.")
    capacity_mw: NonNeg | None = Field(
        default=None, description="Branch limit [MW] both ways; absent = no limit."
    )
    export_capacity_mw: NonNeg | None = Field(
        default=None, description="Upward (towards the parent) limit [MW]; defaults to capacity_mw."
    )

    @property
    def up_limit_mw(self) -> float | None:
        return self.export_capacity_mw if self.export_capacity_mw is not None else self.capacity_mw


class Network(Strict):
    root: Id = "grid"
    nodes: list[Node] = Field(default_factory=list)


class Deviation(Strict):
    """Prices of deviating from the declared net-import plan (model.md §3, v2)."""

    short_cny_per_mwh: NonNegSeries = Field(description="c⁺: net import above the plan [CNY/MWh].")
    long_cny_per_mwh: NonNegSeries = Field(description="c⁻: net import below the plan [CNY/MWh].")
    tolerance_mw: NonNegSeries = Field(default=0.0, description="ε: deviation not charged [MW].")


class Grid(Described):
    """The connection to the public grid, at the root (model.md §3)."""

    import_max_mw: NonNegSeries = Field(description="Import limit [MW]; a series (v2): 0 with export 0 is an outage.")
    export_max_mw: NonNegSeries = Field(default=0.0, description="Export limit [MW] (series, v2).")
    buy_cny_per_mwh: Series
    sell_cny_per_mwh: Series = 0.0
    demand_charge_cny_per_mw: NonNeg = Field(
        default=0.0, description="Charge per MW of the billing period's maximum demand [CNY/MW].")
    peak_to_date_mw: NonNeg = Field(
        default=0.0, description="P̂: maximum demand already reached in the billing period [MW] (v2).")
    declared_demand_mw: NonNeg | None = Field(
        default=None, description="Dd: declared maximum demand [MW]; above 105 % is charged twice (v2).")
    schedule_mw: Series | None = Field(
        default=None, description="D: the declared net-import plan [MW] to re-dispatch against (v2).")
    deviation: Deviation | None = Field(
        default=None, description="Deviation charges against the declared plan (v2).")
    emission_t_per_mwh: NonNegSeries = 0.0


# ---------------------------------------------------------------------------
# Case-level options (model.md §5)
# ---------------------------------------------------------------------------


class DemandResponseEvent(Described):
    """A demand-response event on the net import at the root (§5.2)."""

    id: Id
    kind: Literal["peak_shaving", "valley_filling"] = Field(
        default="peak_shaving", description="削峰 (net import held below the baseline) or 填谷 (raised above it) (v2).")
    start_step: Step
    end_step: Annotated[Step, Field(ge=1)]
    baseline_mw: Series
    reduction_mw: NonNeg | None = Field(default=None, description="A: peak shaving's amount [MW].")
    increase_mw: NonNeg | None = Field(default=None, description="A: valley filling's amount [MW] (v2).")
    price_cny_per_mwh: NonNeg
    shortfall_penalty_cny_per_mwh: NonNeg
    optional: bool = True

    @property
    def length_steps(self) -> int:
        return self.end_step - self.start_step

    @property
    def amount_mw(self) -> float:
        """A: the reduction (peak shaving) or increase (valley filling) asked for [MW]."""
        value = self.reduction_mw if self.kind == "peak_shaving" else self.increase_mw
        return float(value or 0.0)


class Regulation(Strict):
    """Frequency regulation (调频) offered by the batteries that take part, co-optimised with energy (§5.4, v2)."""

    capacity_price_cny_per_mw_h: NonNegSeries = Field(description="π_c: paid per MW of band and hour [CNY/MW·h].")
    mileage_price_cny_per_mw: NonNegSeries = Field(default=0.0, description="π_m: paid per MW of mileage [CNY/MW].")
    mileage_mw_per_mw_h: NonNeg = Field(default=0.0, description="μ: mileage per MW of band and hour [MW/MW·h].")
    deployment_fraction: Fraction = Field(
        default=0.0, description="α: expected share of the band deployed, whose round-trip loss the battery bears.")
    duration_h: Positive = Field(default=0.25, description="τ: how long a full deployment lasts [h].")
    block_steps: Annotated[Step, Field(ge=1)] = Field(default=1, description="B: steps an offer is held constant.")
    min_offer_mw: NonNeg = Field(default=0.0, description="R_min: the least aggregate offer accepted [MW].")


class Scenario(Strict):
    """One scenario of a two-stage stochastic day (§6): the base case with some series replaced."""

    id: Id
    probability: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]
    series: dict[str, Series] = Field(
        default_factory=dict,
        description="KEY → series: '<asset id>.<series field>', 'grid.<series field>', '<event id>.baseline_mw'.")


class Risk(Strict):
    """The CVaR term of a stochastic day (§6): λ·CVaR_β of the scenario costs."""

    cvar_beta: Annotated[float, Field(ge=0, lt=1, allow_inf_nan=False)] = Field(
        default=0.9, description="β: the CVaR's confidence level.")
    cvar_weight: NonNeg = Field(default=0.0, description="λ: the weight of the CVaR in the objective.")


#: Grid series a scenario may replace (§6); schedule_mw only when the base case has one.
SCENARIO_GRID_KEYS = ("buy_cny_per_mwh", "sell_cny_per_mwh", "emission_t_per_mwh", "import_max_mw",
                      "export_max_mw", "schedule_mw")


# ---------------------------------------------------------------------------
# The case
# ---------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _timestamps(start: datetime, steps: int, step_minutes: int) -> pd.DatetimeIndex:
    """The step starts of a case; cached, as results ask for them many times (an index is immutable)."""
    return pd.date_range(start, periods=steps, freq=pd.Timedelta(minutes=step_minutes))


def _aware(value: Any) -> Any:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise PydanticCustomError(
                "start_format",
                "expected an ISO 8601 time with its UTC offset, e.g. 2026-07-15T00:00:00+08:00, got {v}",
                {"v": short_repr(value)},
            ) from None
    if isinstance(value, datetime) and value.utcoffset() is None:
        raise PydanticCustomError(
            "start_timezone",
            "time zone missing: expected an ISO 8601 time with its UTC offset, "
            "e.g. 2026-07-15T00:00:00+08:00, got {v}",
            {"v": value.isoformat()},
        )
    return value


class Case(Strict):
    """A materialised case: everything the model needs, nothing it must look up."""

    name: str = "case"
    start: Annotated[datetime, BeforeValidator(_aware)]
    step_minutes: Annotated[int, BeforeValidator(whole), Field(gt=0, le=1440)]
    steps: Annotated[int, BeforeValidator(whole), Field(ge=1, le=100_000)]
    voll_cny_per_mwh: NonNeg = 20000.0
    carbon_price_cny_per_t: NonNeg = 0.0
    green_share_min: Fraction | None = None
    emissions_max_t: NonNeg | None = Field(
        default=None, description="Cap on the horizon's emissions [tCO2] (v2, §5.3).")
    backup_hours: Positive | None = Field(
        default=None, description="H: the batteries always hold the critical load through an outage of H hours "
        "(v2, §5.5).")
    network: Network = Field(default_factory=Network)
    grid: Grid
    assets: list[Asset] = Field(default_factory=list)
    demand_response: list[DemandResponseEvent] = Field(default_factory=list)
    regulation: Regulation | None = Field(default=None, description="Frequency regulation market (v2, §5.4).")
    scenarios: list[Scenario] | None = Field(
        default=None, description="A two-stage stochastic day (v2, §6); absent = one deterministic scenario.")
    risk: Risk | None = Field(default=None, description="The CVaR term over the scenarios (v2, §6).")
    description: str | None = None
    meta: dict[str, Any] | None = Field(
        default=None, description="Provenance: template, date, where each series came from."
    )

    @model_validator(mode="after")
    def _check_case(self, info: ValidationInfo) -> Case:
        checked = (info.context or {}).get("steps") == self.steps
        problems = structure_problems(self.model_dump(mode="python"), check_lengths=not checked)
        problems += element_problems(self)
        if problems:
            raise CaseError(problems)
        return self

    # -- helpers used downstream -------------------------------------------------

    @property
    def dt_hours(self) -> float:
        """Step length Δ [h]."""
        return self.step_minutes / 60.0

    def series(self, value: float | list[float]) -> np.ndarray:
        """A series field as an array of ``steps`` floats."""
        return series(value, self.steps)

    @property
    def timestamps(self) -> pd.DatetimeIndex:
        """Start of every step, in the case's own UTC offset (local time)."""
        return _timestamps(self.start, self.steps, self.step_minutes)

    @property
    def node_ids(self) -> list[str]:
        return [n.id for n in self.network.nodes]

    def node_of(self, asset: Any) -> str:
        """The node an asset sits at (the root when absent)."""
        return asset.node or self.network.root

    def parent_of(self, node: Node) -> str:
        return node.parent or self.network.root

    def assets_of(self, kind: type) -> list[Any]:
        return [a for a in self.assets if isinstance(a, kind)]

    def to_json(self, indent: int | None = 2) -> str:
        return self.model_dump_json(indent=indent, exclude_none=True)


#: Every model class of the case, for suggestions of misspelt keys.
MODELS: tuple[type[BaseModel], ...] = (Case, Network, Node, Grid, Deviation, DemandResponseEvent, Regulation,
                                       Scenario, Risk)


# ---------------------------------------------------------------------------
# Rules that span several fields
# ---------------------------------------------------------------------------


def _is_series_annotation(annotation: Any) -> bool:
    if typing.get_origin(annotation) is Annotated:
        args = typing.get_args(annotation)
        if any(getattr(m, "func", None) is _coerce for m in args[1:]):
            return True
        return _is_series_annotation(args[0])
    return any(_is_series_annotation(a) for a in typing.get_args(annotation))


_coerce = typing.get_args(Series)[1].func  # the series validator every series field carries


@cache
def series_fields(model: type[BaseModel]) -> tuple[str, ...]:
    """The fields of ``model`` that are series (one number or one per step); a class's fields never change."""
    return tuple(name for name, f in model.model_fields.items()
                 if _is_series_annotation(f.annotation) or any(getattr(m, "func", None) is _coerce for m in f.metadata))


def rule_context(data: Mapping[str, Any]) -> RuleContext:
    """The horizon and root of raw case data, each None where the case's own field is invalid."""
    steps = whole(data.get("steps"))
    steps = steps if _is_int(steps) and 1 <= steps <= 100_000 else None
    minutes = whole(data.get("step_minutes"))
    dt = minutes / 60.0 if _is_int(minutes) and 0 < minutes <= 1440 else None
    network = data.get("network") if isinstance(data.get("network"), Mapping) else {}
    root = network.get("root", "grid")
    return RuleContext(steps=steps, dt=dt, root=root if isinstance(root, str) else None)


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _maps(x: Any) -> list[Mapping[str, Any]]:
    """The mappings of a raw list (anything else: none)."""
    return [item for item in x if isinstance(item, Mapping)] if isinstance(x, list) else []


def structure_problems(data: Mapping[str, Any], check_lengths: bool = True) -> list[Problem]:
    """Rules across the case: ids, references, the tree, event windows, series lengths.

    Tolerant of malformed input (it also runs on raw dictionaries whose fields
    failed validation), so that one pass reports everything it can see.
    """
    out: list[Problem] = []
    ctx = rule_context(data)
    steps = ctx.steps
    network = data.get("network") if isinstance(data.get("network"), Mapping) else {}
    root = ctx.root or "grid"
    nodes = _maps(network.get("nodes"))
    assets = data.get("assets") if isinstance(data.get("assets"), list) else []
    events = data.get("demand_response") if isinstance(data.get("demand_response"), list) else []

    # Unique ids across nodes and assets, and not the root's.
    seen: dict[str, str] = {}
    for i, n in enumerate(nodes):
        nid = n.get("id")
        if not isinstance(nid, str):
            continue
        where = f"network.nodes[{i}].id"
        if nid == root:
            out.append(Problem(where, f"node id {nid!r} is the root's id; the root is implicit"))
        elif nid in seen:
            out.append(Problem(where, f"duplicate id {nid!r} (already used at {seen[nid]})"))
        else:
            seen[nid] = where
    node_ids = {n.get("id") for n in nodes if isinstance(n.get("id"), str)}
    for i, a in enumerate(assets):
        if not isinstance(a, Mapping) or not isinstance(a.get("id"), str):
            continue
        aid = a["id"]
        where = f"assets[{i}].id"
        if aid == root or aid in seen:
            first = "the root" if aid == root else seen[aid]
            out.append(Problem(where, f"duplicate id {aid!r} (already used at {first})"))
        else:
            seen[aid] = where

    # The network is a tree hanging from the root.
    parent = {}
    for i, n in enumerate(nodes):
        nid, par = n.get("id"), n.get("parent") or root
        if not isinstance(nid, str) or nid == root or not isinstance(par, str):
            continue
        if par != root and par not in node_ids:
            out.append(
                Problem(
                    f"network.nodes[{i}].parent",
                    f"unknown node {par!r}: expected the root {root!r} or one of {sorted(node_ids)}",
                )
            )
        parent[nid] = par
    reported: set[str] = set()
    for i, n in enumerate(nodes):
        nid = n.get("id")
        if not isinstance(nid, str) or nid == root or nid in reported:
            continue
        path, cur = [nid], parent.get(nid)
        while cur in parent and cur != root and cur not in path:
            path.append(cur)
            cur = parent[cur]
        if cur == nid:  # the walk came back to where it started: nid is on a cycle
            cycle = [*path, nid]
            reported.update(path)
            out.append(
                Problem(
                    f"network.nodes[{i}].parent",
                    "the network is not a tree: cycle " + " -> ".join(cycle)
                    + f"; every node must lead up to the root {root!r}",
                )
            )

    # Series lengths (only when the fields were not already checked with the context).
    def length(value: Any, where: str) -> None:
        if check_lengths and steps is not None and isinstance(value, list) and len(value) != steps:
            out.append(
                Problem(where, f"expected {steps} values (one per step) or a single number, got {len(value)} values")
            )

    grid = data.get("grid") if isinstance(data.get("grid"), Mapping) else {}
    for f in series_fields(Grid):
        length(grid.get(f), f"grid.{f}")
    deviation = grid.get("deviation") if isinstance(grid.get("deviation"), Mapping) else {}
    for f in series_fields(Deviation):
        length(deviation.get(f), f"grid.deviation.{f}")
    regulation = data.get("regulation") if isinstance(data.get("regulation"), Mapping) else {}
    for f in series_fields(Regulation):
        length(regulation.get(f), f"regulation.{f}")
    for i, ev in enumerate(events):
        if not isinstance(ev, Mapping):
            continue
        length(ev.get("baseline_mw"), f"demand_response[{i}].baseline_mw")
        start, end = ev.get("start_step"), ev.get("end_step")
        start, end = whole(start), whole(end)
        if _is_int(start) and _is_int(end) and end <= start:
            out.append(Problem(f"demand_response[{i}].end_step", f"expected end_step > start_step ({start}), got {end}"))
        elif steps is not None and _is_int(end) and end > steps:
            out.append(Problem(f"demand_response[{i}].end_step", f"expected <= steps ({steps}), got {end}"))
    ev_ids = [ev.get("id") if isinstance(ev, Mapping) else None for ev in events]
    for i, eid in enumerate(ev_ids):
        if isinstance(eid, str) and eid in ev_ids[:i]:
            out.append(Problem(f"demand_response[{i}].id", f"duplicate event id {eid!r}"))

    for i, a in enumerate(assets):
        if not isinstance(a, Mapping):
            continue
        kind = a.get("type")
        module = ASSETS.get(kind) if isinstance(kind, str) else None
        if module is not None:
            for f in series_fields(module.SCHEMA):
                length(a.get(f), f"assets[{i}].{f}")
        node = a.get("node")
        if isinstance(node, str) and node != root and node not in node_ids:
            out.append(
                Problem(
                    f"assets[{i}].node",
                    f"unknown node {node!r}: expected the root {root!r} or one of {sorted(node_ids)}",
                )
            )
    return out


class _Skip(Exception):
    """Raised by a field that failed validation when a rule reads it."""


class _Failed:
    """Stands in for a field that failed validation: any use of it skips the rule that reads it."""

    def _stop(self, *args: Any, **kwargs: Any) -> Any:
        raise _Skip

    __bool__ = __float__ = __int__ = __index__ = __len__ = __iter__ = __getitem__ = _stop
    __lt__ = __le__ = __gt__ = __ge__ = __add__ = __radd__ = __sub__ = __rsub__ = _stop
    __mul__ = __rmul__ = __truediv__ = __rtruediv__ = __neg__ = __format__ = __array__ = _stop


_FAILED = _Failed()


def asset_problems(asset: Any, index: int, ctx: RuleContext) -> list[Problem]:
    """The checks of an asset's own module (its ``RULES``), at ``assets[index]``.

    ``asset`` may be a partial asset (:func:`partial_asset`): a check that reads
    one of its failed fields is skipped.
    """
    out = []
    for check in getattr(ASSETS[asset.type], "RULES", ()):
        try:
            found = check(asset, ctx)
        except _Skip:
            continue
        out += [Problem(f"assets[{index}].{p.path}", p.message) for p in found]
    return out


def partial_asset(raw: Mapping[str, Any], failed: set[str]) -> Any:
    """An asset of raw data whose fields ``failed`` validation (or are missing): each stands in as failed.

    Lets every check that does not read a failed field run, so independent
    problems of an asset are all reported at once and knock-ons are not.
    """
    module = ASSETS[raw["type"]]
    schema = module.SCHEMA
    values: dict[str, Any] = {}
    for name, f in schema.model_fields.items():
        if name in failed or (f.is_required() and name not in raw):
            values[name] = _FAILED
        elif name in raw:
            values[name] = _field_value(schema, name, raw[name])
    return schema.model_construct(**values)


@cache
def _field_adapter(schema: type, name: str) -> TypeAdapter[Any]:
    f = schema.model_fields[name]  # type: ignore[attr-defined]
    return TypeAdapter(Annotated[f.annotation, *f.metadata] if f.metadata else f.annotation)


def _field_value(schema: type, name: str, value: Any) -> Any:
    """One field validated on its own (nested models become models), or failed if it does not validate alone."""
    try:
        return _field_adapter(schema, name).validate_python(value, strict=schema.model_config.get("strict"))  # type: ignore[attr-defined]
    except (ValidationError, TypeError, ValueError):
        return _FAILED


def event_problems(ev: DemandResponseEvent, index: int) -> list[Problem]:
    """A peak-shaving event takes ``reduction_mw``, a valley-filling one ``increase_mw`` (§5.2)."""
    label = f"demand_response[{index}]"
    want, other = ("reduction_mw", "increase_mw") if ev.kind == "peak_shaving" else ("increase_mw", "reduction_mw")
    out = []
    if getattr(ev, other) is not None:
        out.append(Problem(f"{label}.{other}", f"a {ev.kind.replace('_', '-')} event takes {want}, not {other}"))
    if getattr(ev, want) is None:
        out.append(Problem(f"{label}.{want}", f"required field is missing: a {ev.kind.replace('_', '-')} event takes {want}"))
    return out


def grid_problems(grid: Grid) -> list[Problem]:
    """A declared plan needs its deviation prices (§3)."""
    if grid.schedule_mw is not None and grid.deviation is None:
        return [Problem("grid.schedule_mw", "a declared plan needs deviation prices: expected grid.deviation "
                        "with short_cny_per_mwh and long_cny_per_mwh beside schedule_mw")]
    return []


def scenario_problems(case: Case) -> list[Problem]:
    """Scenarios (§6): probabilities adding to 1, unique ids, keys naming a series of the case, valid values."""
    out: list[Problem] = []
    if case.scenarios is None:
        if case.risk is not None:
            out.append(Problem("risk", "a risk term needs scenarios: expected scenarios beside risk"))
        return out
    if not case.scenarios:
        return [Problem("scenarios", "expected at least one scenario, or no scenarios key")]
    total = sum(sc.probability for sc in case.scenarios)
    if abs(total - 1.0) > 1e-6:
        out.append(Problem("scenarios", f"the probabilities add up to {total:g}: expected 1 (within 1e-6)"))
    seen: set[str] = set()
    for i, sc in enumerate(case.scenarios):
        if sc.id in seen:
            out.append(Problem(f"scenarios[{i}].id", f"duplicate scenario id {sc.id!r}"))
        seen.add(sc.id)
        for key, value in sc.series.items():
            where = f"scenarios[{i}].series[{key}]"
            try:
                scenario_element(case, key, value)
            except _ScenarioKeyError as err:
                out.append(Problem(where, str(err)))
            except CaseError as err:
                out += [Problem(where, p.message) for p in err.problems]
            except ValidationError as err:
                out += [Problem(where, e["msg"].removeprefix("Value error, ")) for e in err.errors(include_url=False)]
    return out


class _ScenarioKeyError(ValueError):
    """A scenario key that names no series of the case."""


def scenario_element(case: Case, key: str, value: Any) -> tuple[str, int, Any]:
    """Where a scenario's ``key`` points and the element with ``value`` in place: ("grid" | "asset" | "event", index, element).

    Raises a ValueError naming what was expected when the key names no series
    a scenario may replace, and a ValidationError when the value breaks the field's rules.
    """
    if "." not in key:
        raise _ScenarioKeyError(f"expected '<asset id>.<field>', 'grid.<field>' or '<event id>.baseline_mw', got {key!r}")
    owner, field = key.rsplit(".", 1)
    context = {"steps": case.steps}
    if owner == "grid":
        if field not in SCENARIO_GRID_KEYS:
            raise _ScenarioKeyError(f"a scenario may replace grid.{', grid.'.join(SCENARIO_GRID_KEYS)}; got {key!r}")
        if field == "schedule_mw" and case.grid.schedule_mw is None:
            raise _ScenarioKeyError("grid.schedule_mw: the base case has no declared plan to replace")
        data = case.grid.model_dump() | {field: value}
        return "grid", 0, Grid.model_validate(data, context=context)
    for i, a in enumerate(case.assets):
        if a.id == owner:
            schema = ASSETS[a.type].SCHEMA
            if field not in series_fields(schema):
                raise _ScenarioKeyError(f"{owner!r} is a {a.type}; its series are {', '.join(series_fields(schema))}; "
                                        f"got {field!r}")
            return "asset", i, schema.model_validate(a.model_dump() | {field: value}, context=context)
    for i, ev in enumerate(case.demand_response):
        if ev.id == owner:
            if field != "baseline_mw":
                raise _ScenarioKeyError(f"a scenario may replace an event's baseline_mw only; got {key!r}")
            return "event", i, DemandResponseEvent.model_validate(ev.model_dump() | {field: value}, context=context)
    raise _ScenarioKeyError(f"no asset or event {owner!r} in the case (and it is not 'grid')")


def element_problems(case: Case) -> list[Problem]:
    """The rules of every element of a valid case: its assets', its events', its grid's, its scenarios'."""
    ctx = RuleContext(steps=case.steps, dt=case.dt_hours, root=case.network.root)
    out = grid_problems(case.grid)
    for i, a in enumerate(case.assets):
        out += asset_problems(a, i, ctx)
    for i, ev in enumerate(case.demand_response):
        out += event_problems(ev, i)
    out += scenario_problems(case)
    return out
