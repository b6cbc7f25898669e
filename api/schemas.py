"""Request and response bodies of the HTTP API (pydantic; they make the OpenAPI document).

Requests are strict: unknown fields, wrong types (no string-to-number or
string-to-bool coercion) and non-finite numbers are refused with the field's
path.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"


def parse_date(value: str) -> dt.date:
    """A YYYY-MM-DD date; ValueError with what was expected, or why the day does not exist (vpp.cases.parse_date)."""
    from vpp.cases import parse_date as parse

    return parse(value)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class SolveOptionsIn(_Strict):
    """Solver settings of a request."""

    mip_gap: float = Field(1e-4, ge=0, lt=1, description="Relative MIP gap at which HiGHS stops [-].")
    # fields that may be left out have the default None but do not accept an explicit null
    # (one type each, so that an error names the field alone)
    time_limit_s: float = Field(  # type: ignore[assignment]
        None, gt=0, description="Solver time limit [s]; default VPP_DEFAULT_TIME_LIMIT_S, at most VPP_MAX_TIME_LIMIT_S.")


class ScenariosIn(_Strict):
    """A stochastic day from the template's forecasts (``vpp dispatch --scenarios K``)."""

    count: int = Field(ge=1, le=20, description="K: scenarios kept (k-medoids) out of those drawn (at most 20: a day solved\n                       in the time limit).")
    risk_weight: float = Field(0.0, ge=0, description="λ: weight of the CVaR of the scenario costs.")
    risk_beta: float = Field(0.9, ge=0, lt=1, description="β: the CVaR's level.")
    draws: int = Field(1000, ge=1, le=2000, description="Days drawn from the forecasts before the reduction.")
    seed: int = Field(0, ge=0, description="Seed of the draws.")


class ScheduleRequest(_Strict):
    """Either a canonical ``case`` or a ``template`` with a ``date``; ``async`` answers 202 at once."""

    model_config = ConfigDict(json_schema_extra={"oneOf": [{"required": ["case"], "not": {"anyOf": [{"required": ["template"]}, {"required": ["date"]}]}},
                                                           {"required": ["template"], "not": {"required": ["case"]}}]})

    # left out: None; an explicit null is refused (one type per field, so an error names the field alone)
    case: dict[str, Any] = Field(None, description="A canonical case (shared/spec/model.md §1).")  # type: ignore[assignment]
    template: str = Field(None, description="A built-in case, e.g. 'teda-east'.",  # type: ignore[assignment]
                          examples=["teda-east"], json_schema_extra={"enum": ["teda-east"]})
    date: str = Field(  # type: ignore[assignment]
        None, json_schema_extra={"format": "date", "pattern": DATE_PATTERN}, description="Day of the template, YYYY-MM-DD (default: tomorrow in Asia/Shanghai).",
        examples=["2026-07-15"])
    options: SolveOptionsIn = Field(default_factory=SolveOptionsIn)
    run_async: bool = Field(False, alias="async", description="Answer 202 with a job at once and solve in the background.")
    scenarios: ScenariosIn = Field(  # type: ignore[assignment]
        None, description="Plan for scenarios of PV and load drawn from the template's forecasts (template only); "
                          "the summary then has an 'uncertainty' section (VSS, EVPI, the cost distribution, the fan).")

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
    def _one_source(self) -> ScheduleRequest:
        if (self.case is None) == (self.template is None):
            raise ValueError("give either 'case' (a canonical case) or 'template' (with 'date'), not both or neither")
        if self.case is not None and self.date is not None:
            raise ValueError("'date' applies to a template only; a case carries its own start")
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
    series: dict[str, list[Any]] = Field(  # type: ignore[assignment]
        None, description="The year's series at the case's step, as columns: 'timestamp' (ISO 8601 with offset) and any of "
        "load_mw, pv_mw, buy_cny_per_mwh. Required with 'case'; with a template it replaces the history.")
    year: int = Field(2025, ge=1900, le=2200, description="The year simulated.")
    typical_days: int = Field(None, ge=1, le=366,  # type: ignore[assignment]
                              description="Co-optimise and sweep over K tsam typical days, then check against the full year.")
    sweep: str | dict[str, Any] = Field(None, description="power=…,energy=… totals over the sites [MW, MWh], "  # type: ignore[assignment]
                                        "e.g. 'power=10,20,energy=0:60:20'.")
    sites: list[str] = Field(None, description="Node ids where storage may go; default: the nodes of the case's batteries.")  # type: ignore[assignment]
    economics: dict[str, float] = Field(default_factory=dict, description="Overrides of the cost assumptions (vpp/sizing/defaults.yaml).")
    sizing: dict[str, float] = Field(default_factory=dict, description="Overrides of the size bounds.")
    battery: dict[str, float] = Field(default_factory=dict, description="Overrides of the candidate battery's parameters.")
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
    workers: int
    jobs_running: int


class ErrorBody(BaseModel):
    error: str
    message: str
    problems: list[ProblemOut] | None = None
    request_id: str


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "Missing or unknown token."},
    403: {"model": ErrorBody, "description": "The token's role may not do this."},
    422: {"model": ErrorBody, "description": "Invalid input, with the field paths."},
}
