"""Field types and base classes of the canonical case (``shared/spec/model.md`` §1).

Units everywhere: MW (average power over a step), MWh, CNY, hours, tCO2; prices
in CNY/MWh. A *series* field takes one number (the same every step) or a list
of exactly ``steps`` numbers (the case's ``steps`` reaches the validator through
the validation context).

Numbers are numbers: the models are strict, so ``"700"`` is refused where a
number is expected (no silent coercion of text), while a whole number written
``96.0`` is accepted where a whole number is expected.
"""

from __future__ import annotations

import math
import reprlib
from typing import Annotated, Any

import numpy as np
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo
from pydantic_core import PydanticCustomError

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


def _fractions(value: float | list[float]) -> float | list[float]:
    values = value if isinstance(value, list) else [value]
    for i, v in enumerate(values):
        if not 0 <= v <= 1:
            where = f" at position {i}" if isinstance(value, list) else ""
            raise PydanticCustomError(
                "series_fraction", "expected values in [0, 1], got {v}{where}", {"v": v, "where": where}
            )
    return value


def whole(value: Any) -> Any:
    """A whole number given as 96 or 96.0 becomes the int 96; anything else is left to the int check."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Series = Annotated[float | list[float], BeforeValidator(_coerce_series)]
"""Any finite number per step [unit in the field name]."""
NonNegSeries = Annotated[Series, AfterValidator(_non_negative)]
"""A finite number >= 0 per step."""
FractionSeries = Annotated[Series, AfterValidator(_fractions)]
"""A fraction in [0, 1] per step."""

Finite = Annotated[float, Field(allow_inf_nan=False)]
NonNeg = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Fraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Efficiency = Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]
Count = Annotated[int, BeforeValidator(whole), Field(ge=0)]
"""A whole number >= 0 (``3.0`` is accepted as 3)."""
Step = Annotated[int, BeforeValidator(whole), Field(ge=0)]
"""A step index (0 … steps − 1; an exclusive end may be ``steps``)."""
Id = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^\S(.*\S)?$")]


class Strict(BaseModel):
    """Strict base: unknown keys are errors (a misspelt key must not be ignored), text is not a number."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Described(Strict):
    """Free-text fields every element may carry; the model ignores them."""

    name: str | None = None
    description: str | None = None
    meta: dict[str, Any] | None = Field(
        default=None, description="Provenance and notes (where a series came from, labels)."
    )


class AssetBase(Described):
    """What every asset has: an id, the node it sits at and its participant (model.md §1, §4)."""

    id: Id
    node: Id | None = Field(default=None, description="Node id; absent = the root.")
    participant: Id | None = Field(
        default=None, description="The owner settled for this asset (v2); absent = its own id. The model ignores it."
    )

    @property
    def owner(self) -> str:
        """The participant settled for the asset (its own id when absent)."""
        return self.participant or self.id


def default(model: type[BaseModel], field: str) -> Any:
    """The default of ``model.field`` (rules read defaults here, never from repeated literals)."""
    return model.model_fields[field].default


def series(value: float | list[float], steps: int) -> np.ndarray:
    """A series field as an array of ``steps`` floats."""
    if isinstance(value, list):
        return np.asarray(value, dtype=float)
    return np.full(steps, float(value))


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"
