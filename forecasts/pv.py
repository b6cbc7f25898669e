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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

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


# ---------------------------------------------------------------------------
# From a weather forecast to MW per array
# ---------------------------------------------------------------------------

KT_SPREAD_CLEAR, KT_SPREAD_MIXED = 0.08, 0.30
"""Spread of the day-ahead clear-sky index error [-] ([assumed]): σ(kt) = 0.08 + 0.30 · 4·kt·(1 − kt),
narrow on clear and overcast days, widest (≈ 0.38) on broken-cloud days; used for PV quantiles
from a single weather forecast (:func:`clear_sky_index_quantiles`)."""


@dataclass(frozen=True)
class PVArray:
    """One PV array (an asset): where it points and how big it is.

    ``capacity_mw`` is the DC nameplate [MWp]; tilt [deg from horizontal];
    azimuth [deg clockwise from north, 180 = south].
    """

    id: str
    capacity_mw: float
    tilt_deg: float
    azimuth_deg: float


@dataclass(frozen=True)
class PVSystem:
    """Losses from plane-of-array irradiance to AC power (PVWatts-style; every number [assumed] by default).

    - ``transposition``: pvlib sky-diffuse model (Hay–Davies by default);
    - ``temperature_model``: pvlib SAPM cell-temperature parameter set;
    - ``gamma_pdc_per_c``: DC power temperature coefficient [1/°C];
    - ``dc_loss``: soiling, wiring, mismatch, light-induced degradation, availability [-];
    - ``dc_ac_ratio``: DC nameplate / inverter AC rating [-] (clipping above it);
    - ``inverter_efficiency``: nominal inverter efficiency [-] (pvlib's PVWatts inverter curve).
    """

    transposition: str = "haydavies"
    temperature_model: str = "close_mount_glass_glass"
    gamma_pdc_per_c: float = -0.0035
    dc_loss: float = 0.10
    dc_ac_ratio: float = 1.1
    inverter_efficiency: float = 0.96

    def check(self) -> None:
        if self.transposition not in TRANSPOSITION_MODELS:
            raise ValueError(f"unknown transposition model {self.transposition!r}: expected one of {list(TRANSPOSITION_MODELS)}")
        params = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"]
        if self.temperature_model not in params:
            raise ValueError(f"unknown temperature_model {self.temperature_model!r}: expected one of {sorted(params)}")
        if not -0.02 <= self.gamma_pdc_per_c <= 0:
            raise ValueError(f"gamma_pdc_per_c must be within [-0.02, 0] per °C, got {self.gamma_pdc_per_c!r}")
        if not 0 <= self.dc_loss < 1:
            raise ValueError(f"dc_loss must be within [0, 1), got {self.dc_loss!r}")
        if not 0.5 <= self.dc_ac_ratio <= 3:
            raise ValueError(f"dc_ac_ratio must be within [0.5, 3], got {self.dc_ac_ratio!r}")
        if not 0.5 < self.inverter_efficiency <= 1:
            raise ValueError(f"inverter_efficiency must be within (0.5, 1], got {self.inverter_efficiency!r}")


@contextmanager
def _quiet_pvlib() -> Iterator[None]:
    """pvlib (0.16) still calls DatetimeIndex.dayofyear, deprecated in pandas 3: not ours to act on."""
    with warnings.catch_warnings():
        for category in (FutureWarning, DeprecationWarning):
            warnings.filterwarnings("ignore", message=r".*dayofyear is deprecated", category=category)
        yield


