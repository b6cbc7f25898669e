"""Request and response bodies of the HTTP API (pydantic; they make the OpenAPI document).

Requests are strict: unknown fields, wrong types (no string-to-number or
string-to-bool coercion) and non-finite numbers are refused with the field's
path.

The OpenAPI document states what the service checks, so that a client
generated from it sends valid requests: ranges, enums and patterns of every
field (:func:`document` adds the canonical case's schema and this deployment's
limits). Where the service's own checks give a more precise message than a
schema keyword would (the sweep's grammar, the overrides' keys and ranges, the
year's series), the field is checked by them and the schema states the same
rules (``WithJsonSchema``).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from vpp.sizing.schema import SETTINGS as SIZING_SETTINGS

DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"


def parse_date(value: str) -> dt.date:
    """A YYYY-MM-DD date; ValueError with what was expected, or why the day does not exist (vpp.cases.parse_date)."""
    from vpp.cases import parse_date as parse

    return parse(value)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


def _whole(value: Any) -> Any:
    """64.0 is the whole number 64 (JSON has one kind of number; JSON Schema's integer says so too)."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


#: A whole number, given as 64 or 64.0 (64.5 and "64" are refused).
Whole = Annotated[int, BeforeValidator(_whole)]

#: Unicode's white space, spelt out: ``\s`` means other sets to other regular expressions (JSON Schema's
#: ECMAScript adds \ufeff, Python adds \x1c-\x1f), and a client must read the pattern as the service does.
WHITE_SPACE = r"\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
#: A node id as the case's ids are: no white space at either end, no line break; no NUL character (no
#: database stores one).
ID_PATTERN = rf"^[^{WHITE_SPACE}\x00]([^\n\x00]*[^{WHITE_SPACE}\x00])?$"

_NUMBER = r"([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]{1,2})?"  # [0-9]: \d is more to Python
_VALUE = rf"{_NUMBER}(:{_NUMBER}:{_NUMBER})?"
_SPACE = rf"[{WHITE_SPACE}]*"  # what the sweep's reader strips
_VALUES = rf"{_VALUE}({_SPACE},{_SPACE}{_VALUE})*"
#: The sweep's grammar (:func:`vpp.sizing.schema.parse_sweep`): ``power=…,energy=…`` of numbers >= 0 [MW, MWh]
#: or ``start:stop:step`` ranges; its checks of the ranges (a step > 0, at most 400 points) are its own.
SWEEP_PATTERN = (rf"^{_SPACE}(power{_SPACE}={_SPACE}{_VALUES}{_SPACE},{_SPACE}energy{_SPACE}={_SPACE}{_VALUES}|"
                 rf"energy{_SPACE}={_SPACE}{_VALUES}{_SPACE},{_SPACE}power{_SPACE}={_SPACE}{_VALUES}){_SPACE}$")
_SWEEP_ITEMS = {"anyOf": [{"type": "number", "minimum": 0}, {"type": "string", "pattern": rf"^{_VALUE}$"}]}
SWEEP_SCHEMA: dict[str, Any] = {"anyOf": [
    {"type": "string", "pattern": SWEEP_PATTERN},
    {"type": "object", "required": ["power", "energy"], "additionalProperties": False,
     "properties": {k: {"anyOf": [{"type": "number", "minimum": 0},
                                  {"type": "array", "minItems": 1, "items": _SWEEP_ITEMS}]}
                    for k in ("power", "energy")}}]}

#: The year's series (:func:`vpp.sizing.year.read_year_series`): a timestamp with its UTC offset per row and
#: any of the three columns, one value per row.
SERIES_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["timestamp"], "minProperties": 2, "additionalProperties": False,
    "properties": {"timestamp": {"type": "array", "minItems": 1, "items": {"type": "string", "format": "date-time"}},
                   "load_mw": {"type": "array", "items": {"type": "number", "minimum": 0}},
                   "pv_mw": {"type": "array", "items": {"type": "number", "minimum": 0}},
                   "buy_cny_per_mwh": {"type": "array", "items": {"type": "number"}}}}


#: Each overridable section of vpp/sizing/defaults.yaml with the range of every key (the ranges the
#: sizing study enforces, so the document and the service cannot disagree).
OVERRIDE_RANGES: dict[str, type[BaseModel]] = SIZING_SETTINGS


