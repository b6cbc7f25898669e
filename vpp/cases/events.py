"""A demand-response event as a user adds one for a day: kind, window, amount and, optionally, price.

``vpp dispatch --dr-event`` writes it ``KIND,HH:MM-HH:MM,MW[,CNY_PER_MWH]``
(for example ``peak_shaving,20:00-22:00,10`` or
``valley_filling,11:00-14:00,8,200``); the service takes the same fields as an
object (``{"kind", "window", "amount_mw", "price_cny_per_mwh"}``). Times are
local clock times of the day being dispatched; the end may be 24:00. Without a
price the template's price for the kind applies.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

EventKind = Literal["peak_shaving", "valley_filling"]
KINDS: tuple[str, ...] = ("peak_shaving", "valley_filling")
FORM = "KIND,HH:MM-HH:MM,MW[,CNY_PER_MWH]"

_TIME = re.compile(r"(\d{1,2}):(\d{2})")


@dataclass(frozen=True)
class EventSpec:
    """An event for one day: ``kind``, local window [start_hour, end_hour) [h], amount [MW], price [CNY/MWh] or None."""

    kind: EventKind
    start_hour: float
    end_hour: float
    amount_mw: float
    price_cny_per_mwh: float | None = None

    @property
    def window(self) -> str:
        """The window as written: ``20:00-22:00``."""
        return f"{clock(self.start_hour)}-{clock(self.end_hour)}"

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "window": self.window, "amount_mw": self.amount_mw}
        if self.price_cny_per_mwh is not None:
            out["price_cny_per_mwh"] = self.price_cny_per_mwh
        return out


def clock(hour: float) -> str:
    """A local hour [h] as HH:MM."""
    minutes = int(round(hour * 60))
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_time(text: str) -> float:
    """HH:MM (00:00 to 24:00) as hours [h]; ValueError saying what was expected."""
    m = _TIME.fullmatch(text.strip()) if isinstance(text, str) else None
    if m is None:
        raise ValueError(f"expected a time as HH:MM, got {text!r}")
    h, mi = int(m.group(1)), int(m.group(2))
    if mi > 59 or h > 24 or (h == 24 and mi):
        raise ValueError(f"{text.strip()} is not a time of the day (00:00 to 24:00)")
    return h + mi / 60


def parse_window(text: str) -> tuple[float, float]:
    """``HH:MM-HH:MM`` as (start, end) hours; the end after the start."""
    parts = text.split("-") if isinstance(text, str) else []
    if len(parts) != 2:
        raise ValueError(f"expected a window as HH:MM-HH:MM, got {text!r}")
    start, end = parse_time(parts[0]), parse_time(parts[1])
    if not end > start:
        raise ValueError(f"the window {text.strip()} ends before it starts: expected HH:MM-HH:MM within one day")
    return start, end


def _number(text: Any, what: str) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise ValueError(f"{what}: expected a number, got {text!r}") from None
    if isinstance(text, bool) or not math.isfinite(value):
        raise ValueError(f"{what}: expected a finite number, got {text!r}")
    return value


def make_event(
    kind: Any, window: Any, amount_mw: Any, price_cny_per_mwh: Any = None
) -> EventSpec:
    """An :class:`EventSpec` from its fields; ValueError naming the field and what was expected."""
    if kind not in KINDS:
        raise ValueError(f"kind: expected one of {', '.join(KINDS)}, got {kind!r}")
    start, end = parse_window(window)
    amount = _number(amount_mw, "amount")
    if not amount > 0:
        raise ValueError(f"amount: expected a number of MW > 0, got {amount_mw!r}")
    price = None
    if price_cny_per_mwh is not None:
        price = _number(price_cny_per_mwh, "price")
        if price < 0:
            raise ValueError(f"price: expected CNY/MWh >= 0, got {price_cny_per_mwh!r}")
    return EventSpec(kind, start, end, amount, price)  # type: ignore[arg-type]


def parse_event(text: str) -> EventSpec:
    """``KIND,HH:MM-HH:MM,MW[,CNY_PER_MWH]`` as an :class:`EventSpec`; ValueError saying what was expected."""
    parts = [p.strip() for p in text.split(",")] if isinstance(text, str) else []
    if len(parts) not in (3, 4):
        raise ValueError(f"expected {FORM}, e.g. peak_shaving,20:00-22:00,10; got {text!r}")
    return make_event(*parts)


def event_from_mapping(value: Mapping[str, Any]) -> EventSpec:
    """An :class:`EventSpec` from ``{"kind", "window", "amount_mw", "price_cny_per_mwh"?}``."""
    return make_event(value.get("kind"), value.get("window"), value.get("amount_mw"), value.get("price_cny_per_mwh"))


def as_event(value: EventSpec | str | Mapping[str, Any]) -> EventSpec:
    """An event given as an :class:`EventSpec`, the command line's text or the service's object."""
    if isinstance(value, EventSpec):
        return value
    if isinstance(value, str):
        return parse_event(value)
    if isinstance(value, Mapping):
        return event_from_mapping(value)
    raise ValueError(f"expected {FORM} or an object with kind, window and amount_mw, got {value!r}")
