"""The sizing request (CLI and service alike), the defaults file and the sweep grammar.

``SizingRequest`` is the JSON a planner sends (``POST /v1/sizing``) and what
``vpp size`` builds from its options; :func:`vpp.sizing.run_sizing_request`
runs it. Defaults come from ``vpp/sizing/defaults.yaml``, every number with
its source label; a request's ``economics``, ``sizing`` and ``battery`` maps
override them by key (labelled ``[override]`` in the output).
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from importlib import resources
from typing import Annotated, Any, Literal

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from vpp.errors import CaseError, Problem
from vpp.sizing.economics import Economics

STEP = "reading the sizing request"


@lru_cache(maxsize=1)
def _defaults_text() -> str:
    return resources.files("vpp.sizing").joinpath("defaults.yaml").read_text(encoding="utf-8")


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EconomicsSettings(_Settings):
    """The cost, wear and finance assumptions (``economics`` in defaults.yaml and in a request)."""

    power_cny_per_kw: float = Field(ge=0, le=20_000, description="a cost per kW of power from 0 to 20,000 CNY/kW (e.g. 300)")
    energy_cny_per_kwh: float = Field(ge=0, le=20_000, description="a cost per kWh of energy from 0 to 20,000 CNY/kWh (e.g. 800)")
    om_fraction_per_year: float = Field(ge=0, le=0.5, description="a yearly O&M cost as a fraction of the capital cost from 0 to 0.5 (e.g. 0.02)")
    lifetime_years: float = Field(ge=1, le=50, multiple_of=1, description="a whole number of years from 1 to 50 (e.g. 15)")
    discount_rate: float = Field(ge=0, le=0.5, description="a real discount rate as a fraction from 0 to 0.5 (e.g. 0.07)")
    availability: float = Field(gt=0, le=1, description="a share of the time in service above 0, at most 1 (e.g. 0.97)")
    calendar_fade_per_year: float = Field(ge=0, le=0.5, description="a fraction of the nameplate energy lost a year from 0 to 0.5 (e.g. 0.01)")
    cycle_life: float = Field(ge=0, le=1_000_000, description="0 (no fade from use) or a number of cycles to end of life up to 1,000,000 (e.g. 7000)")
    cycle_depth: float = Field(gt=0, le=1, description="a depth of discharge above 0, at most 1 (e.g. 0.8)")
    end_of_life_fraction: float = Field(gt=0, lt=1, description="a fraction of the nameplate energy above 0, below 1 (e.g. 0.8)")
    augmentation_cny_per_kwh: float = Field(ge=0, le=20_000, description="a cost per kWh of cells added from 0 to 20,000 CNY/kWh (e.g. 450)")


class SizingSettings(_Settings):
    """The bounds of the sizes (``sizing``)."""

    power_max_fraction_of_branch: float = Field(gt=0, le=1, description="a fraction of the branch capacity above 0, at most 1")
    duration_max_h: float = Field(gt=0, le=24, description="a longest duration above 0 h, at most 24 h (e.g. 4)")
    duration_min_h: float = Field(ge=0, le=24, description="a shortest duration from 0 (none) to 24 h (e.g. 1)")
    co_optimisation_cycles_per_year: float = Field(ge=0, le=2_000, description="a number of equivalent full cycles a year from 0 to 2,000 (e.g. 292)")


class BatterySettings(_Settings):
    """The technical parameters of a battery at a site that has none (``battery``), and its auxiliaries."""

    charge_efficiency: float = Field(gt=0, le=1, description="an efficiency above 0, at most 1 (e.g. 0.9)")
    discharge_efficiency: float = Field(gt=0, le=1, description="an efficiency above 0, at most 1 (e.g. 0.9)")
    soc_min: float = Field(ge=0, le=1, description="a state of charge from 0 to 1")
    soc_max: float = Field(ge=0, le=1, description="a state of charge from 0 to 1")
    soc_initial: float = Field(ge=0, le=1, description="a state of charge from 0 to 1")
    degradation_cny_per_mwh: float = Field(ge=0, le=10_000, description="a wear cost from 0 to 10,000 CNY per MWh discharged")
    auxiliary_mw_per_mw: float = Field(ge=0, le=0.2, description="an auxiliary draw from 0 to 0.2 MW per MW of power (e.g. 0.0032)")


class SensitivitySettings(_Settings):
    """The tornado's ranges (``sensitivity``)."""

    capital_cost_low_factor: float = Field(gt=0, le=1, description="a factor above 0, at most 1 (e.g. 0.716)")
    capital_cost_high_factor: float = Field(ge=1, le=10, description="a factor from 1 to 10 (e.g. 1.537)")
    spread_low_factor: float = Field(ge=0, le=1, description="a factor from 0 to 1 (e.g. 0.75)")
    spread_high_factor: float = Field(ge=1, le=10, description="a factor from 1 to 10 (e.g. 1.25)")
    event_days_low: float = Field(ge=0, le=366, multiple_of=1, description="a whole number of days from 0 to 366 (e.g. 0)")
    event_days_high_factor: float = Field(ge=1, le=50, description="a factor on the calendar's event days from 1 to 50 (e.g. 2)")
    demand_charge_low_factor: float = Field(ge=0, le=1, description="a factor from 0 to 1 (e.g. 0.67)")
    demand_charge_high_factor: float = Field(ge=1, le=10, description="a factor from 1 to 10 (e.g. 1.33)")
    regulation_low_factor: float = Field(ge=0, le=1, description="a factor on the regulation prices from 0 to 1 (e.g. 0: no regulation market)")
    regulation_high_factor: float = Field(ge=1, le=10, description="a factor on the regulation prices from 1 to 10 (e.g. 2)")
    discount_rate_low: float = Field(ge=0, le=0.5, description="a discount rate from 0 to 0.5 (e.g. 0.06)")
    discount_rate_high: float = Field(ge=0, le=0.5, description="a discount rate from 0 to 0.5 (e.g. 0.08)")
    lifetime_low_years: float = Field(ge=1, le=50, multiple_of=1, description="a whole number of years from 1 to 50 (e.g. 10)")
    lifetime_high_years: float = Field(ge=1, le=50, multiple_of=1, description="a whole number of years from 1 to 50 (e.g. 20)")


