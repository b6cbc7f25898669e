"""The canonical, materialised case (``shared/spec/model.md`` §1) as pydantic models.

Units everywhere: MW (average power over a step), MWh, CNY, hours, tCO2; prices
in CNY/MWh. A *series* field takes one number (the same every step) or a list
of exactly ``steps`` numbers; :meth:`Case.series` turns either into an array.

Reading a case checks every rule of the spec at the edge and reports *every*
problem found, each with its field path and what was expected
(:func:`validate_case`, :func:`load_case`). Downstream code (the model, the
results) trusts a :class:`Case` and never re-checks it.
"""

from __future__ import annotations

import difflib
import json
import math
import reprlib
from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    model_validator,
)
from pydantic_core import PydanticCustomError

from vpp.errors import CaseError, Problem

# ---------------------------------------------------------------------------
# Field types
# ---------------------------------------------------------------------------


_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxstring, _SHORT.maxother = 2, 60, 60
_SHORT.maxlist, _SHORT.maxdict, _SHORT.maxlong = 6, 6, 40


def short_repr(value: Any) -> str:
    """``repr`` cut to a readable length and depth, for error messages about arbitrary input."""
    return _SHORT.repr(value)


def _as_number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise PydanticCustomError(
            "series_type", "expected a number{where}, got {value}", {"where": where, "value": short_repr(value)}
        )
    try:
        x = float(value)
    except OverflowError:
        x = math.inf if value > 0 else -math.inf
    if not math.isfinite(x):
        raise PydanticCustomError(
            "series_finite", "expected a finite number{where}, got {value}", {"where": where, "value": x}
        )
    return x


def _coerce_series(value: Any, info: ValidationInfo) -> float | list[float]:
    """One number, or a list of exactly ``steps`` numbers (``steps`` from the context)."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        out = [_as_number(v, f" at position {i}") for i, v in enumerate(value)]
        steps = (info.context or {}).get("steps")
        if isinstance(steps, int) and len(out) != steps:
            raise PydanticCustomError(
                "series_length",
                "expected {steps} values (one per step) or a single number, got {n} values",
                {"steps": steps, "n": len(out)},
            )
        return out
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return _as_number(value, "")
    raise PydanticCustomError(
        "series_type",
        "expected a number or a list of one number per step, got {kind}",
        {"kind": type(value).__name__},
    )


def _non_negative(value: float | list[float]) -> float | list[float]:
    values = value if isinstance(value, list) else [value]
    for i, v in enumerate(values):
        if v < 0:
            where = f" at position {i}" if isinstance(value, list) else ""
            raise PydanticCustomError(
                "series_negative", "expected values >= 0, got {v}{where}", {"v": v, "where": where}
            )
    return value


Series = Annotated[float | list[float], BeforeValidator(_coerce_series)]
"""Any finite number per step [unit in the field name]."""
NonNegSeries = Annotated[Series, AfterValidator(_non_negative)]
"""A finite number >= 0 per step."""

Finite = Annotated[float, Field(allow_inf_nan=False)]
NonNeg = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Fraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Efficiency = Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]
Id = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^\S(.*\S)?$")]


class _Model(BaseModel):
    """Strict base: unknown keys are errors (a misspelt key must not be ignored)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class _Described(_Model):
    """Free-text fields every element may carry; the model ignores them."""

    name: str | None = None
    description: str | None = None
    meta: dict[str, Any] | None = Field(
        default=None, description="Provenance and notes (where a series came from, labels)."
    )


# ---------------------------------------------------------------------------
# Network and grid connection
# ---------------------------------------------------------------------------


class Node(_Described):
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


class Network(_Model):
    root: Id = "grid"
    nodes: list[Node] = Field(default_factory=list)


class Grid(_Described):
    """The connection to the public grid, at the root (model.md §3)."""

    import_max_mw: NonNeg
    export_max_mw: NonNeg = 0.0
    buy_cny_per_mwh: Series
    sell_cny_per_mwh: Series = 0.0
    demand_charge_cny_per_mw: NonNeg = 0.0
    emission_t_per_mwh: NonNegSeries = 0.0