def overrides_schema(section: str) -> dict[str, Any]:
    """The JSON schema of a request's overrides of ``section``: any of its keys, each within its range."""
    schema = OVERRIDE_RANGES[section].model_json_schema()
    keep = {"type", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "description"}
    return {"type": "object", "additionalProperties": False,
            "properties": {k: {kk: vv for kk, vv in v.items() if kk in keep} for k, v in schema["properties"].items()}}


class SolveOptionsIn(_Strict):
    """Solver settings of a request."""

    mip_gap: float = Field(1e-4, ge=0, lt=1, description="Relative MIP gap at which HiGHS stops [-].")
    # fields that may be left out have the default None but do not accept an explicit null
    # (one type each, so that an error names the field alone)
    time_limit_s: float = Field(  # type: ignore[assignment]
        None, gt=0, description="Solver time limit [s]; default VPP_DEFAULT_TIME_LIMIT_S, at most VPP_MAX_TIME_LIMIT_S.")


class ScenariosIn(_Strict):
    """A stochastic day from the template's forecasts (``vpp dispatch --scenarios K``)."""

    count: int = Field(ge=1, le=20, description="K: scenarios kept (k-medoids) out of those drawn (at most 20: a day solved in the time limit).")
    risk_weight: float = Field(0.0, ge=0, description="λ: weight of the CVaR of the scenario costs.")
    risk_beta: float = Field(0.9, ge=0, lt=1, description="β: the CVaR's level.")
    draws: int = Field(1000, ge=1, le=2000, description="Days drawn from the forecasts before the reduction.")
    seed: int = Field(0, ge=0, description="Seed of the draws.")


class DrEventIn(_Strict):
    """A demand-response event added to the template's day (as ``vpp dispatch --dr-event``)."""

    kind: Literal["peak_shaving", "valley_filling"] = Field(description="削峰 (peak shaving) or 填谷 (valley filling).")
    window: str = Field(description="Local window HH:MM-HH:MM of the day (the end may be 24:00).", examples=["20:00-22:00"])
    amount_mw: float = Field(gt=0, description="Committed reduction (peak shaving) or increase (valley filling) [MW].")
    price_cny_per_mwh: float = Field(  # type: ignore[assignment]
        None, ge=0, description="Payment [CNY/MWh]; default the template's price for the kind.")

    @field_validator("window")
    @classmethod
    def _window(cls, value: str) -> str:
        from vpp.cases.events import parse_window

        parse_window(value)
        return value


class DayRequest(_Strict):
    """Which day: either a canonical ``case`` or a ``template`` with a ``date`` (schedules, the cost–carbon front)."""

    model_config = ConfigDict(json_schema_extra={"oneOf": [{"required": ["case"], "not": {"anyOf": [{"required": ["template"]}, {"required": ["date"]}]}},
                                                           {"required": ["template"], "not": {"required": ["case"]}}]})

    # left out: None; an explicit null is refused (one type per field, so an error names the field alone)
    case: dict[str, Any] = Field(None, description="A canonical case (shared/spec/model.md §1).")  # type: ignore[assignment]
    template: str = Field(None, description="A built-in case, e.g. 'teda-east'.",  # type: ignore[assignment]
                          examples=["teda-east"], json_schema_extra={"enum": ["teda-east"]})
    date: str = Field(  # type: ignore[assignment]
        None, json_schema_extra={"format": "date", "pattern": DATE_PATTERN}, description="Day of the template, YYYY-MM-DD (default: tomorrow in Asia/Shanghai).",
        examples=["2026-07-15"])
    peak_to_date_mw: float = Field(  # type: ignore[assignment]
        None, ge=0, description="The month's maximum demand so far [MW] (template only, as `vpp dispatch --peak-to-date`); "
        "default: the template's rule (metered history where it covers the month).")
    dr_events: list[DrEventIn] = Field(  # type: ignore[assignment]
        None, description="Demand-response events added to the template's day (as `vpp dispatch --dr-event`).")

    @field_validator("template")
    @classmethod
    def _known_template(cls, value: str) -> str:
        from vpp.cases import known_template

        return value if value is None else known_template(value)

    @field_validator("date")
    @classmethod
    def _iso_date(cls, value: str) -> str:
        if value is not None:
            parse_date(value)
        return value

    @model_validator(mode="after")
    def _one_source(self) -> DayRequest:
        if (self.case is None) == (self.template is None):
            raise ValueError("give either 'case' (a canonical case) or 'template' (with 'date'), not both or neither")
        if self.case is not None and self.date is not None:
            raise ValueError("'date' applies to a template only; a case carries its own start")
        if self.case is not None and (self.peak_to_date_mw is not None or self.dr_events is not None):
            raise ValueError("'peak_to_date_mw' and 'dr_events' apply to a template only; a case carries its own "
                             "grid.peak_to_date_mw and demand_response")
        return self

    def template_inputs(self) -> dict[str, Any]:
        """The day's inputs besides the date that go to the template (the job's params), those given only."""
        out: dict[str, Any] = {}
        if self.peak_to_date_mw is not None:
            out["peak_to_date_mw"] = self.peak_to_date_mw
        if self.dr_events:
            out["dr_events"] = [e.model_dump(exclude_none=True) for e in self.dr_events]
        return out