SETTINGS: dict[str, type[_Settings]] = {
    "economics": EconomicsSettings, "sizing": SizingSettings, "battery": BatterySettings, "sensitivity": SensitivitySettings,
}
"""The flat sections of defaults.yaml, each with the range of every setting (``site_limits`` is by site)."""

SITE_LIMIT_KEYS = {"power_max_mw": "a power from 0 to 100,000 MW", "energy_max_mwh": "an energy from 0 to 1,000,000 MWh"}
SITE_LIMIT_RANGES = {"power_max_mw": 100_000.0, "energy_max_mwh": 1_000_000.0}


def check_settings(plain: dict[str, dict[str, Any]], given: set[str] = frozenset()) -> list[Problem]:  # type: ignore[assignment]
    """Every setting within its range, and the bounds that must agree with each other in order.

    ``given``: the ``section.key`` paths the request set (the others are the defaults').
    """
    from pydantic import ValidationError

    def who(path: str) -> str:
        return "given" if path in given else "the default in vpp/sizing/defaults.yaml"

    problems = []
    for section, model in SETTINGS.items():
        try:
            model.model_validate(plain.get(section, {}))
        except ValidationError as exc:
            for e in exc.errors(include_url=False):
                key = str(e["loc"][0]) if e["loc"] else ""
                path = f"{section}.{key}"
                field = model.model_fields.get(key)
                expected = field.description if field is not None else e["msg"]
                problems.append(Problem(path, f"expected {expected}, got {e.get('input')!r} ({who(path)})"))
    for site, values in (plain.get("site_limits") or {}).items():
        for key, value in (values or {}).items():
            path = f"site_limits.{site}.{key}"
            if key not in SITE_LIMIT_KEYS:
                problems.append(Problem(path, f"unknown key {key!r}: expected one of {sorted(SITE_LIMIT_KEYS)}"))
            elif not 0 <= value <= SITE_LIMIT_RANGES[key]:
                problems.append(Problem(path, f"expected {SITE_LIMIT_KEYS[key]}, got {value!r} ({who(path)})"))
    if problems:
        return problems
    s, b, t = plain["sizing"], plain["battery"], plain["sensitivity"]
    if s["duration_min_h"] > s["duration_max_h"]:
        problems.append(Problem(
            "sizing.duration_max_h",
            f"{s['duration_max_h']:g} h ({who('sizing.duration_max_h')}) is below sizing.duration_min_h, "
            f"{s['duration_min_h']:g} h ({who('sizing.duration_min_h')}): no size meets both"))
    if not b["soc_min"] < b["soc_max"]:
        problems.append(Problem("battery.soc_max", f"{b['soc_max']:g} ({who('battery.soc_max')}) is not above "
                                f"battery.soc_min, {b['soc_min']:g} ({who('battery.soc_min')})"))
    elif not b["soc_min"] <= b["soc_initial"] <= b["soc_max"]:
        problems.append(Problem("battery.soc_initial", f"{b['soc_initial']:g} ({who('battery.soc_initial')}) is outside "
                                f"[battery.soc_min, battery.soc_max] = [{b['soc_min']:g}, {b['soc_max']:g}]"))
    for low, high in (("discount_rate_low", "discount_rate_high"), ("lifetime_low_years", "lifetime_high_years")):
        if t[low] > t[high]:
            problems.append(Problem(f"sensitivity.{high}", f"{t[high]:g} ({who(f'sensitivity.{high}')}) is below "
                                    f"sensitivity.{low}, {t[low]:g} ({who(f'sensitivity.{low}')})"))
    return problems


