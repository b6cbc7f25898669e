"""The colours and labels of the day's charts and tables, defined once.

``dispatch.png`` and ``typical_day.png`` (:mod:`vpp.plot`), the console
summary (:mod:`vpp.cli`) and the service's page (``api/static/palette.js``,
generated from this module by ``python -m vpp.palette``) all read them, so an
asset has the same colour and a cost term the same name wherever it is shown.
The colours read on the page's dark background and on the PNGs' white one.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path

SERIES: dict[str, tuple[str, str]] = {
    # supply, stacked up from zero
    "pv": ("PV used", "#f2b701"),
    "battery_discharge": ("battery discharge", "#3cb44b"),
    "grid": ("grid import", "#8c9aa8"),
    "green": ("green contracts", "#a5d96a"),
    "unserved": ("unserved", "#e53935"),
    # demand, stacked down from zero
    "load": ("fixed load", "#5b8ff9"),
    "curtailable_load": ("curtailable load", "#76b7b2"),
    "shiftable_load": ("shiftable load", "#c49c6b"),
    "flexible_load": ("EV / flexible load", "#c678dd"),
    "thermal_storage": ("chillers / heaters", "#26c6da"),
    "battery_charge": ("battery charge", "#1e8449"),
    "export": ("export", "#f28e2b"),
    # lines and shading
    "pv_available": ("PV available", "#e37400"),
    "buy": ("buy price", "#ff7043"),
    "sell": ("sell price", "#42a5f5"),
    "demand_response": ("demand-response window", "#ffaa3c"),
    # the regulating batteries' panel
    "battery_net": ("batteries' net power", "#2e7d32"),
    "regulation": ("regulation band (± offer)", "#ab47bc"),
    "power_limit": ("batteries' power limits", "#8c9aa8"),
}
"""Role → (label, colour) of each series of the day's charts."""

BATTERIES = ("#3cb44b", "#4363d8", "#f58231", "#911eb4", "#e6194b", "#bcbd22", "#9a6324", "#808000")
"""The colours of the batteries' lines, one per battery in the case's order (repeating after eight)."""

COST_TERMS: dict[str, str] = {
    "energy": "grid energy",
    "export": "export revenue",
    "carbon": "carbon price",
    "demand": "demand charge",
    "unserved": "unserved energy (at VOLL)",
    "unserved_thermal": "unserved heating / cooling",
    "degradation": "battery wear",
    "curtailment": "PV curtailment",
    "load_curtailment": "load curtailment",
    "green_energy": "green contracts: energy",
    "green_fixed": "green contracts: fixed fees",
    "dr_revenue": "demand-response payment",
    "dr_penalty": "demand-response shortfall penalty",
    "deviation": "deviation from the declared plan",
    "load_curtailment_start": "load curtailment restarts",
    "thermal_final_shortfall": "thermal store short at the end",
    "regulation_capacity": "regulation capacity payment",
    "regulation_mileage": "regulation mileage payment",
    "cvar": "risk (CVaR) term",
}
"""Cost term of the summary's ``cost_cny`` → the words shown for it."""

BILL: dict[str, str] = {
    "energy_cny": "energy at the time-of-use price",
    "green_premium_cny": "green power premium",
    "maximum_demand_cny": "maximum demand",
    "demand_response_revenue_cny": "demand response paid",
    "demand_response_penalty_cny": "demand response shortfall",
    "deviation_cny": "deviations from the plan",
    "regulation_revenue_cny": "frequency regulation paid",
    "export_revenue_cny": "export paid",
    "carbon_cny": "carbon price",
    "flexibility_cny": "flexibility used (wear, curtailment)",
    "unserved_cny": "not served (at VOLL)",
    "risk_cny": "risk (CVaR) term",
}
"""Group of the summary's ``bill_cny`` → the words shown for it."""


def colour(role: str) -> str:
    return SERIES[role][1]


def label(role: str) -> str:
    return SERIES[role][0]


def cost_label(term: str) -> str:
    """The words for a cost term (its name with spaces when it has none yet)."""
    return COST_TERMS.get(term, term.replace("_", " "))


def storage_colours(assets: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Asset id → colour of its storage line, from (id, type) in the case's order.

    The i-th battery takes ``BATTERIES[i]``; a thermal store takes the colour of
    the chillers and heaters that charge it.
    """
    out: dict[str, str] = {}
    batteries = 0
    for asset_id, kind in assets:
        if kind == "battery":
            out[asset_id] = BATTERIES[batteries % len(BATTERIES)]
            batteries += 1
        elif kind == "thermal_storage":
            out[asset_id] = colour("thermal_storage")
    return out


STATIC_FILE = Path(__file__).resolve().parents[1] / "api" / "static" / "palette.js"


def javascript() -> str:
    """The page's copy of this module (``api/static/palette.js``)."""
    data = {"series": {k: {"label": v[0], "colour": v[1]} for k, v in SERIES.items()},
            "batteries": list(BATTERIES), "cost_terms": COST_TERMS, "bill": BILL}
    return (
        "// Generated from vpp/palette.py by `python -m vpp.palette`: edit that file, not this one.\n"
        f"window.VPP_PALETTE = {json.dumps(data, indent=1, ensure_ascii=False)};\n"
    )


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else STATIC_FILE
    target.write_text(javascript(), encoding="utf-8")
    print(f"wrote {target}")