def _outage_window(value: str) -> str:
    """An outage HH:MM-HH:MM (:func:`vpp.microgrid.parse_outage`: ValueError saying what was expected)."""
    from vpp.microgrid import parse_outage

    parse_outage(value)
    return value


class ScheduleRequest(DayRequest):
    """Either a canonical ``case`` or a ``template`` with a ``date``; ``async`` answers 202 at once."""

    options: SolveOptionsIn = Field(default_factory=SolveOptionsIn)
    regulation: bool = Field(True, description="Offer frequency regulation where the case has a market (teda-east "
                             "does), and solve the day again without it to say what it earns and costs (the "
                             "summary's 'regulation'); false leaves the market out.")
    outage: Annotated[str, AfterValidator(_outage_window)] = Field(  # type: ignore[assignment]
        None, description="A known outage of the supply point, local time HH:MM-HH:MM: no import or export then, "
        "the district islanded.", examples=["10:00-12:00"])
    backup_hours: float = Field(None, gt=0, le=8760, description="Keep a backup reserve: the batteries always hold "  # type: ignore[assignment]
                                "the critical load, less the PV, for this many hours [h].")
    scenarios: ScenariosIn = Field(  # type: ignore[assignment]
        None, description="Plan for scenarios of PV and load drawn from the template's forecasts (template only); "
                          "the summary then has an 'uncertainty' section (VSS, EVPI, the cost distribution, the fan).")
    run_async: bool = Field(False, alias="async", description="Answer 202 with a job at once and solve in the background.")

    @model_validator(mode="after")
    def _scenarios_of_a_template(self) -> ScheduleRequest:
        if self.case is not None and self.scenarios is not None:
            raise ValueError("'scenarios' are drawn from a template's forecasts; a case carries its own scenarios")
        return self


class Links(BaseModel):
    model_config = ConfigDict(extra="allow")


class ScheduleCreated(BaseModel):
    id: str = Field(description="The schedule id.")
    job_id: str | None
    status: str = Field(description="Solver status: optimal, or feasible (time limit with a schedule; see mip_gap).")
    case: str
    date: str
    summary: dict[str, Any] = Field(description="As summary.json of `vpp dispatch`.")
    links: dict[str, str]


class JobAccepted(BaseModel):
    job_id: str
    status: Literal["queued", "running"]
    links: dict[str, str]


