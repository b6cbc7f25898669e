"""A seeded generator of realistic VPP cases, scaled along each axis independently.

Axes of :class:`Scale`:

- the network: ``substations`` nodes in a two-level tree below the root
  (one 110 kV node for every three substations, the others as 35 kV nodes
  below them), with branch limits sized from the load they feed;
- the number of assets of each type (``pv``, ``loads``, ``batteries``,
  ``curtailable``, ``shiftable``, ``flexible``, ``thermal``, ``contracts``),
  spread round-robin over the nodes;
- the horizon, ``days`` (1–7), and the resolution, ``step_minutes`` (5, 15, 60);
- which features are on: ``binaries`` (features that need binaries: shiftable
  runs, curtailment with a minimum duration and an event limit, optional
  contracts and events, import/export exclusivity through ``export``),
  ``events`` (an evening demand-response event a day), ``green_share``
  (a renewable-share target), ``export`` (export allowed at a sell price) and
  ``regulation`` (every battery offers frequency regulation in hourly blocks,
  paid for capacity and mileage, with an aggregate minimum offer: model.md §5.4).

The shapes are those of the built-in TEDA east case — pvlib clear sky at TEDA,
the documented district load, the Tianjin time-of-use prices — scaled per
asset and perturbed by seeded noise, so the same ``Scale`` and ``seed`` always
give the same case. Every case is canonical (``shared/spec/model.md``): any
tool can solve the JSON that :meth:`Case.to_json` writes.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from forecasts.load import district_load_mw
from forecasts.pv import clear_sky_pv_mw
from vpp.case import Case, load_case
from vpp.tariffs import tianjin_tou_prices

LATITUDE, LONGITUDE = 39.03, 117.72
START = dt.date(2026, 7, 13)  # a Monday in summer: critical-peak prices apply
PEAK_MW_PER_SUBSTATION = 60.0  # district load at a substation's plateau [MW]


@dataclass(frozen=True)
class Scale:
    """The size and features of a generated case (see the module docstring)."""

    substations: int = 4
    pv: int = 4
    loads: int = 4
    batteries: int = 4
    curtailable: int = 1
    shiftable: int = 1
    flexible: int = 1
    thermal: int = 1
    contracts: int = 2
    days: int = 1
    step_minutes: int = 15
    binaries: bool = True
    events: bool = True
    green_share: bool = False
    export: bool = False
    regulation: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.days <= 7:
            raise ValueError(f"days: expected 1 to 7, got {self.days}")
        if self.step_minutes <= 0 or 1440 % self.step_minutes:
            raise ValueError(f"step_minutes: expected a divisor of 1440 such as 5, 15 or 60, got {self.step_minutes}")
        if self.substations < 0:
            raise ValueError(f"substations: expected >= 0, got {self.substations}")
        for name in ("pv", "loads", "batteries", "curtailable", "shiftable", "flexible", "thermal", "contracts"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name}: expected >= 0, got {getattr(self, name)}")

    @property
    def assets(self) -> int:
        return (self.pv + self.loads + self.batteries + self.curtailable + self.shiftable
                + self.flexible + self.thermal + self.contracts)

    @property
    def steps(self) -> int:
        return self.days * 1440 // self.step_minutes

    def label(self) -> str:
        feats = "".join(
            c for c, on in (("b", self.binaries), ("e", self.events), ("g", self.green_share), ("x", self.export),
                            ("f", self.regulation)) if on
        )
        return f"gen-s{self.substations}-a{self.assets}-d{self.days}-m{self.step_minutes}-{feats or 'plain'}-r{self.seed}"

    def with_(self, **changes: Any) -> Scale:
        return replace(self, **changes)


def _r(x: np.ndarray) -> list[float]:
    return [round(float(v), 4) for v in x]


def _reachable_share(assets: list[dict[str, Any]], steps: int, dt_h: float) -> float:
    """A renewable-share target that binds but can be met.

    60 % of what PV and the contracts could cover of the most that the green
    share's consumption could be: fixed loads, curtailable demand before any
    reduction, shiftable runs, flexible energy, and chillers serving all their
    thermal demand (over the COP, with a fifth more for losses).
    """

    def energy_mwh(series: Any) -> float:
        return float(np.broadcast_to(np.asarray(series, dtype=float), (steps,)).sum()) * dt_h

    renewable = sum(energy_mwh(a["available_mw"]) for a in assets if a["type"] in ("pv", "green_contract"))
    consumption = 0.0
    for a in assets:
        if a["type"] in ("load", "curtailable_load"):
            consumption += energy_mwh(a["demand_mw"])
        elif a["type"] == "shiftable_load":
            consumption += float(np.sum(a["profile_mw"])) * dt_h
        elif a["type"] == "flexible_load":
            consumption += a["energy_mwh"]
        elif a["type"] == "thermal_storage":
            consumption += 1.2 * energy_mwh(a["thermal_demand_mw"]) / a["cop"]
    return round(min(0.5, 0.6 * renewable / consumption), 4) if consumption > 0 else 0.0


def _regulation(scale: Scale, assets: list[dict[str, Any]], rng: np.random.Generator) -> dict[str, Any]:
    """A frequency-regulation market for the case's batteries, which all take part (§5.4).

    The TEDA east market's mileage terms (6 CNY/MW, 3 MW/MW·h), a capacity price of
    10 CNY/MW·h (as where capacity is paid), hourly blocks, and a minimum aggregate
    offer of a fifth of the batteries' power; each battery's performance index is
    drawn in [1.5, 2.5]. Drawn after everything else, so the rest of the case is the
    one without regulation.
    """
    batteries = [a for a in assets if a["type"] == "battery"]
    for a in batteries:
        a["regulation"] = True
        a["regulation_performance"] = round(float(rng.uniform(1.5, 2.5)), 2)
    return {
        "capacity_price_cny_per_mw_h": 10.0, "mileage_price_cny_per_mw": 6.0, "mileage_mw_per_mw_h": 3.0,
        "deployment_fraction": 0.1, "duration_h": 0.25, "block_steps": max(1, 60 // scale.step_minutes),
        "min_offer_mw": round(0.2 * sum(a["power_mw"] for a in batteries), 3),
    }


def generate(scale: Scale) -> Case:
    """The case of ``scale``: same scale, same case."""
    rng = np.random.default_rng(scale.seed)
    n, m = scale.steps, scale.step_minutes
    dt_h = m / 60.0
    start = pd.Timestamp(START.isoformat(), tz="Asia/Shanghai")
    ts = pd.date_range(start, periods=n, freq=pd.Timedelta(minutes=m))
    steps_per_day = 1440 // m

    # Network: every third substation is a 110 kV node under the root; the others hang below one.
    nodes: list[dict[str, Any]] = []
    upper: list[str] = []
    for i in range(scale.substations):
        if i % 3 == 0:
            nid = f"s110-{i // 3 + 1}"
            nodes.append({"id": nid, "parent": "grid"})
            upper.append(nid)
        else:
            nid = f"s35-{i + 1}"
            nodes.append({"id": nid, "parent": upper[-1]})
    node_ids = [x["id"] for x in nodes] or ["grid"]

    def place(k: int) -> str:
        return node_ids[k % len(node_ids)]

    base_load = district_load_mw(ts, 1.0, step_minutes=m)  # p.u. of a plateau
    pv_pu = clear_sky_pv_mw(ts, LATITUDE, LONGITUDE, 1.0, step_minutes=m)
    weather = np.clip(1 + 0.15 * np.repeat(rng.standard_normal(scale.days), steps_per_day), 0.5, 1.1)
    total_peak = PEAK_MW_PER_SUBSTATION * max(scale.substations, 1)

    assets: list[dict[str, Any]] = []
    load_at: dict[str, np.ndarray] = {nid: np.zeros(n) for nid in node_ids}
    for k in range(scale.loads):
        share = total_peak / max(scale.loads, 1) * rng.uniform(0.8, 1.2)
        noise = 1 + 0.03 * rng.standard_normal(n)
        demand = np.clip(base_load * share * noise, 0, None)
        node = place(k)
        load_at[node] += demand
        assets.append({"id": f"load-{k + 1}", "type": "load", "node": node, "demand_mw": _r(demand)})
    for k in range(scale.pv):
        cap = 0.5 * total_peak / max(scale.pv, 1) * rng.uniform(0.7, 1.3)
        assets.append({"id": f"pv-{k + 1}", "type": "pv", "node": place(k), "available_mw": _r(pv_pu * cap * weather)})
    for k in range(scale.batteries):
        power = round(0.05 * total_peak / max(scale.batteries, 1) * rng.uniform(0.8, 1.2), 3)
        assets.append({
            "id": f"bess-{k + 1}", "type": "battery", "node": place(k), "power_mw": power,
            "energy_mwh": round(2 * power, 3), "charge_efficiency": 0.92, "discharge_efficiency": 0.92,
            "degradation_cny_per_mwh": 20.0,
        })
    for k in range(scale.curtailable):
        demand = round(0.05 * total_peak * rng.uniform(0.8, 1.2), 3)
        item: dict[str, Any] = {
            "id": f"plant-{k + 1}", "type": "curtailable_load", "node": place(k), "demand_mw": demand,
            "max_reduction_mw": round(0.6 * demand, 3), "cost_cny_per_mwh": round(float(rng.uniform(700, 1100)), 1),
        }
        if scale.binaries:
            item.update(min_duration_steps=max(1, 60 // m), max_events=scale.days)
        assets.append(item)
    for k in range(scale.shiftable if scale.binaries else 0):
        run_steps = max(1, 120 // m)
        profile = np.round(rng.uniform(1.0, 3.0) * np.linspace(1.0, 0.6, run_steps), 3)
        assets.append({"id": f"batch-{k + 1}", "type": "shiftable_load", "node": place(k),
                       "profile_mw": [float(x) for x in profile], "earliest_start": 0,
                       "latest_end": min(n, steps_per_day)})
    for k in range(scale.flexible):
        max_mw = round(float(rng.uniform(2, 6)), 3)
        energy = round(max_mw * 6 * scale.days * rng.uniform(0.5, 0.9), 3)
        assets.append({"id": f"ev-{k + 1}", "type": "flexible_load", "node": place(k), "max_power_mw": max_mw,
                       "energy_mwh": energy,
                       "requirements": [{"by_step": min(n, 8 * 60 // m), "energy_mwh": round(min(energy, max_mw * 4) * 0.5, 3)}]})
    for k in range(scale.thermal):
        hours = ((ts.hour + ts.minute / 60 - 14) / 24) * 2 * math.pi
        cooling = np.clip(0.5 + 0.5 * np.cos(hours), 0, None) * rng.uniform(3, 8)
        assets.append({"id": f"ice-{k + 1}", "type": "thermal_storage", "node": place(k),
                       "max_power_mw": round(float(cooling.max()) / 2.5, 3), "cop": 3.0,
                       "thermal_demand_mw": _r(cooling), "capacity_mwh_th": round(float(cooling.max()) * 6, 3),
                       "loss_per_hour": 0.01})
    for k in range(scale.contracts):
        avail = pv_pu * rng.uniform(5, 15) * weather if k % 2 == 0 else np.full(n, rng.uniform(2, 5))
        assets.append({"id": f"green-{k + 1}", "type": "green_contract", "available_mw": _r(avail),
                       "price_cny_per_mwh": round(float(rng.uniform(600, 700)), 1),
                       "fixed_cny": round(float(rng.uniform(0, 500)), 1) * scale.days,
                       "optional": scale.binaries})

    for node in nodes:  # branch limits: what the subtree's load needs, with a margin that sometimes binds
        below = [x["id"] for x in nodes if x["id"] == node["id"] or x.get("parent") == node["id"]]
        need = sum(load_at[b].max() for b in below)
        node["capacity_mw"] = round(float(need * rng.uniform(0.95, 1.3)) + 1.0, 3)

    buy = tianjin_tou_prices(ts, step_minutes=m)
    grid: dict[str, Any] = {
        "import_max_mw": round(total_peak * 1.5, 1),
        "export_max_mw": round(0.2 * total_peak, 1) if scale.export else 0.0,
        "buy_cny_per_mwh": _r(buy),
        "sell_cny_per_mwh": 300.0 if scale.export else 0.0,
        "emission_t_per_mwh": 0.6361,
    }
    events = []
    if scale.events:
        for d in range(scale.days):
            s = d * steps_per_day + 20 * 60 // m
            e = d * steps_per_day + 22 * 60 // m
            baseline = sum(load_at.values())
            events.append({"id": f"dr-day{d + 1}", "start_step": s, "end_step": e, "baseline_mw": _r(baseline),
                           "reduction_mw": round(0.05 * total_peak, 3), "price_cny_per_mwh": 2000.0,
                           "shortfall_penalty_cny_per_mwh": 3000.0, "optional": scale.binaries})
    regulation = _regulation(scale, assets, rng) if scale.regulation else None
    data = {
        "name": scale.label(),
        "start": start.isoformat(),
        "step_minutes": m,
        "steps": n,
        "green_share_min": _reachable_share(assets, n, dt_h) if scale.green_share else None,
        "network": {"root": "grid", "nodes": nodes},
        "grid": grid,
        "assets": assets,
        "demand_response": events,
        "regulation": regulation,
        "meta": {"generator": "benchmarks.generator", "scale": asdict(scale), "synthetic": True},
    }
    return load_case(data)