# ---------------------------------------------------------------------------
# Assets (model.md §4)
# ---------------------------------------------------------------------------


class _Asset(_Described):
    id: Id
    node: Id | None = Field(default=None, description="Node id; absent = the root.")


class PV(_Asset):
    """Rooftop or ground PV, curtailable (§4.1)."""

    type: Literal["pv"] = "pv"
    available_mw: NonNegSeries
    curtailment_cny_per_mwh: Finite = 0.0


class Load(_Asset):
    """Fixed demand (§4.2)."""

    type: Literal["load"] = "load"
    demand_mw: NonNegSeries


class Battery(_Asset):
    """Electrochemical storage (§4.3)."""

    type: Literal["battery"] = "battery"
    power_mw: NonNeg | None = None
    charge_power_mw: NonNeg | None = None
    discharge_power_mw: NonNeg | None = None
    energy_mwh: NonNeg
    charge_efficiency: Efficiency = 0.95
    discharge_efficiency: Efficiency = 0.95
    soc_min: Fraction = 0.1
    soc_max: Fraction = 0.9
    soc_initial: Fraction = 0.5
    soc_final_min: Fraction | None = None
    self_discharge_per_hour: Fraction = 0.0
    degradation_cny_per_mwh: NonNeg = 0.0
    max_cycles: NonNeg | None = None

    @property
    def charge_mw(self) -> float:
        """Charge power limit Pch [MW]."""
        return self.charge_power_mw if self.charge_power_mw is not None else float(self.power_mw or 0)

    @property
    def discharge_mw(self) -> float:
        """Discharge power limit Pdis [MW]."""
        if self.discharge_power_mw is not None:
            return self.discharge_power_mw
        return float(self.power_mw or 0)

    @property
    def final_min(self) -> float:
        """Minimum SoC at the end of the horizon [fraction]; defaults to soc_initial."""
        return self.soc_initial if self.soc_final_min is None else self.soc_final_min


class CurtailableLoad(_Asset):
    """Interruptible demand (§4.4)."""

    type: Literal["curtailable_load"] = "curtailable_load"
    demand_mw: NonNegSeries
    max_reduction_mw: NonNegSeries
    cost_cny_per_mwh: Finite
    min_duration_steps: Annotated[int, Field(ge=1)] = 1
    max_events: Annotated[int, Field(ge=0)] | None = None

    @property
    def needs_binaries(self) -> bool:
        return self.min_duration_steps > 1 or self.max_events is not None


class ShiftableLoad(_Asset):
    """A process that runs once with a fixed power profile (§4.5)."""

    type: Literal["shiftable_load"] = "shiftable_load"
    profile_mw: Annotated[list[NonNeg], Field(min_length=1)]
    earliest_start: Annotated[int, Field(ge=0)] = 0
    latest_end: Annotated[int, Field(ge=1)] | None = Field(
        default=None, description="Step, exclusive; absent = the end of the horizon."
    )


class Requirement(_Model):
    by_step: Annotated[int, Field(ge=1)]
    energy_mwh: NonNeg


class FlexibleLoad(_Asset):
    """Energy needed by deadlines, power free within bounds (§4.6)."""

    type: Literal["flexible_load"] = "flexible_load"
    min_power_mw: NonNegSeries = 0.0
    max_power_mw: NonNegSeries
    energy_mwh: NonNeg
    requirements: list[Requirement] = Field(default_factory=list)


class GreenContract(_Asset):
    """A bilateral green-power purchase, settled at the root (§4.7)."""

    type: Literal["green_contract"] = "green_contract"
    available_mw: NonNegSeries
    price_cny_per_mwh: Finite
    min_take: Fraction = 0.0
    fixed_cny: Finite = 0.0
    optional: bool = True


