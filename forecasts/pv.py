"""PV availability from a clear-sky model (pvlib), averaged over each step.

Pure functions: timestamps and numbers in, arrays out; no file I/O of our own
(pvlib reads the Linke turbidity climatology it ships, ``LinkeTurbidities.h5``,
so this works offline). Nothing here knows about the optimisation model.

Power [MW] = capacity [MW] × derate × POA irradiance [W/m²] / 1000 W/m², where
POA is the Ineichen clear-sky irradiance (Linke turbidity from pvlib's monthly
climatology) transposed to the plane of array.

The derate
----------
``derate`` scales the clear-sky envelope down to an *expected* (climatological)
output, so it folds two things together:

- clouds and haze: the [plan]'s solar resource, 4935 MJ/m² a year = 1370.8
  kWh/m² on the horizontal, against pvlib's clear-sky 1984 kWh/m² a year at
  39.03 N, 117.72 E (sea level): a factor 0.691;
- system losses (modules, temperature, inverters, wiring, soiling): a
  performance ratio 0.833 [assumed].

0.691 × 0.833 = :data:`DEFAULT_DERATE` = 0.576, which gives ≈ 1,250 kWh/kWp a
year at 10° tilt facing south (pvlib's clear-sky plane-of-array envelope there
is 2,171 kWh/m² a year), the yield in ``shared/data/teda-east/facts.md``
([pub]; its "clear-sky envelope 1,819 × ~0.7" is a coarser estimate of the same
number). ``tests/forecasts/test_pv.py`` checks the annual yield. With a real
day-ahead weather forecast, use a derate near the performance ratio instead
and scale the clear-sky irradiance by the forecast clear-sky index.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pvlib

from vpp.timeseries import step_minutes_of

CLOUD_FACTOR = 0.691
"""Measured / clear-sky horizontal irradiation: [plan] 1370.8 kWh/m² ÷ pvlib clear-sky 1984 kWh/m²."""
PERFORMANCE_RATIO = 0.833
"""AC energy / plane-of-array irradiation [assumed] (typical rooftop C&I plant)."""
DEFAULT_DERATE = 0.576
"""CLOUD_FACTOR × PERFORMANCE_RATIO, rounded: ≈ 1,250 kWh/kWp a year at 10° tilt in TEDA."""

TRANSPOSITION_MODELS = (
    "isotropic",
    "klucher",
    "haydavies",
    "reindl",
    "king",
    "perez",
    "perez-driesse",
)


def _check_timestamps(timestamps: pd.DatetimeIndex) -> pd.DatetimeIndex:
    idx = pd.DatetimeIndex(timestamps)
    if idx.tz is None:
        raise ValueError(
            "timestamps have no time zone: pass tz-aware timestamps, e.g. "
            "pd.date_range('2026-07-15', periods=96, freq='15min', tz='Asia/Shanghai')"
        )
    return idx


def step_sample_times(
    timestamps: pd.DatetimeIndex, step_minutes: float | None = None, sample_minutes: float = 5.0
) -> tuple[pd.DatetimeIndex, int]:
    """Instants at the midpoints of equal sub-intervals of every step.

    Each step [t, t + step) is cut into ``n = ceil(step_minutes / sample_minutes)``
    equal parts; returns the ``len(timestamps) × n`` midpoints (step-major) and ``n``.
    Averaging an instantaneous quantity over them gives its mean over the step
    (midpoint rule).
    """
    idx = pd.DatetimeIndex(timestamps)
    minutes = step_minutes_of(idx, step_minutes)
    if not sample_minutes > 0:
        raise ValueError(f"sample_minutes must be > 0 [min], got {sample_minutes!r}")
    n = max(1, math.ceil(minutes / sample_minutes - 1e-9))
    offsets = pd.to_timedelta((np.arange(n) + 0.5) * minutes / n, unit="min")
    starts = np.repeat(idx.asi8, n)
    instants = pd.DatetimeIndex(starts.astype(f"datetime64[{idx.unit}]"), tz="UTC").tz_convert(
        idx.tz
    )
    return instants + np.tile(offsets, len(idx)), n


def clear_sky_poa_w_per_m2(
    instants: pd.DatetimeIndex,
    latitude: float,
    longitude: float,
    tilt_deg: float = 10.0,
    azimuth_deg: float = 180.0,
    *,
    altitude_m: float = 0.0,
    albedo: float = 0.2,
    model: str = "isotropic",
) -> np.ndarray:
    """Instantaneous clear-sky plane-of-array irradiance [W/m²] at each instant.

    Solar position (pvlib NREL SPA), Ineichen clear sky with pvlib's Linke
    turbidity climatology (``Location.get_clearsky``), transposed with
    ``pvlib.irradiance.get_total_irradiance`` (``model``; sky diffuse), ground
    reflection with ``albedo`` [-]. Tilt [deg from horizontal], azimuth [deg
    clockwise from north: 180 = south], altitude [m]. Zero with the sun down.
    """
    idx = _check_timestamps(instants)
    if not -90 <= latitude <= 90:
        raise ValueError(f"latitude must be within [-90, 90] degrees north, got {latitude!r}")
    if not -180 <= longitude <= 180:
        raise ValueError(f"longitude must be within [-180, 180] degrees east, got {longitude!r}")
    if not 0 <= tilt_deg <= 90:
        raise ValueError(
            f"tilt_deg must be within [0, 90] degrees from horizontal, got {tilt_deg!r}"
        )
    if not 0 <= azimuth_deg <= 360:
        raise ValueError(
            f"azimuth_deg must be within [0, 360] degrees clockwise from north, got {azimuth_deg!r}"
        )
    if not 0 <= albedo <= 1:
        raise ValueError(f"albedo must be within [0, 1], got {albedo!r}")
    if model not in TRANSPOSITION_MODELS:
        raise ValueError(
            f"unknown transposition model {model!r}: expected one of {list(TRANSPOSITION_MODELS)}"
        )
    if len(idx) == 0:
        return np.zeros(0)

    idx = idx.tz_convert("UTC")  # any fixed offset or zone; pvlib works on the instants
    location = pvlib.location.Location(latitude, longitude, tz="UTC", altitude=altitude_m)
    with warnings.catch_warnings():
        # pvlib (0.16) still calls DatetimeIndex.dayofyear, deprecated in pandas 3: not ours to act on.
        warnings.filterwarnings(
            "ignore", message=r".*dayofyear is deprecated", category=FutureWarning
        )
        warnings.filterwarnings(
            "ignore", message=r".*dayofyear is deprecated", category=DeprecationWarning
        )
        solpos = location.get_solarposition(idx)
        clearsky = location.get_clearsky(idx, model="ineichen", solar_position=solpos)
        extra: dict[str, object] = {}
        if model in ("haydavies", "reindl", "perez", "perez-driesse"):
            extra["dni_extra"] = pvlib.irradiance.get_extra_radiation(idx)
            extra["airmass"] = location.get_airmass(idx, solar_position=solpos)["airmass_relative"]
    poa = pvlib.irradiance.get_total_irradiance(
        surface_tilt=tilt_deg,
        surface_azimuth=azimuth_deg,
        solar_zenith=solpos["apparent_zenith"],
        solar_azimuth=solpos["azimuth"],
        dni=clearsky["dni"],
        ghi=clearsky["ghi"],
        dhi=clearsky["dhi"],
        albedo=albedo,
        model=model,
        **extra,
    )["poa_global"].to_numpy(dtype=float)
    poa = np.nan_to_num(poa, nan=0.0)
    poa[solpos["apparent_zenith"].to_numpy() >= 90.0] = 0.0
    return np.clip(poa, 0.0, None)


def clear_sky_pv_mw(
    timestamps: pd.DatetimeIndex,
    latitude: float,
    longitude: float,
    capacity_mw: float,
    tilt_deg: float = 10.0,
    azimuth_deg: float = 180.0,
    derate: float = DEFAULT_DERATE,
    *,
    altitude_m: float = 0.0,
    albedo: float = 0.2,
    model: str = "isotropic",
    step_minutes: float | None = None,
    sample_minutes: float = 5.0,
) -> np.ndarray:
    """Expected PV power [MW], the average over each step, from the clear-sky envelope.

    Parameters
    ----------
    timestamps : tz-aware DatetimeIndex
        Start of every step (evenly spaced unless ``step_minutes`` is given).
    latitude, longitude : float
        Site [deg north, deg east].
    capacity_mw : float
        Installed (DC nameplate) capacity [MW] ≥ 0.
    tilt_deg, azimuth_deg : float
        Plane of array [deg from horizontal; deg clockwise from north, 180 = south].
    derate : float
        Expected output / clear-sky output [-], in [0, 1]; the default
        :data:`DEFAULT_DERATE` is documented in the module docstring.
    altitude_m, albedo, model
        Site altitude [m], ground albedo [-], transposition model (see
        :func:`clear_sky_poa_w_per_m2`).
    step_minutes : float, optional
        Step length [min]; inferred from the timestamps when absent.
    sample_minutes : float
        Each step is averaged over sub-intervals no longer than this [min]
        (midpoint rule), so a 15-minute value is the mean power over the
        quarter hour, not the power at its start.

    Returns
    -------
    numpy.ndarray of len(timestamps) mean powers [MW], zero at night.
    """
    idx = _check_timestamps(timestamps)
    if not (
        isinstance(capacity_mw, (int, float)) and math.isfinite(capacity_mw) and capacity_mw >= 0
    ):
        raise ValueError(f"capacity_mw must be a finite number >= 0 [MW], got {capacity_mw!r}")
    if not (isinstance(derate, (int, float)) and 0 <= derate <= 1):
        raise ValueError(
            f"derate must be within [0, 1] (expected / clear-sky output), got {derate!r}"
        )
    if len(idx) == 0:
        return np.zeros(0)
    instants, n = step_sample_times(idx, step_minutes, sample_minutes)
    poa = clear_sky_poa_w_per_m2(
        instants,
        latitude,
        longitude,
        tilt_deg,
        azimuth_deg,
        altitude_m=altitude_m,
        albedo=albedo,
        model=model,
    )
    mean_poa = poa.reshape(len(idx), n).mean(axis=1)
    return capacity_mw * derate * mean_poa / 1000.0
