"""Time-of-use tariff calendars → buy-price series [CNY/MWh].

The built-in tariff is Tianjin's time-of-use (TOU) calendar for industrial and
commercial users in force from 1 October 2025 ([pub] Tianjin DRC notice on
optimising the TOU mechanism, 2025; see ``shared/data/teda-east/facts.md``):

=========  ==================================================================
ratio      peak = flat × 1.6, valley = flat × 0.4, critical peak = peak × 1.2
Jul–Aug    valley 01–09; flat 00–01, 09–15, 23–24; peak 15–23, of which
           critical peak 20–22
Jan, Feb,  valley 00–06 and 12–14; flat 06–08, 10–12, 14–16, 22–24;
Dec        peak 08–10 and 16–22, of which critical peak 18–20
Mar–Jun,   as Jan/Feb/Dec without the critical peak
Sep–Nov
=========  ==================================================================

Hours are Beijing local clock time (Asia/Shanghai, UTC+8, no daylight saving).
The default flat energy price, 634 CNY/MWh, is a [pub, weak] third-party tariff
table figure used as an [assumed] default: replace it with the user's contract.

Only the energy part of a bill floats with these ratios. A large-industry user
on the two-part tariff (:class:`TwoPartTariff`) pays, per MWh, the market
energy price and the network energy charge times the ratio of the period, plus
fixed parts that do not float (government funds and surcharges, and the
line-loss and system-operation charges the 2025 notices keep fixed): the buy
price of a step is ``energy_flat × ratio[period] + fixed_adder``. Its capacity
part, the monthly maximum-demand charge, is not a price per MWh at all (the
grid's ``demand_charge_cny_per_mw``, model.md §3).

Other tariffs are added to :data:`TARIFFS` as further :class:`TouTariff` values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, tzinfo
from typing import Literal

import numpy as np
import pandas as pd

from vpp.timeseries import step_minutes_of

Period = Literal["valley", "flat", "peak", "critical_peak"]
PERIODS: tuple[str, ...] = ("valley", "flat", "peak", "critical_peak")

TIANJIN_FLAT_CNY_PER_MWH = 634.0
"""Default flat energy price [CNY/MWh]: [pub, weak] third-party table; [assumed] as default."""


def _day(spans: Mapping[str, tuple[tuple[int, int], ...]]) -> tuple[str, ...]:
    """24 hourly period names from ``{period: ((start_hour, end_hour), ...)}`` (end exclusive)."""
    hours: list[str | None] = [None] * 24
    for period, ranges in spans.items():
        for start, end in ranges:
            for h in range(start, end):
                if hours[h] is not None:
                    raise ValueError(f"hour {h} is both {hours[h]!r} and {period!r}")
                hours[h] = period
    missing = [h for h, p in enumerate(hours) if p is None]
    if missing:
        raise ValueError(f"hours {missing} have no period")
    return tuple(p for p in hours if p is not None)


_TJ_SUMMER = _day(
    {
        "valley": ((1, 9),),
        "flat": ((0, 1), (9, 15), (23, 24)),
        "peak": ((15, 20), (22, 23)),
        "critical_peak": ((20, 22),),
    }
)
_TJ_WINTER = _day(
    {
        "valley": ((0, 6), (12, 14)),
        "flat": ((6, 8), (10, 12), (14, 16), (22, 24)),
        "peak": ((8, 10), (16, 18), (20, 22)),
        "critical_peak": ((18, 20),),
    }
)
_TJ_SHOULDER = tuple("peak" if p == "critical_peak" else p for p in _TJ_WINTER)


@dataclass(frozen=True)
class TouTariff:
    """A time-of-use tariff: a period for every (month, hour) and a price ratio per period.

    ``hours_by_month[m]`` holds 24 period names for month ``m`` (1–12), hour
    ``h`` covering local clock time [h:00, h+1:00). Price of a period =
    ``flat_cny_per_mwh × ratio[period]`` [CNY/MWh]. ``in_force_from`` and
    ``in_force_until`` (inclusive; None: open) bound the days the calendar
    was published for; :meth:`note` says when a day lies outside them.
    """

    name: str
    description: str
    source: str
    timezone: str
    default_flat_cny_per_mwh: float
    ratio: Mapping[str, float]
    hours_by_month: Mapping[int, tuple[str, ...]]
    flat_source: str = "[assumed]"
    notes: tuple[str, ...] = field(default_factory=tuple)
    in_force_from: date | None = None
    in_force_until: date | None = None

    def in_force(self, day: date) -> bool:
        """Whether ``day`` (local) lies within the days the calendar is in force."""
        return (self.in_force_from is None or day >= self.in_force_from) and (
            self.in_force_until is None or day <= self.in_force_until
        )

    def note(self, day: date) -> str | None:
        """One line saying that the calendar is applied to a day outside its days in force, else None."""
        if self.in_force(day):
            return None
        if self.in_force_from is not None and day < self.in_force_from:
            when = f"before the {self.name} tariff came into force ({self.in_force_from.isoformat()})"
        else:
            when = f"after the {self.name} tariff's last day in force ({self.in_force_until})"
        return f"{day.isoformat()} is {when}: its periods and prices are applied anyway"

    def period(self, month: int, hour: int) -> str:
        """Period name ('valley'|'flat'|'peak'|'critical_peak') at local ``hour`` (0–23) of ``month`` (1–12)."""
        if not (isinstance(month, (int, np.integer)) and 1 <= month <= 12):
            raise ValueError(f"month must be an integer 1–12, got {month!r}")
        if not (isinstance(hour, (int, np.integer)) and 0 <= hour <= 23):
            raise ValueError(f"hour must be an integer 0–23 (local clock hour), got {hour!r}")
        return self.hours_by_month[int(month)][int(hour)]

    def period_prices_cny_per_mwh(
        self, flat_cny_per_mwh: float | None = None, fixed_cny_per_mwh: float = 0.0
    ) -> dict[str, float]:
        """Price of each period [CNY/MWh]: a flat price [CNY/MWh] (default: the tariff's) × the
        period's ratio, plus a fixed adder [CNY/MWh] that does not float (default 0)."""
        flat = (
            self.default_flat_cny_per_mwh if flat_cny_per_mwh is None else float(flat_cny_per_mwh)
        )
        if not np.isfinite(flat) or flat < 0:
            raise ValueError(
                f"flat_cny_per_mwh must be a finite number >= 0, got {flat_cny_per_mwh!r}"
            )
        fixed = float(fixed_cny_per_mwh)
        if not np.isfinite(fixed) or fixed < 0:
            raise ValueError(
                f"fixed_cny_per_mwh must be a finite number >= 0, got {fixed_cny_per_mwh!r}"
            )
        # Rounded to 1e-6 CNY/MWh so that 634 × 0.4 reads 253.6, not 253.60000000000002.
        return {p: round(flat * r + fixed, 6) for p, r in self.ratio.items()}

    def periods(self, timestamps: pd.DatetimeIndex) -> list[str]:
        """Period of each step, looked up by the local clock time at the start of the step."""
        local = _local(timestamps, self.timezone)
        return [self.hours_by_month[m][h] for m, h in zip(local.month, local.hour, strict=True)]

    def month_periods(self, month: int) -> list[str]:
        """The periods that occur in ``month`` (1–12), in the order valley, flat, peak, critical_peak."""
        present = set(self.hours_by_month[int(month)])
        return [p for p in PERIODS if p in present]

    def prices(
        self,
        timestamps: pd.DatetimeIndex,
        flat_cny_per_mwh: float | None = None,
        *,
        fixed_cny_per_mwh: float = 0.0,
        step_average: bool = False,
        step_minutes: float | None = None,
    ) -> np.ndarray:
        """Buy price per step [CNY/MWh]: ``flat × ratio[period] + fixed_cny_per_mwh``.

        By default the price of the period in force at the local clock time at
        the *start* of each step. With ``step_average=True`` the time-weighted
        mean price over each step (step length ``step_minutes`` [min], inferred
        from the timestamps when absent); for steps that divide an hour and
        start on the step grid from midnight both agree.
        """
        prices = self.period_prices_cny_per_mwh(flat_cny_per_mwh, fixed_cny_per_mwh)
        local = _local(timestamps, self.timezone)
        if not step_average:
            return np.array([prices[p] for p in self.periods(local)], dtype=float)
        minutes = step_minutes_of(local, step_minutes)
        # Sample each step every minute (periods change on whole hours) and average.
        n = max(1, int(np.ceil(minutes)))
        offsets = (np.arange(n) + 0.5) * (minutes / n)
        out = np.empty(len(local))
        for i, t0 in enumerate(local):
            instants = t0 + pd.to_timedelta(offsets, unit="min")
            out[i] = np.mean(
                [
                    prices[self.hours_by_month[m][h]]
                    for m, h in zip(instants.month, instants.hour, strict=True)
                ]
            )
        return out


def _local(timestamps: pd.DatetimeIndex | pd.Series | list, tz: str | tzinfo) -> pd.DatetimeIndex:
    """Timestamps as local clock time in ``tz``; naive timestamps are taken as already local."""
    idx = pd.DatetimeIndex(timestamps)
    if idx.tz is None:
        return idx.tz_localize(tz)
    return idx.tz_convert(tz)


TIANJIN_TOU_2025 = TouTariff(
    name="tianjin-tou-2025",
    description="Tianjin industrial & commercial time-of-use calendar in force from 1 Oct 2025",
    source="[pub] Tianjin DRC notice on optimising the TOU mechanism (2025)",
    timezone="Asia/Shanghai",
    default_flat_cny_per_mwh=TIANJIN_FLAT_CNY_PER_MWH,
    flat_source="[pub, weak] third-party tariff table; [assumed] as default",
    ratio={"valley": 0.4, "flat": 1.0, "peak": 1.6, "critical_peak": 1.6 * 1.2},
    hours_by_month={
        **{m: _TJ_SUMMER for m in (7, 8)},
        **{m: _TJ_WINTER for m in (1, 2, 12)},
        **{m: _TJ_SHOULDER for m in (3, 4, 5, 6, 9, 10, 11)},
    },
    notes=("peak = flat × 1.6, valley = flat × 0.4, critical peak = peak × 1.2",),
    in_force_from=date(2025, 10, 1),
)

@dataclass(frozen=True)
class TwoPartTariff:
    """The two-part tariff of a large-industry user: energy parts that float, fixed parts that do not.

    ``floating_cny_per_mwh`` holds the parts of the energy price that follow the
    time-of-use ratios of ``tou`` (the market energy price, the network energy
    charge), ``fixed_cny_per_mwh`` the parts that do not (funds and surcharges,
    line-loss and system-operation charges), each [CNY/MWh] by name. The buy
    price of a step is ``energy_flat × ratio[period] + fixed_adder``;
    ``demand_charge_cny_per_mw`` is the monthly charge per MW of maximum demand
    [CNY/MW·month], outside the price per MWh.
    """

    tou: TouTariff
    floating_cny_per_mwh: Mapping[str, float]
    fixed_cny_per_mwh: Mapping[str, float]
    demand_charge_cny_per_mw: float = 0.0

    @property
    def energy_flat_cny_per_mwh(self) -> float:
        """The floating part at the flat period [CNY/MWh]: the sum of the floating parts."""
        return float(sum(self.floating_cny_per_mwh.values()))

    @property
    def fixed_adder_cny_per_mwh(self) -> float:
        """The fixed adder [CNY/MWh]: the sum of the parts that do not float."""
        return float(sum(self.fixed_cny_per_mwh.values()))

    def period_prices_cny_per_mwh(self) -> dict[str, float]:
        """The buy price of each period [CNY/MWh]: energy flat × ratio + fixed adder."""
        return self.tou.period_prices_cny_per_mwh(self.energy_flat_cny_per_mwh, self.fixed_adder_cny_per_mwh)

    def prices(self, timestamps: pd.DatetimeIndex) -> np.ndarray:
        """Buy price per step [CNY/MWh], the period in force at the start of each step."""
        return self.tou.prices(
            timestamps, self.energy_flat_cny_per_mwh, fixed_cny_per_mwh=self.fixed_adder_cny_per_mwh
        )


TARIFFS: dict[str, TouTariff] = {TIANJIN_TOU_2025.name: TIANJIN_TOU_2025}
"""Registered tariffs by name."""


def get_tariff(name: str) -> TouTariff:
    """The registered tariff ``name``; ``KeyError`` naming the known ones otherwise."""
    try:
        return TARIFFS[name]
    except KeyError:
        raise KeyError(f"unknown tariff {name!r}: expected one of {sorted(TARIFFS)}") from None


def tou_period(month: int, hour: int) -> str:
    """Tianjin TOU period ('valley'|'flat'|'peak'|'critical_peak') at local ``hour`` (0–23) of ``month`` (1–12)."""
    return TIANJIN_TOU_2025.period(month, hour)


def tianjin_tou_prices(
    timestamps: pd.DatetimeIndex,
    flat_cny_per_mwh: float = TIANJIN_FLAT_CNY_PER_MWH,
    *,
    step_average: bool = False,
    step_minutes: float | None = None,
) -> np.ndarray:
    """Tianjin TOU buy price per step [CNY/MWh] for a flat price ``flat_cny_per_mwh`` [CNY/MWh].

    ``timestamps`` are the starts of the steps; tz-aware ones are converted to
    Beijing time, naive ones are taken as Beijing local time. See
    :meth:`TouTariff.prices` for ``step_average``.
    """
    return TIANJIN_TOU_2025.prices(
        timestamps, flat_cny_per_mwh, step_average=step_average, step_minutes=step_minutes
    )
