"""Storage sizing for planners: a year of days, the economics, scale-out on Dask.

``run_sizing_request(params)`` runs a :class:`SizingRequest` (a dict, as a
worker receives it) and returns ``sizing.json``'s content. ``vpp size`` is the
command (:mod:`vpp.sizing_cli`); :mod:`vpp.sizing.study` the flow;
:mod:`vpp.sizing.year` the days; :mod:`vpp.sizing.typical` the typical days;
:mod:`vpp.sizing.runner` serial and Dask execution;
:mod:`vpp.sizing.economics` the money; :mod:`models.sizing` the co-optimisation.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vpp.sizing.schema import SizingRequest

__all__ = ["SizingRequest", "run_sizing_request", "write_outputs"]


def write_outputs(result: Any, out_dir: str | Path, plots: bool = True) -> dict[str, Path]:
    """Write the tables (CSV and Parquet), ``sizing.json`` and the plots of a study into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for name, frame in (("sweep", result.points), ("days", result.days), ("monthly", result.monthly)):
        paths[f"{name}.csv"] = out / f"{name}.csv"
        frame.to_csv(paths[f"{name}.csv"], index=False, float_format="%.10g")
        paths[f"{name}.parquet"] = out / f"{name}.parquet"
        frame.to_parquet(paths[f"{name}.parquet"], index=False)
    paths["sizing.json"] = out / "sizing.json"
    paths["sizing.json"].write_text(json.dumps(result.summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if plots:
        from vpp.sizing.plots import (
            plot_monthly,
            plot_npv_curve,
            plot_saving_by_source,
            plot_tornado,
            plot_typical_day,
            plot_value_heatmap,
        )

        rec = result.summary["recommended"]
        if (result.points["point"] != 0).any():
            paths["value_vs_size.png"] = plot_value_heatmap(result.points[result.points["on_grid"]], out / "value_vs_size.png", (rec["power_mw"], rec["energy_mwh"]))
        if result.summary.get("npv_against_size"):
            over = "full year" if result.summary["sweep"]["plan"] == "year" else "typical days"
            paths["npv_vs_size.png"] = plot_npv_curve(result.summary["npv_against_size"], out / "npv_vs_size.png", rec,
                                                      result.summary.get("plan"), over)
        if result.summary.get("saving_by_source"):
            paths["saving_by_source.png"] = plot_saving_by_source(result.summary["saving_by_source"], out / "saving_by_source.png")
        if (result.summary.get("tornado") or {}).get("bars"):
            paths["tornado.png"] = plot_tornado(result.summary["tornado"], out / "tornado.png")
        labels = {0: "without storage", 1: f"with {rec['power_mw']:.1f} MW / {rec['energy_mwh']:.1f} MWh"}
        monthly = result.monthly
        if set(monthly["point"].unique()) - {0, 1}:  # a sweep over the full year: show no storage and the best point
            best = int(result.points.sort_values("total_cost_cny_per_year").iloc[0]["point"])
            monthly = monthly[monthly["point"].isin([0, best])].replace({"point": {best: 1}})
        if len(monthly):
            paths["monthly_cost.png"] = plot_monthly(monthly, labels, out / "monthly_cost.png", f"{result.summary['case']} {result.summary['year']}: monthly cost with and without storage")
        if result.typical_dispatch is not None:
            paths["typical_day.png"] = plot_typical_day(result.typical_dispatch, out / "typical_day.png")
    return paths


def run_sizing_request(params: dict[str, Any]) -> dict[str, Any]:
    """Run a sizing request (``SizingRequest`` fields as a dict) and return ``sizing.json``'s content.

    For the service's worker: plain data in, plain JSON-serialisable data out.
    ``scheduler`` in ``params`` picks serial, a local Dask cluster (default) or
    an existing one; a worker that is itself a daemonic process (which may not
    start worker processes of its own) should pass ``"serial"`` or the
    address of a running cluster. Raises :class:`vpp.errors.CaseError` (with every problem)
    for a bad request, ``pydantic.ValidationError`` for a malformed one.
    """
    from vpp.sizing.runner import Runner
    from vpp.sizing.study import run_study

    req = SizingRequest.model_validate(params)
    with Runner(req.scheduler, req.workers) as runner:
        result = run_study(req, runner)
    return result.summary