class ThermalStorage(_Asset):
    """Ice or hot-water store charged by electric chillers or heaters (§4.8)."""

    type: Literal["thermal_storage"] = "thermal_storage"
    max_power_mw: NonNeg
    cop: Annotated[float, Field(gt=0, allow_inf_nan=False)]
    thermal_demand_mw: NonNegSeries
    capacity_mwh_th: NonNeg
    level_initial: Fraction = 0.5
    loss_per_hour: Fraction = 0.0


Asset = Annotated[
    PV | Load | Battery | CurtailableLoad | ShiftableLoad | FlexibleLoad | GreenContract | ThermalStorage,
    Field(discriminator="type"),
]
ASSET_TYPES: dict[str, type[_Asset]] = {
    "pv": PV,
    "load": Load,
    "battery": Battery,
    "curtailable_load": CurtailableLoad,
    "shiftable_load": ShiftableLoad,
    "flexible_load": FlexibleLoad,
    "green_contract": GreenContract,
    "thermal_storage": ThermalStorage,
}


class DemandResponseEvent(_Described):
    """A demand-response event on the net import at the root (§5)."""

    id: Id
    start_step: Annotated[int, Field(ge=0)]
    end_step: Annotated[int, Field(ge=1)]
    baseline_mw: Series
    reduction_mw: NonNeg
    price_cny_per_mwh: Finite
    shortfall_penalty_cny_per_mwh: NonNeg
    optional: bool = True

    @property
    def length_steps(self) -> int:
        return self.end_step - self.start_step


# ---------------------------------------------------------------------------
# The case
# ---------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _timestamps(start: datetime, steps: int, step_minutes: int) -> pd.DatetimeIndex:
    """The step starts of a case; cached, as results ask for them many times (an index is immutable)."""
    return pd.date_range(start, periods=steps, freq=pd.Timedelta(minutes=step_minutes))