def solar_and_clear_sky(
    instants: pd.DatetimeIndex, latitude: float, longitude: float, altitude_m: float = 0.0
) -> pd.DataFrame:
    """Solar position (NREL SPA) and Ineichen clear sky at each instant.

    Columns: ``apparent_zenith``, ``zenith``, ``azimuth`` [deg], ``ghi_clear``,
    ``dni_clear``, ``dhi_clear`` [W/m2], ``dni_extra`` [W/m2]. Index: the instants.
    """
    idx = _check_timestamps(instants).tz_convert("UTC")
    location = pvlib.location.Location(latitude, longitude, tz="UTC", altitude=altitude_m)
    with _quiet_pvlib():
        solpos = location.get_solarposition(idx)
        cs = location.get_clearsky(idx, model="ineichen", solar_position=solpos)
        extra = pvlib.irradiance.get_extra_radiation(idx)
    out = pd.DataFrame(
        {
            "apparent_zenith": solpos["apparent_zenith"].to_numpy(),
            "zenith": solpos["zenith"].to_numpy(),
            "azimuth": solpos["azimuth"].to_numpy(),
            "ghi_clear": cs["ghi"].to_numpy(),
            "dni_clear": cs["dni"].to_numpy(),
            "dhi_clear": cs["dhi"].to_numpy(),
            "dni_extra": np.asarray(extra, dtype=float),
        },
        index=pd.DatetimeIndex(instants),
    )
    return out


