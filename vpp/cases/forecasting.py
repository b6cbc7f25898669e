"""Day-ahead forecasts of a template's series: PV of its fleet and its district load, as quantiles.

A template describes its place once, as a :class:`Site` (location, PV fleet,
load split); :func:`forecast_pv` and :func:`forecast_load` turn a site, a day
and whatever inputs there are (a weather forecast, measured history) into a
:class:`DayForecast`. ``vpp forecast pv|load --case NAME`` and the templates'
``materialize`` (with a weather file or a load history) both use them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from vpp.errors import CaseError, Problem

PV_ERROR_RHO = 0.95
"""Correlation of PV forecast errors from one 15-minute step to the next, for scenarios of a
physical (weather-driven) forecast that has no history to fit it from [assumed]."""


@dataclass(frozen=True)
class Site:
    """What the forecasts need to know about a template's place.

    ``pv_arrays`` are :class:`forecasts.pv.PVArray`, one per PV asset of the
    case (named by the asset id); ``pv_system`` a :class:`forecasts.pv.PVSystem`
    (losses of the weather chain); ``load_shares`` the share of the district's
    inflexible load [-] on each load asset (by asset id, adding up to 1).
    """

    name: str
    timezone: str
    latitude_deg: float
    longitude_deg: float
    altitude_m: float
    albedo: float
    pv_system: Any
    pv_arrays: list[Any]
    pv_history_days: int
    load_peak_mw: float
    load_peak_source: str
    load_shares: Mapping[str, float]

    @property
    def pv_capacity_mw(self) -> float:
        """Installed PV of the fleet [MW]."""
        return float(sum(a.capacity_mw for a in self.pv_arrays))

    def day_index(self, day: date, step_minutes: int) -> pd.DatetimeIndex:
        """The starts of the day's steps, from local midnight."""
        start = pd.Timestamp(day).tz_localize(self.timezone)
        return pd.date_range(start, periods=1440 // step_minutes, freq=pd.Timedelta(minutes=step_minutes))


@dataclass
class DayForecast:
    """Quantile forecasts of one of the case's series for a day, and where they came from.

    ``quantiles``: one row per step, one column per level [MW] (the district
    total for load, the fleet total for PV); ``parts``: the same per asset
    (columns ``(asset id, level)``); ``rho``: step-to-step error correlation for
    :func:`forecasts.scenarios.generate_scenarios`; ``source``: provenance text.
    """

    quantiles: pd.DataFrame
    parts: pd.DataFrame
    source: str
    rho: float
    extra: dict[str, Any] = field(default_factory=dict)


def forecast_pv(
    site: Site,
    day: date,
    *,
    weather: pd.DataFrame | None = None,
    pv_history: pd.Series | None = None,
    quantiles: tuple[float, ...] = (0.1, 0.5, 0.9),
    step_minutes: int = 15,
) -> DayForecast:
    """PV of every asset of the site's fleet for ``day`` [MW], as quantiles.

    - with ``weather``: the pvlib chain per asset; quantiles from the [assumed]
      clear-sky-index error spread of :func:`forecasts.pv.clear_sky_index_quantiles`;
    - else with ``pv_history`` (the fleet's measured MW): clear sky × the
      measured/clear-sky ratio of the last ``site.pv_history_days`` days before
      ``day`` (the recent clear-sky index), same spread;
    - else clear sky × the climatological clear-sky index 0.691 of the [plan].
    """
    from forecasts.pv import (
        CLOUD_FACTOR,
        clear_sky_index_quantiles,
        pv_from_clear_sky_index_mw,
        pv_from_weather_mw,
        recent_clear_sky_index,
    )
    from forecasts.weather import weather_for_day

    where = (site.latitude_deg, site.longitude_deg)
    kw = {"altitude_m": site.altitude_m, "albedo": site.albedo, "system": site.pv_system, "step_minutes": step_minutes}
    arrays = site.pv_arrays
    ts = site.day_index(day, step_minutes)
    levels = tuple(sorted(set(quantiles) | {0.5}))
    extra: dict[str, Any] = {}
    if weather is not None:
        w = weather_for_day(weather, day, site.timezone)
        parts = pv_from_weather_mw(ts, w, arrays, *where, quantiles=levels, **kw)
        source = (
            f"weather file {w.attrs.get('source')} ({w.attrs.get('irradiance')}, {w.attrs.get('step_minutes')} min) "
            "through the pvlib chain of forecasts.pv.pv_from_weather_mw; quantiles from the clear-sky-index "
            "error spread σ = 0.08 + 0.30·4kt(1−kt) [assumed]"
        )
    else:
        kt, how = CLOUD_FACTOR, "the climatological clear-sky index 0.691 ([plan] 4,935 MJ/m² a year)"
        if pv_history is not None:
            days = int(site.pv_history_days)
            start = ts[0] - pd.Timedelta(days=days)
            hist = pv_history[(pv_history.index >= start) & (pv_history.index < ts[0])]
            if not hist.dropna().empty:
                hist_step = int(hist.attrs.get("step_minutes") or 15)
                hidx = pd.date_range(start, ts[0], freq=pd.Timedelta(minutes=hist_step), inclusive="left")
                clear = pv_from_clear_sky_index_mw(hidx, 1.0, arrays, *where, **{**kw, "step_minutes": hist_step}).sum(axis=1)
                recent = recent_clear_sky_index(hist.reindex(hidx), clear, ts[0], days)
                if recent is not None:
                    kt = float(np.clip(recent, 0.0, 1.2))
                    how = (
                        f"the recent clear-sky index {kt:.3f}: measured / clear-sky PV over the {days} days before "
                        f"{day.isoformat()} in {pv_history.attrs.get('source', 'the PV history')}"
                    )
            if "recent" not in how:
                raise CaseError(
                    [Problem("pv_history", f"no PV measurements in the {days} days before {day.isoformat()}")],
                    step="forecasting PV",
                )
        extra["clear_sky_index"] = kt
        kts = clear_sky_index_quantiles(np.full(len(ts), kt), levels)
        kts[0.5] = np.full(len(ts), kt)
        frames = {q: pv_from_clear_sky_index_mw(ts, kts[q], arrays, *where, **kw) for q in levels}
        parts = pd.concat(frames, axis=1).swaplevel(0, 1, axis=1)
        parts.columns = parts.columns.set_names(["array", "quantile"])
        source = (
            f"no weather forecast: clear sky × {how}, through the pvlib chain at 20 °C and 1 m/s; quantiles "
            "from the clear-sky-index error spread σ = 0.08 + 0.30·4kt(1−kt) [assumed]"
        )
    total = pd.DataFrame({q: parts.xs(q, axis=1, level="quantile").sum(axis=1) for q in levels})
    source += "; step-to-step error correlation for scenarios 0.95 [assumed]"
    return DayForecast(quantiles=total, parts=parts, source=source, rho=PV_ERROR_RHO, extra=extra)


def forecast_load(
    site: Site,
    day: date,
    *,
    load_history: pd.Series | None = None,
    quantiles: tuple[float, ...] = (0.1, 0.5, 0.9),
    step_minutes: int = 15,
) -> DayForecast:
    """The site's inflexible district load for ``day`` [MW], as quantiles, split over its load assets.

    With ``load_history`` (MW up to the day before): LightGBM quantile
    forecast (:class:`forecasts.model.DayAheadForecaster`) trained on all of it
    before the day's midnight. Without: the documented profile, with a ±5 %
    band [assumed] (no history, so no measured error to size it from).
    """
    from forecasts.load import district_load_mw
    from forecasts.model import DayAheadForecaster
    from forecasts.series import resample_mean, step_of

    tz = site.timezone
    ts = site.day_index(day, step_minutes)
    levels = tuple(sorted(set(quantiles) | {0.5}))
    extra: dict[str, Any] = {}
    if load_history is None:
        base = district_load_mw(ts, site.load_peak_mw, timezone=tz, step_minutes=step_minutes)
        from scipy.stats import norm

        total = pd.DataFrame({q: base * (1 + 0.05 / norm.ppf(0.9) * norm.ppf(q)) for q in levels}, index=ts)
        source = (
            f"documented district profile (forecasts.load.district_load_mw), peak {site.load_peak_mw:g} MW "
            f"{site.load_peak_source}; P10/P90 at ±5 % [assumed]; no load history given"
        )
        rho = 0.95
    else:
        name = load_history.attrs.get("source", "the load history")
        hist = load_history.tz_convert(tz) if load_history.index.tz is not None else load_history
        hist.attrs = dict(load_history.attrs)
        native = step_of(hist)
        if native < step_minutes:
            hist = resample_mean(hist, step_minutes)
        origin = ts[0]
        hist = hist[hist.index < origin]
        hist.attrs = dict(load_history.attrs, step_minutes=min(max(native, step_minutes), 1440))
        if hist.dropna().empty or hist.dropna().index[-1] < origin - pd.Timedelta(days=1):
            last = "no values before it" if hist.dropna().empty else f"it ends {hist.dropna().index[-1].isoformat()}"
            raise CaseError(
                [
                    Problem(
                        "load_history",
                        f"{name}: a day-ahead forecast of {day.isoformat()} needs the load up to the day before; {last}",
                    )
                ],
                step="forecasting the load",
            )
        model = DayAheadForecaster(kind="load", quantiles=levels)
        try:
            model.fit(hist)
            fc = model.predict(day, hist)
        except ValueError as exc:
            raise CaseError([Problem("load_history", f"{name}: {exc}")], step="forecasting the load") from None
        if step_of(hist) > step_minutes:  # coarser history: hold each value over the finer steps
            fc = fc.reindex(ts, method="ffill")
        total = fc.set_axis(ts)
        n_days = hist.dropna().index.normalize().nunique()
        source = (
            f"LightGBM quantile forecast (forecasts.model.DayAheadForecaster) trained on {name}: {n_days} days "
            f"to {model.train_end_.isoformat()} (calendar, lags of 1, 7 and 14 days), fit in {model.fit_seconds_:.1f} s"
        )
        rho = model.rho_
        extra.update(train_end=model.train_end_.isoformat(), fit_seconds=model.fit_seconds_)
    parts = pd.concat({asset: total * share for asset, share in site.load_shares.items()}, axis=1)
    parts.columns = parts.columns.set_names(["asset", "quantile"])
    return DayForecast(quantiles=total, parts=parts, source=source, rho=rho, extra=extra)