class SizingRequestIn(_Strict):
    """A storage sizing study: a ``template`` and a ``year``, or a one-day ``case`` with the year's ``series``.

    The fields are those of ``vpp size``, less the ones the server decides
    (where the solves run) and file paths (the service reads no client-named file).
    """

    model_config = ConfigDict(json_schema_extra={"oneOf": [{"required": ["case", "series"], "not": {"required": ["template"]}},
                                                           {"required": ["template"], "not": {"required": ["case"]}}]})

    template: str = Field(None, description="A built-in case, e.g. 'teda-east'.",  # type: ignore[assignment]
                          examples=["teda-east"], json_schema_extra={"enum": ["teda-east"]})
    case: dict[str, Any] = Field(None, description="A canonical one-day case (model.md §1), repeated over the year.")  # type: ignore[assignment]
    series: Annotated[dict[str, list[Any]], WithJsonSchema(SERIES_SCHEMA)] = Field(  # type: ignore[assignment]
        None, description="The year's series at the case's step, as columns: 'timestamp' (ISO 8601 with offset) and any of "
        "load_mw, pv_mw, buy_cny_per_mwh. Required with 'case'; with a template it replaces the history.")
    year: Whole = Field(2025, ge=1900, le=2200, description="The year simulated.")
    typical_days: Whole = Field(None, ge=1, le=366,  # type: ignore[assignment]
                                description="Co-optimise and sweep over K tsam typical days, then check against the full year.")
    sweep: Annotated[str | dict[str, Any], WithJsonSchema(SWEEP_SCHEMA)] = Field(  # type: ignore[assignment]
        None, description="power=…,energy=… totals over the sites [MW, MWh], e.g. 'power=10,20,energy=0:60:20' "
        "(values, or start:stop:step ranges with start <= stop and a step > 0; at most 400 points in all), or the same as {'power': [...], 'energy': [...]}.")
    sites: list[Annotated[str, Field(min_length=1, max_length=200, pattern=ID_PATTERN)]] = Field(  # type: ignore[assignment]
        None, min_length=1, description="Node ids where storage may go; default: the nodes of the case's batteries.")
    economics: Annotated[dict[str, float], WithJsonSchema(overrides_schema("economics"))] = Field(
        default_factory=dict, description="Overrides of the cost assumptions (vpp/sizing/defaults.yaml), by key.")
    sizing: Annotated[dict[str, float], WithJsonSchema(overrides_schema("sizing"))] = Field(
        default_factory=dict, description="Overrides of the size bounds, by key.")
    battery: Annotated[dict[str, float], WithJsonSchema(overrides_schema("battery"))] = Field(
        default_factory=dict, description="Overrides of the candidate battery's parameters, by key.")
    chunk: Literal["month", "none"] = Field("month", description="Storage level chained within each month, or over the whole year.")
    mip_gap: float = Field(1e-4, ge=0, lt=1, description="Relative MIP gap of every solve [-].")
    time_limit_s: float = Field(None, gt=0,  # type: ignore[assignment]
                                description="Time limit of every solve [s]; default VPP_DEFAULT_TIME_LIMIT_S, at most VPP_MAX_TIME_LIMIT_S.")
    full_year_check: bool = Field(True, description="With typical days: also simulate the full year with and without the recommended storage.")
    sweep_full_year: bool = Field(False, description="With typical days: run the sweep over the full year.")

    @field_validator("template")
    @classmethod
    def _known_template(cls, value: str) -> str:
        from vpp.cases import known_template

        return value if value is None else known_template(value)

    @model_validator(mode="after")
    def _one_source(self) -> SizingRequestIn:
        if (self.case is None) == (self.template is None):
            raise ValueError("give either 'template' or 'case' (with 'series'), not both or neither")
        if self.case is not None and self.series is None:
            raise ValueError("a 'case' needs the year's 'series' (timestamp and load_mw, pv_mw or buy_cny_per_mwh)")
        return self


class ScheduleOut(BaseModel):
    id: str
    job_id: str | None
    created_at: dt.datetime
    case: str
    date: str
    template: str | None
    status: str
    objective_cny: float
    options: dict[str, Any]
    summary: dict[str, Any]
    schedule: dict[str, Any] = Field(description="timestamps, step_minutes and one series per element and quantity.")
    links: dict[str, str]


class ScheduleItem(BaseModel):
    id: str
    created_at: dt.datetime
    case: str
    date: str
    template: str | None
    status: str
    objective_cny: float
    links: dict[str, str]


class ScheduleList(BaseModel):
    items: list[ScheduleItem]
    total: int
    limit: int
    offset: int
    next: str | None


class JobOut(BaseModel):
    id: str
    kind: str
    status: Literal["queued", "running", "done", "failed"]
    attempts: int
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    reason: str | None = Field(description="Why it failed, or why it was queued again.")
    error: dict[str, Any] | None
    result: dict[str, Any] | None
    schedule_id: str | None
    links: dict[str, str]


class ProblemOut(BaseModel):
    path: str
    message: str