def weather_clear_sky_index(
    weather: pd.DataFrame, latitude: float, longitude: float, altitude_m: float = 0.0, sample_minutes: float = 5.0
) -> np.ndarray:
    """Clear-sky index kt = GHI / clear-sky GHI [-] of each weather interval.

    From ``ghi_w_per_m2`` (the interval mean over the mean Ineichen clear sky
    of the same interval, 0 ≤ kt ≤ 1.5, 0 with the sun down) or, without GHI,
    from ``cloud_cover_pct`` by Kasten–Czeplak.
    """
    from forecasts.weather import kasten_czeplak_clear_sky_index

    if "ghi_w_per_m2" not in weather:
        return kasten_czeplak_clear_sky_index(weather["cloud_cover_pct"].to_numpy())
    step = int(weather.attrs.get("step_minutes") or step_minutes_of(pd.DatetimeIndex(weather.index)))
    instants, n = step_sample_times(pd.DatetimeIndex(weather.index), step, sample_minutes)
    cs = solar_and_clear_sky(instants, latitude, longitude, altitude_m)["ghi_clear"].to_numpy()
    cs_mean = cs.reshape(len(weather), n).mean(axis=1)
    ghi = weather["ghi_w_per_m2"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        kt = np.where(cs_mean > 1.0, ghi / cs_mean, 0.0)
    return np.clip(kt, 0.0, 1.5)


def clear_sky_index_quantiles(kt: np.ndarray, quantiles: tuple[float, ...]) -> dict[float, np.ndarray]:
    """Quantiles of the clear-sky index [-] around a forecast ``kt`` with the [assumed] error spread.

    kt_τ = clip(kt + Φ⁻¹(τ) · σ(kt), 0, max(1.2, kt)), σ(kt) = 0.08 + 0.30 · 4 kt (1 − kt) (:data:`KT_SPREAD_CLEAR`).
    """
    from scipy.stats import norm

    k = np.clip(np.asarray(kt, dtype=float), 0.0, 1.5)
    sigma = KT_SPREAD_CLEAR + KT_SPREAD_MIXED * 4 * np.clip(k, 0, 1) * (1 - np.clip(k, 0, 1))
    top = np.maximum(k, 1.2)  # never below the forecast itself (kt > 1.2 under broken-cloud enhancement)
    return {q: np.clip(k + norm.ppf(q) * sigma, 0.0, top) for q in quantiles}


def pv_array_power_mw(
    sky: pd.DataFrame,
    clear_sky_index: np.ndarray,
    temp_air_c: np.ndarray,
    wind_speed_m_per_s: np.ndarray,
    arrays: list[PVArray],
    *,
    albedo: float = 0.2,
    system: PVSystem | None = None,
) -> dict[str, np.ndarray]:
    """Instantaneous AC power [MW] of each array at the instants of ``sky``.

    GHI = kt × clear-sky GHI; Erbs decomposition into DNI and DHI; transposition
    to each array's tilt and azimuth (``system.transposition``); SAPM cell
    temperature from POA, air temperature and wind; PVWatts DC with the
    temperature coefficient, less ``dc_loss``; PVWatts inverter with its
    efficiency curve and clipping at capacity / ``dc_ac_ratio``.
    """
    system = system or PVSystem()
    system.check()
    if not 0 <= albedo <= 1:
        raise ValueError(f"albedo must be within [0, 1], got {albedo!r}")
    zen = sky["zenith"].to_numpy()
    ghi = np.asarray(clear_sky_index, dtype=float) * sky["ghi_clear"].to_numpy()
    idx = pd.DatetimeIndex(sky.index).tz_convert("UTC")
    with _quiet_pvlib():
        erbs = pvlib.irradiance.erbs(ghi, zen, np.asarray(idx.day_of_year))
    dni = np.nan_to_num(np.asarray(erbs["dni"], dtype=float))
    dhi = np.nan_to_num(np.asarray(erbs["dhi"], dtype=float))
    params = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"][system.temperature_model]
    pac0 = 1.0 / system.dc_ac_ratio  # AC rating per MWp
    out: dict[str, np.ndarray] = {}
    per_orientation: dict[tuple[float, float], np.ndarray] = {}
    for a in arrays:
        if not (math.isfinite(a.capacity_mw) and a.capacity_mw >= 0):
            raise ValueError(f"array {a.id}: capacity_mw must be a finite number >= 0 [MWp], got {a.capacity_mw!r}")
        if not 0 <= a.tilt_deg <= 90 or not 0 <= a.azimuth_deg <= 360:
            raise ValueError(f"array {a.id}: tilt_deg within [0, 90] and azimuth_deg within [0, 360] expected")
        key = (a.tilt_deg, a.azimuth_deg)
        if key not in per_orientation:
            poa = pvlib.irradiance.get_total_irradiance(
                surface_tilt=a.tilt_deg,
                surface_azimuth=a.azimuth_deg,
                solar_zenith=sky["apparent_zenith"].to_numpy(),
                solar_azimuth=sky["azimuth"].to_numpy(),
                dni=dni,
                ghi=ghi,
                dhi=dhi,
                dni_extra=sky["dni_extra"].to_numpy(),
                albedo=albedo,
                model=system.transposition,
            )["poa_global"]
            poa = np.clip(np.nan_to_num(np.asarray(poa, dtype=float)), 0.0, None)
            poa[sky["apparent_zenith"].to_numpy() >= 90.0] = 0.0
            t_cell = pvlib.temperature.sapm_cell(poa, temp_air_c, wind_speed_m_per_s, **params)
            pdc = pvlib.pvsystem.pvwatts_dc(poa, t_cell, 1.0, system.gamma_pdc_per_c) * (1 - system.dc_loss)
            pac = pvlib.inverter.pvwatts(
                np.asarray(pdc, dtype=float), pac0 / system.inverter_efficiency, system.inverter_efficiency
            )
            per_orientation[key] = np.clip(np.nan_to_num(np.asarray(pac, dtype=float)), 0.0, pac0)
        out[a.id] = per_orientation[key] * a.capacity_mw
    return out


def pv_from_weather_mw(
    timestamps: pd.DatetimeIndex,
    weather: pd.DataFrame,
    arrays: list[PVArray],
    latitude: float,
    longitude: float,
    *,
    altitude_m: float = 0.0,
    albedo: float = 0.2,
    system: PVSystem | None = None,
    quantiles: tuple[float, ...] | None = None,
    step_minutes: float | None = None,
    sample_minutes: float = 5.0,
) -> pd.DataFrame:
    """Mean AC power [MW] of each array over each step, from a weather forecast.

    ``weather`` is a checked forecast (:func:`forecasts.weather.read_weather`)
    covering the steps, at its own step (15–60 min). Its clear-sky index is
    held over each weather interval and multiplied by the clear sky at 5-minute
    sub-samples of every step (so hourly weather gives a smooth 15-minute
    curve); air temperature and wind are held over their interval. Then the
    chain of :func:`pv_array_power_mw`, averaged over each step.

    Returns a DataFrame indexed by ``timestamps``, one column per array id
    [MW]; with ``quantiles`` the columns are a MultiIndex (array id, quantile)
    from :func:`clear_sky_index_quantiles` (the median being the forecast itself
    when 0.5 is among them).
    """
    idx = _check_timestamps(timestamps)
    instants, n = step_sample_times(idx, step_minutes, sample_minutes)
    widx = pd.DatetimeIndex(weather.index)
    wstep = pd.Timedelta(minutes=int(weather.attrs.get("step_minutes") or step_minutes_of(widx)))
    pos = widx.searchsorted(instants, side="right") - 1
    if (pos < 0).any() or (instants >= widx[np.clip(pos, 0, None)] + wstep).any():
        raise ValueError(
            f"the weather forecast ({widx[0].isoformat()} to {(widx[-1] + wstep).isoformat()}) does not cover "
            f"the steps {idx[0].isoformat()} to {(idx[-1] + (instants[-1] - instants[-n]) * 2).isoformat()}"
        )
    kt_w = weather_clear_sky_index(weather, latitude, longitude, altitude_m)
    temp = weather["temp_air_c"].to_numpy(dtype=float)[pos]
    wind = weather["wind_speed_m_per_s"].to_numpy(dtype=float)[pos]
    sky = solar_and_clear_sky(instants, latitude, longitude, altitude_m)
    kt = kt_w[pos]
    levels: dict[object, np.ndarray] = {None: kt} if quantiles is None else dict(clear_sky_index_quantiles(kt, quantiles))
    if quantiles is not None and 0.5 in quantiles:
        levels[0.5] = kt
    columns: dict[object, np.ndarray] = {}
    for level, k in levels.items():
        power = pv_array_power_mw(sky, k, temp, wind, arrays, albedo=albedo, system=system)
        for a in arrays:
            key = a.id if level is None else (a.id, level)
            columns[key] = power[a.id].reshape(len(idx), n).mean(axis=1)
    frame = pd.DataFrame(columns, index=idx)
    if quantiles is not None:
        frame.columns = pd.MultiIndex.from_tuples(list(columns), names=["array", "quantile"])
    return frame


def pv_from_clear_sky_index_mw(
    timestamps: pd.DatetimeIndex,
    clear_sky_index: float | np.ndarray,
    arrays: list[PVArray],
    latitude: float,
    longitude: float,
    *,
    temp_air_c: float = 20.0,
    wind_speed_m_per_s: float = 1.0,
    altitude_m: float = 0.0,
    albedo: float = 0.2,
    system: PVSystem | None = None,
    step_minutes: float | None = None,
    sample_minutes: float = 5.0,
) -> pd.DataFrame:
    """Mean AC power [MW] per array with no weather forecast: clear sky × a clear-sky index.

    The fallback of the weather chain: ``clear_sky_index`` [-] (one number, or
    one per step) scales the Ineichen clear-sky GHI; the rest of the chain is
    :func:`pv_array_power_mw` at a constant air temperature and wind.
    """
    idx = _check_timestamps(timestamps)
    instants, n = step_sample_times(idx, step_minutes, sample_minutes)
    kt = np.asarray(clear_sky_index, dtype=float)
    kt = np.repeat(kt, n) if kt.ndim == 1 else np.full(len(instants), float(kt))
    sky = solar_and_clear_sky(instants, latitude, longitude, altitude_m)
    power = pv_array_power_mw(
        sky, kt, np.full(len(instants), temp_air_c), np.full(len(instants), wind_speed_m_per_s), arrays,
        albedo=albedo, system=system,
    )
    return pd.DataFrame({a.id: power[a.id].reshape(len(idx), n).mean(axis=1) for a in arrays}, index=idx)


def recent_clear_sky_index(
    history_mw: pd.Series, clear_sky_mw: pd.Series, before: pd.Timestamp, days: int = 7
) -> float | None:
    """Measured / clear-sky energy [-] over the ``days`` days before ``before`` (None without data).

    ``clear_sky_mw`` is the same fleet under clear sky (kt = 1), on the same
    index. Steps with a missing measurement are left out of both sums.
    """
    window = (history_mw.index < before) & (history_mw.index >= before - pd.Timedelta(days=days))
    h = history_mw[window]
    c = clear_sky_mw.reindex(h.index)
    ok = h.notna() & c.notna()
    if ok.sum() == 0 or c[ok].sum() <= 0:
        return None
    return float(h[ok].sum() / c[ok].sum())