def _whole(value: Any) -> Any:
    """A whole number given as 96 or 96.0 becomes the int 96; booleans and text are left to fail."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


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


class Case(_Model):
    """A materialised case: everything the model needs, nothing it must look up."""

    name: str = "case"
    start: Annotated[datetime, BeforeValidator(_aware)]
    step_minutes: Annotated[int, Field(gt=0, le=1440)]
    steps: Annotated[int, BeforeValidator(lambda v: _whole(v)), Field(ge=1, le=100_000, strict=True)]
    voll_cny_per_mwh: NonNeg = 20000.0
    carbon_price_cny_per_t: NonNeg = 0.0
    green_share_min: Fraction | None = None
    network: Network = Field(default_factory=Network)
    grid: Grid
    assets: list[Asset] = Field(default_factory=list)
    demand_response: list[DemandResponseEvent] = Field(default_factory=list)
    description: str | None = None
    meta: dict[str, Any] | None = Field(
        default=None, description="Provenance: template, date, where each series came from."
    )

    @model_validator(mode="after")
    def _check_case(self, info: ValidationInfo) -> Case:
        checked = (info.context or {}).get("steps") == self.steps
        problems = case_problems(self.model_dump(mode="python"), check_lengths=not checked)
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
        if isinstance(value, list):
            return np.asarray(value, dtype=float)
        return np.full(self.steps, float(value))

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


# ---------------------------------------------------------------------------
# Rules that span several fields
# ---------------------------------------------------------------------------

_SERIES_FIELDS = {
    "grid": ("buy_cny_per_mwh", "sell_cny_per_mwh", "emission_t_per_mwh"),
    "pv": ("available_mw",),
    "load": ("demand_mw",),
    "curtailable_load": ("demand_mw", "max_reduction_mw"),
    "flexible_load": ("min_power_mw", "max_power_mw"),
    "green_contract": ("available_mw",),
    "thermal_storage": ("thermal_demand_mw",),
    "demand_response": ("baseline_mw",),
}


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _is_num(x: Any) -> bool:
    return _num(x) is not None


def _num(x: Any) -> float | None:
    """``x`` as a finite float, or None if it is not a number (bools, NaN, ±inf and ints beyond float range)."""
    if not isinstance(x, (int, float)) or isinstance(x, bool):
        return None
    try:
        value = float(x)
    except OverflowError:
        return None
    return value if math.isfinite(value) else None


def _str(x: Any) -> str | None:
    return x if isinstance(x, str) else None


def _maps(x: Any) -> list[Mapping[str, Any]]:
    """The mappings of a raw list (anything else: none)."""
    return [item for item in x if isinstance(item, Mapping)] if isinstance(x, list) else []


def _arr(value: Any, steps: int) -> np.ndarray | None:
    if isinstance(value, list):
        if len(value) != steps:
            return None
        numbers = [_num(v) for v in value]
        return None if any(v is None for v in numbers) else np.asarray(numbers, dtype=float)
    number = _num(value)
    return None if number is None else np.full(steps, number)


def case_problems(data: Mapping[str, Any], check_lengths: bool = True) -> list[Problem]:
    """Rules across fields: ids, references, the tree, windows, feasibility of hard requirements.

    Tolerant of malformed input (it also runs on raw dictionaries whose fields
    failed validation), so that one pass reports everything it can see.
    """
    out: list[Problem] = []
    steps = _whole(data.get("steps"))
    steps = steps if _is_int(steps) and steps >= 1 else None
    minutes = _num(data.get("step_minutes"))
    dt = minutes / 60.0 if minutes is not None and minutes > 0 else None
    network = data.get("network") if isinstance(data.get("network"), Mapping) else {}
    root = _str(network.get("root")) or "grid"
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
    for f in _SERIES_FIELDS["grid"]:
        length(grid.get(f), f"grid.{f}")
    for i, ev in enumerate(events):
        if not isinstance(ev, Mapping):
            continue
        length(ev.get("baseline_mw"), f"demand_response[{i}].baseline_mw")
        start, end = ev.get("start_step"), ev.get("end_step")
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
        kind = _str(a.get("type"))
        label = f"assets[{i}]"
        for f in _SERIES_FIELDS.get(kind or "", ()):
            length(a.get(f), f"{label}.{f}")
        node = a.get("node")
        if isinstance(node, str) and node != root and node not in node_ids:
            out.append(
                Problem(
                    f"{label}.node",
                    f"unknown node {node!r}: expected the root {root!r} or one of {sorted(node_ids)}",
                )
            )
        out.extend(_asset_problems(a, label, steps, dt, root))
    return out


def _asset_problems(a: Mapping[str, Any], label: str, steps: int | None, dt: float | None, root: str) -> list[Problem]:
    """Per-asset rules that need the horizon (steps, Δ)."""
    out: list[Problem] = []
    kind = a.get("type")
    if kind == "green_contract" and a.get("node") not in (None, root):
        out.append(Problem(f"{label}.node", f"green contracts are settled at the grid connection: expected the root {root!r} or no node, got {a.get('node')!r}"))
    if kind == "shiftable_load":
        profile = a.get("profile_mw") if isinstance(a.get("profile_mw"), list) else None
        start = a.get("earliest_start", 0) or 0
        end = a.get("latest_end")
        start = start if _is_int(start) else None
        end = end if end is None or _is_int(end) else None
        if steps is not None and isinstance(end, int) and end > steps:
            out.append(Problem(f"{label}.latest_end", f"expected <= steps ({steps}), got {end}"))
        end = steps if end is None else end
        if profile is not None and isinstance(start, int) and isinstance(end, int):
            if end - start < len(profile):
                out.append(
                    Problem(
                        f"{label}.latest_end",
                        f"the window [earliest_start={start}, latest_end={end}) has {_n(max(end - start, 0), 'step')}, "
                        f"shorter than the profile's {_n(len(profile), 'step')}",
                    )
                )
    if kind == "battery":
        if a.get("power_mw") is None and (a.get("charge_power_mw") is None or a.get("discharge_power_mw") is None):
            out.append(Problem(f"{label}.power_mw", "required unless both charge_power_mw and discharge_power_mw are given"))
        lo, hi = a.get("soc_min", 0.1), a.get("soc_max", 0.9)
        init = a.get("soc_initial", 0.5)
        final = a.get("soc_final_min")
        final = init if final is None else final
        if _is_num(lo) and _is_num(hi) and lo > hi:
            out.append(Problem(f"{label}.soc_min", f"SoC bounds out of order: expected soc_min <= soc_max, got soc_min={lo:g} > soc_max={hi:g}"))
        elif _is_num(final) and _is_num(hi) and final > hi:
            field = "soc_final_min" if a.get("soc_final_min") is not None else "soc_initial"
            out.append(Problem(f"{label}.{field}", f"SoC bounds out of order: expected the final SoC minimum ({final:g}) <= soc_max ({hi:g})"))
    if kind == "battery" and dt is not None:
        sigma = _num(a.get("self_discharge_per_hour") or 0)
        if sigma is not None and sigma * dt > 1:
            out.append(Problem(f"{label}.self_discharge_per_hour", f"expected self_discharge_per_hour x step hours <= 1, got {sigma * dt:g}"))
        try:
            e = float(a["energy_mwh"])
            init = float(a.get("soc_initial", 0.5))
            final = a.get("soc_final_min")
            final = init if final is None else float(final)
            pch = a.get("charge_power_mw")
            pch = float(a.get("power_mw") if pch is None else pch)
            eta = float(a.get("charge_efficiency", 0.95))
        except (KeyError, TypeError, ValueError, OverflowError):
            pass
        else:
            if steps is not None and all(map(math.isfinite, (e, init, final, pch, eta))) and (final - init) * e > eta * pch * steps * dt + 1e-9:
                out.append(
                    Problem(
                        f"{label}.soc_final_min",
                        f"unreachable: raising the level from {init:g} to {final:g} of {e:g} MWh needs "
                        f"{(final - init) * e:g} MWh stored, but charging at most {pch:g} MW for "
                        f"{steps * dt:g} h at efficiency {eta:g} stores {eta * pch * steps * dt:g} MWh",
                    )
                )
    if kind == "thermal_storage" and dt is not None:
        lam = _num(a.get("loss_per_hour") or 0)
        if lam is not None and lam * dt > 1:
            out.append(Problem(f"{label}.loss_per_hour", f"expected loss_per_hour x step hours <= 1, got {lam * dt:g}"))
    if kind == "flexible_load" and steps is not None and dt is not None:
        lo, hi = _arr(a.get("min_power_mw", 0.0), steps), _arr(a.get("max_power_mw"), steps)
        energy = _num(a.get("energy_mwh"))
        if lo is not None and hi is not None:
            bad = np.flatnonzero(lo > hi + 1e-12)
            if bad.size:
                out.append(Problem(f"{label}.min_power_mw", f"expected min_power_mw <= max_power_mw at every step; not so at steps {bad[:10].tolist()}"))
            elif energy is not None:
                out.extend(_flexible_feasibility(a, label, lo, hi, energy, dt, steps))
    return out


def _flexible_feasibility(a: Mapping[str, Any], label: str, lo: np.ndarray, hi: np.ndarray, energy: float, dt: float, steps: int) -> list[Problem]:
    """Can min ≤ p ≤ max, Σp·Δ = E and every deadline hold at once?

    Charging as early as possible (max power until only the minimum is left to
    take) maximises every prefix sum at once, so the deadlines are met by some
    schedule if and only if they are met by that one.
    """
    out: list[Problem] = []
    emin, emax = lo.sum() * dt, hi.sum() * dt
    if not emin - 1e-9 <= energy <= emax + 1e-9:
        out.append(
            Problem(
                f"{label}.energy_mwh",
                f"expected between {emin:g} MWh (min_power_mw over the horizon) and {emax:g} MWh "
                f"(max_power_mw over the horizon), got {energy:g}",
            )
        )
        return out
    rest_min = np.concatenate([np.cumsum(lo[::-1])[::-1], [0.0]]) * dt  # min energy from t on
    taken, prefix = 0.0, np.zeros(steps + 1)
    for t in range(steps):
        p = min(hi[t] * dt, energy - taken - rest_min[t + 1])
        taken += max(p, lo[t] * dt)
        prefix[t + 1] = taken
    requirements = a.get("requirements") if isinstance(a.get("requirements"), list) else []
    for j, r in enumerate(requirements):
        if not isinstance(r, Mapping):
            continue
        k, need = r.get("by_step"), _num(r.get("energy_mwh"))
        if not _is_int(k) or k < 0 or need is None:
            continue
        if k > steps:
            out.append(Problem(f"{label}.requirements[{j}].by_step", f"expected <= steps ({steps}), got {k}"))
        elif need > prefix[k] + 1e-9:
            out.append(
                Problem(
                    f"{label}.requirements[{j}].energy_mwh",
                    f"unreachable: at most {prefix[k]:g} MWh can be taken before step {k} "
                    f"within max_power_mw and energy_mwh={energy:g}, got {need:g}",
                )
            )
    return out


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------


def _loc_to_path(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    prev: Any = None
    for i, item in enumerate(loc):
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif i >= 2 and loc[i - 2] == "assets" and isinstance(prev, int) and item in ASSET_TYPES:
            pass  # discriminator tag pydantic puts in the location
        else:
            parts.append(("." if parts else "") + str(item))
        prev = item
    return "".join(parts)


_BOUNDS = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=", "less_than": "<"}


def _field_names() -> list[str]:
    names: set[str] = set()
    for model in (Case, Network, Node, Grid, DemandResponseEvent, Requirement, *ASSET_TYPES.values()):
        names.update(model.model_fields)
    return sorted(names)


def _pydantic_problems(err: ValidationError, data: Mapping[str, Any]) -> list[Problem]:
    out: list[Problem] = []
    for e in err.errors(include_url=False):
        if e["type"] == "value_error" and isinstance(e.get("ctx", {}).get("error"), CaseError):
            out.extend(e["ctx"]["error"].problems)
            continue
        path = _loc_to_path(tuple(e["loc"]))
        msg, kind, ctx = e["msg"], e["type"], e.get("ctx", {})
        if kind == "extra_forbidden":
            key = str(e["loc"][-1])
            close = difflib.get_close_matches(key, _FIELD_NAMES, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            msg = f"unknown field {key!r}{hint}"
        elif kind == "missing":
            msg = "required field is missing"
        elif kind == "union_tag_invalid":
            path += ".type"
            msg = f"unknown asset type {short_repr(e['input'].get('type'))}: expected one of {sorted(ASSET_TYPES)}"
        elif kind == "union_tag_not_found":
            path += ".type"
            msg = f"required field is missing: expected one of {sorted(ASSET_TYPES)}"
        elif kind in _BOUNDS:
            msg = f"expected a number {_BOUNDS[kind]} {list(ctx.values())[0]:g}, got {short_repr(e['input'])}"
        elif kind in ("int_type", "int_from_float", "int_parsing"):
            msg = f"expected a whole number, got {short_repr(e['input'])}"
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        out.append(Problem(path, msg))
    return out


_FIELD_NAMES = _field_names()


def validate_case(data: Any) -> tuple[Case | None, list[Problem]]:
    """Validate raw case data; return the case (or None) and every problem found."""
    if data is None:
        return None, [Problem("", "the case is empty: expected a JSON/YAML object with the keys of shared/spec/model.md")]
    if not isinstance(data, Mapping):
        return None, [Problem("", f"expected a JSON/YAML object (mapping) for the case, got {type(data).__name__}")]
    steps = _whole(data.get("steps"))
    context = {"steps": steps if _is_int(steps) and steps >= 1 else None}
    try:
        return Case.model_validate(data, context=context), []
    except CaseError as err:
        return None, err.problems
    except ValidationError as err:
        problems = _pydantic_problems(err, data)
        if not any(p.message.startswith(("duplicate", "unknown node", "the network is not")) for p in problems):
            # Field errors stop pydantic before the cross-field rules: run those on the raw data too.
            extra = [p for p in case_problems(data, check_lengths=False) if p not in problems]
            problems.extend(extra)
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