def load_defaults(
    overrides: dict[str, dict[str, Any]] | None = None,
    site_limits: dict[str, dict[str, Any]] | None = None,
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """The defaults as plain numbers by section, and ``{section.key: {value, source}}``, overrides applied.

    ``overrides``: ``{section: {key: number}}`` for the flat sections;
    ``site_limits``: ``{site: {power_max_mw, energy_max_mwh}}``, by node (any
    node, not only those of the defaults). A CaseError lists every unknown key,
    non-number, setting out of its range (:data:`SETTINGS`) and pair of bounds
    that contradict each other.
    """
    from vpp.cases.sources import unwrap_sources

    raw = yaml.safe_load(_defaults_text())
    problems = []
    given = set()

    def put(path: str, where: dict[str, Any], key: str, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            problems.append(Problem(path, f"expected a finite number, got {value!r}"))
        else:
            where[key] = {"value": value, "source": "[override] given in the request"}
            given.add(path)

    for section, values in (overrides or {}).items():
        if section not in SETTINGS:
            problems.append(Problem(section, f"unknown section {section!r}: expected one of {sorted(SETTINGS)}"))
            continue
        for key, value in (values or {}).items():
            if key not in raw[section]:
                problems.append(Problem(f"{section}.{key}", f"unknown key {key!r}: expected one of {sorted(raw[section])}"))
            else:
                put(f"{section}.{key}", raw[section], key, value)
    for site, values in (site_limits or {}).items():
        if not isinstance(values, dict):
            problems.append(Problem(f"site_limits.{site}", f"expected {{power_max_mw, energy_max_mwh}}, got {values!r}"))
            continue
        for key, value in values.items():
            if key not in SITE_LIMIT_KEYS:
                problems.append(Problem(f"site_limits.{site}.{key}", f"unknown key {key!r}: expected one of {sorted(SITE_LIMIT_KEYS)}"))
            else:
                put(f"site_limits.{site}.{key}", raw["site_limits"].setdefault(site, {}), key, value)
    if problems:
        raise CaseError(problems, step=STEP)
    plain, sources = unwrap_sources(raw, what="the sizing defaults (vpp/sizing/defaults.yaml)")
    problems = check_settings(plain, given)
    if problems:
        raise CaseError(problems, step=STEP)
    return plain, sources


def site_limits_from(defaults: dict[str, Any], sources: dict[str, dict[str, Any]]) -> dict[str, dict[str, tuple[float, str]]]:
    """The site limits as :func:`vpp.sizing.year.candidate_sites` takes them: ``{site: {key: (value, source)}}``."""
    return {site: {key: (float(v), f"site_limits.{site}.{key}: {sources[f'site_limits.{site}.{key}']['source']}")
                   for key, v in values.items()}
            for site, values in (defaults.get("site_limits") or {}).items()}


def economics_from(defaults: dict[str, dict[str, Any]]) -> Economics:
    e = defaults["economics"]
    life = e["lifetime_years"]
    try:
        return Economics(
            power_cny_per_kw=float(e["power_cny_per_kw"]),
            energy_cny_per_kwh=float(e["energy_cny_per_kwh"]),
            om_fraction_per_year=float(e["om_fraction_per_year"]),
            lifetime_years=int(life) if float(life).is_integer() else life,
            discount_rate=float(e["discount_rate"]),
            availability=float(e["availability"]),
            calendar_fade_per_year=float(e["calendar_fade_per_year"]),
            cycle_life=float(e["cycle_life"]) or None,
            cycle_depth=float(e["cycle_depth"]),
            end_of_life_fraction=float(e["end_of_life_fraction"]),
            augmentation_cny_per_kwh=float(e["augmentation_cny_per_kwh"]),
        )
    except ValueError as exc:
        raise CaseError([Problem("economics", str(exc))], step=STEP) from None


_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"


def parse_sweep(spec: str | dict[str, Any]) -> dict[str, list[float]]:
    """``power=…,energy=…`` → ``{"power": [MW…], "energy": [MWh…]}`` (totals over the sites).

    Values are numbers separated by commas (``power=10,20,30``) or ranges
    ``start:stop:step`` (``energy=0:80:20`` = 0, 20, 40, 60, 80). Both keys
    are needed; values are >= 0, at most 400 points in all.
    """
    where = "sweep"
    if isinstance(spec, dict):
        grid: dict[str, list[Any]] = {k: (v if isinstance(v, list) else [v]) for k, v in spec.items()}
    else:
        if not isinstance(spec, str) or not spec.strip():
            raise CaseError([Problem(where, "expected power=…,energy=…, e.g. power=10,20,energy=20:80:20")], step=STEP)
        grid, key = {}, None
        for token in [t.strip() for t in spec.split(",") if t.strip()]:
            if "=" in token:
                key, token = (x.strip() for x in token.split("=", 1))
                if key in grid:
                    raise CaseError([Problem(where, f"{key!r} is given twice")], step=STEP)
                grid[key] = []
            if key is None:
                raise CaseError([Problem(where, f"expected key=values, got {token!r} before any key (power=…, energy=…)")], step=STEP)
            grid[key].append(token)
    unknown = sorted(set(grid) - {"power", "energy"})
    if unknown:
        raise CaseError([Problem(where, f"unknown key(s) {unknown}: expected power and energy")], step=STEP)
    out: dict[str, list[float]] = {}
    for k in ("power", "energy"):
        if k not in grid or not grid[k]:
            raise CaseError([Problem(where, f"missing {k}=…: the sweep needs both power (MW) and energy (MWh)")], step=STEP)
        values: list[float] = []
        for tok in grid[k]:
            if isinstance(tok, (int, float)) and not isinstance(tok, bool):
                values.append(float(tok))
                continue
            tok = str(tok)
            m = re.fullmatch(rf"({_NUMBER}):({_NUMBER}):({_NUMBER})", tok)
            if m:
                a, b, s = (float(x) for x in m.groups())
                if s <= 0 or b < a:
                    raise CaseError([Problem(where, f"{k}: range {tok!r} needs start <= stop and a step > 0")], step=STEP)
                if not (b - a) / s < 400:  # counted before the values are made: 0:1:1e-90 must not fill the memory
                    raise CaseError([Problem(where, f"{k}: range {tok!r} has more than 400 points: at most 400 in all")],
                                    step=STEP)
                n = int(math.floor((b - a) / s + 1e-9)) + 1
                values.extend(float(round(a + i * s, 9)) for i in range(n))
            elif re.fullmatch(_NUMBER, tok):
                values.append(float(tok))
            else:
                raise CaseError([Problem(where, f"{k}: expected numbers or start:stop:step, got {tok!r}")], step=STEP)
        if any(not math.isfinite(v) or v < 0 for v in values):
            raise CaseError([Problem(where, f"{k}: expected values >= 0, got {values}")], step=STEP)
        out[k] = sorted(set(values))
    if len(out["power"]) * len(out["energy"]) > 400:
        raise CaseError([Problem(where, f"{len(out['power'])} × {len(out['energy'])} points: at most 400")], step=STEP)
    return out


def around(total: float, factors: tuple[float, ...] = (0.0, 0.5, 0.75, 1.0, 1.25, 1.5)) -> list[float]:
    """A grid of sizes around ``total`` (the co-optimised size), rounded to 0.001."""
    return sorted({round(total * f, 3) for f in factors})


class SizingRequest(BaseModel):
    """A storage sizing study (``POST /v1/sizing``, ``vpp size``)."""

    model_config = ConfigDict(extra="forbid")

    case: str = Field("teda-east", description="A built-in case (teda-east) or a case file path; see case_data.")
    case_data: dict[str, Any] | None = Field(None, description="An inline canonical one-day case (model.md §1); needs series.")
    year: int = Field(2025, description="The year simulated (built-in cases).")
    series: str | dict[str, list[Any]] | None = Field(
        None,
        description="The year's series at the case's step: a CSV/Parquet file (timestamp, load_mw, pv_mw, "
        "buy_cny_per_mwh, any of them), or the same columns inline as lists (the service takes only these).",
    )
    typical_days: int | None = Field(None, ge=1, le=366, description="Co-optimise over K tsam typical days chosen within each month (at least one a month), plus each month's peak day and event days; then check against the full year.")
    sweep: str | dict[str, Any] | None = Field(None, description="power=…,energy=… totals over the sites [MW, MWh]; default: around the co-optimised size, or multiples of the case's storage.")
    sites: list[str] | None = Field(None, description="Node ids where storage may go; default: the nodes of the case's batteries.")
    economics: dict[str, float] = Field(default_factory=dict)
    sizing: dict[str, float] = Field(default_factory=dict)
    battery: dict[str, float] = Field(default_factory=dict)
    sensitivity: dict[str, float] = Field(default_factory=dict)
    site_limits: dict[str, dict[str, float]] = Field(
        default_factory=dict, description="The most a site holds, by node: {power_max_mw, energy_max_mwh} (space, fire spacing, connection).")
    emission_profile_t_per_mwh: Annotated[list[float], Field(min_length=24, max_length=24)] | str | None = Field(
        None, description="An hourly grid emission factor for a second count of the storage's CO2 effect: 24 values "
        "(t/MWh, by local hour), or the name of one in defaults.yaml's emission_profiles (north-china-2023-illustrative).")
    chunk: Literal["month", "none"] = "month"
    mip_gap: float = Field(1e-4, ge=0, lt=1)
    time_limit_s: float = Field(60.0, gt=0)
    co_optimisation_time_limit_s: float | None = Field(
        None, gt=0, description="The co-optimisation's own time limit [s]; default the larger of time_limit_s and 600 s.")
    full_year_check: bool = Field(True, description="With typical days: also simulate the full year at no storage, at the recommended size and at the case's own storage, and compare.")
    full_year_peak_target: Literal["typical", "none", "both"] = Field(
        "typical", description="How the full-year check starts each month's peak so far: typical (the typical days' monthly "
        "peak at the same size, a demand target), none (no peak: each day defends the month's peak so far) or both.")
    tornado: bool = Field(True, description="Simulate the tornado's price spread, event days and demand charge at the recommended size (the other inputs need no simulation).")
    sweep_full_year: bool = Field(False, description="With typical days: run the sweep over the full year (compares the recommended size with the year's best).")
    scheduler: str | None = Field("local", description="serial, local (a local Dask cluster) or tcp://HOST:PORT")
    workers: int | None = Field(None, ge=1)

    @field_validator("year")
    @classmethod
    def _year(cls, v: int) -> int:
        if not 1900 <= v <= 2200:
            raise ValueError(f"expected a year between 1900 and 2200, e.g. 2025, got {v}")
        return v

    def series_source(self) -> str | pd.DataFrame | None:
        """``series`` as :func:`vpp.sizing.year.read_year_series` takes it: a path, or inline columns as a table."""
        if not isinstance(self.series, dict):
            return self.series
        lengths = {k: len(v) for k, v in self.series.items()}
        if len(set(lengths.values())) > 1:
            raise CaseError([Problem("series", f"expected columns of one length, got {lengths}")], step=STEP)
        return pd.DataFrame(self.series)

    def overrides(self) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in (("economics", self.economics), ("sizing", self.sizing), ("battery", self.battery),
                                  ("sensitivity", self.sensitivity)) if v}


def emission_profile(value: list[float] | str | None, defaults: dict[str, Any],
                     sources: dict[str, dict[str, Any]]) -> tuple[tuple[float, ...], str, str] | None:
    """The hourly emission factors a request asks for: (24 factors [t/MWh], name, source), or None.

    ``value``: 24 numbers, or the name of a profile in defaults.yaml's ``emission_profiles``.
    """
    if value is None:
        return None
    where = "emission_profile_t_per_mwh"
    if isinstance(value, str):
        known = defaults.get("emission_profiles") or {}
        if value not in known:
            raise CaseError([Problem(where, f"unknown profile {value!r}: expected 24 numbers (t/MWh by local hour) "
                                     f"or one of {sorted(known)}")], step=STEP)
        return tuple(float(v) for v in known[value]), value, sources[f"emission_profiles.{value}"]["source"]
    bad = [v for v in value if not (math.isfinite(v) and v >= 0)]
    if bad:
        raise CaseError([Problem(where, f"expected 24 finite numbers >= 0 (t/MWh by local hour), got {bad[0]!r}")], step=STEP)
    return tuple(float(v) for v in value), "given", "[override] given in the request"


def check_request(req: SizingRequest) -> None:
    """What is quick to check before any day is made: the settings, the sweep's grammar, where the case is.

    A CaseError lists the problems (the same as :func:`vpp.sizing.study.run_study` would meet later).
    """
    from vpp.cases import case_source

    defaults, sources = load_defaults(req.overrides(), req.site_limits)
    economics_from(defaults)
    emission_profile(req.emission_profile_t_per_mwh, defaults, sources)
    if req.sweep is not None:
        parse_sweep(req.sweep)
    if req.case_data is None:
        case_source(req.case, step=STEP)