class ValidationReport(BaseModel):
    valid: bool
    problems: list[ProblemOut]


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    database: Literal["ok", "unreachable"]
    highs_version: str | None
    workers: int = Field(description="Solver worker processes of this server (VPP_WORKERS).")
    study_workers: int = Field(description="The most of them that run studies at once (VPP_STUDY_WORKERS); "
                                           "the others are kept for schedules.")
    jobs_running: int = Field(description="Jobs running on this server's workers.")
    studies_running: int = Field(description="Of these, studies (sizing).")


class ErrorBody(BaseModel):
    error: str
    message: str
    problems: list[ProblemOut] | None = None
    request_id: str


#: What a case must also satisfy, beyond its schema (said in the document beside it).
CASE_RULES = ("Beyond its schema: every series has one value per step or is one number; the nodes an asset or a "
              "node names exist; event windows and deadlines lie within the steps; POST /v1/cases/validate names "
              "every problem of a case.")

#: Text every database stores: no NUL character (the service refuses one anywhere in a body).
TEXT_PATTERN = r"^[^\x00]*$"


def document(openapi: dict[str, Any], max_time_limit_s: float, max_steps: int, max_assets: int) -> dict[str, Any]:
    """The OpenAPI document with what the routes' models cannot say alone: the canonical case and the limits.

    ``case`` in a schedule or sizing request is the canonical case (``Case``, with its
    assets, network and events as components; each asset names its ``type``), at
    most ``max_steps`` steps and ``max_assets`` assets; its text holds no NUL
    character. The solver time limit of a request is at most ``max_time_limit_s``.
    The rules between the fields of a case (a series has one value per step or is
    one number, the nodes an asset names exist, windows lie within the steps) are
    beyond a schema: the case's description says so, and ``POST /v1/cases/validate``
    names every problem.
    """
    from vpp.case import Case

    components = openapi.setdefault("components", {}).setdefault("schemas", {})
    case = Case.model_json_schema(ref_template="#/components/schemas/{model}")
    parts = case.pop("$defs", {})
    clash = sorted(set(parts) & set(components))
    if clash:
        raise RuntimeError(f"the case's schemas {clash} have the names of the API's own")
    for schema in (case, *parts.values()):
        _no_nul(schema)
    for member in _discriminated(case):  # an asset names its type: the service reads it to know the asset
        schema = parts[member.rsplit("/", 1)[1]]
        schema["required"] = sorted({*schema.get("required", []), "type"})
    case["properties"]["steps"].update(minimum=1, maximum=max_steps)
    case["properties"]["assets"]["maxItems"] = max_assets
    components.update(parts, Case=case)
    for name in ("ScheduleRequest", "SizingRequestIn"):
        properties = components[name]["properties"]
        properties["case"] = {"$ref": "#/components/schemas/Case", "description": properties["case"]["description"]
                              + " " + CASE_RULES}
        limit = properties.get("time_limit_s") or components["SolveOptionsIn"]["properties"]["time_limit_s"]
        limit["maximum"] = max_time_limit_s
    return openapi


def _discriminated(schema: Any) -> list[str]:
    """The references a discriminated union of ``schema`` maps its ``type`` to."""
    if isinstance(schema, list):
        return [ref for item in schema for ref in _discriminated(item)]
    if not isinstance(schema, dict):
        return []
    found = []
    discriminator = schema.get("discriminator")
    if isinstance(discriminator, dict) and discriminator.get("propertyName") == "type":
        found += list(discriminator.get("mapping", {}).values())
    return found + [ref for value in schema.values() for ref in _discriminated(value)]


def _no_nul(schema: Any) -> None:
    """Add "no NUL character" to every free text and key of a schema (in place)."""
    if isinstance(schema, list):
        for item in schema:
            _no_nul(item)
        return
    if not isinstance(schema, dict):
        return
    if schema.get("type") == "string" and not {"pattern", "enum", "const", "format"} & set(schema):
        schema["pattern"] = TEXT_PATTERN
    if schema.get("type") == "object" and schema.get("additionalProperties", True) is not False:
        schema["propertyNames"] = {"pattern": TEXT_PATTERN}
    for key, value in schema.items():
        if key not in ("enum", "const", "default", "examples"):
            _no_nul(value)


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "Missing or unknown token."},
    403: {"model": ErrorBody, "description": "The token's role may not do this."},
    422: {"model": ErrorBody, "description": "Invalid input, with the field paths."},
}
