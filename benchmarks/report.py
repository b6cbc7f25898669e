"""Write a suite's results: ``bench.csv``, ``bench.md`` with the targets, and the plots."""

from __future__ import annotations

import json
import math
import os
import platform
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

TEDA = "teda-east-2026-07-15"
NO_REGULATION = "/no-regulation"  # the suffix of a case run without its regulation market (benchmarks.runner)


def _fmt(x: Any, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x:.{digits}f}"


def targets(table: pd.DataFrame) -> list[tuple[str, str, bool | None]]:
    """The issue's targets, as (target, measured, met) — met is None when not measured in this suite."""
    out: list[tuple[str, str, bool | None]] = []
    ok = table[table["status"].isin(["optimal", "feasible"])]
    prod = ok[ok["arm"] == "product"].set_index("case")
    if TEDA in prod.index:
        r = prod.loc[TEDA]
        bs = r["build_s"] + r["handover_s"] + r["solve_s"]
        out.append(("TEDA east day: build + solve < 1 s at the default gap",
                    f"{bs:.3f} s (build {r['build_s']:.3f} + hand-over {r['handover_s']:.3f} + solve {r['solve_s']:.3f})",
                    bool(bs < 1.0)))
    if len(prod):
        over, solve = prod["overhead_s"].sum(), prod["solve_s"].sum()
        ratio = over / solve if solve > 0 else math.inf
        out.append(("modelling overhead < 30 % of HiGHS's solve time (all cases of the suite together)",
                    f"{100 * ratio:.0f} % ({over:.3f} s of build, hand-over and extraction against {solve:.3f} s of solve)",
                    bool(ratio < 0.3)))
    pyomo = ok[ok["arm"] == "product-pyomo"]
    if len(pyomo):
        over, solve = pyomo["overhead_s"].sum(), pyomo["solve_s"].sum()
        out.append(("(for comparison, no target) the same through the Pyomo model (--engine pyomo)",
                    f"{100 * over / solve:.0f} % ({over:.3f} s against {solve:.3f} s of solve)" if solve > 0 else "–",
                    None))
    pyp = ok[ok["arm"] == "pypsa"].set_index("case")
    common = [c for c in pyp.index if c in prod.index]
    if common:
        faster = [c for c in common if prod.loc[c, "total_s"] < pyp.loc[c, "total_s"]]
        detail = ", ".join(f"{c}: {prod.loc[c, 'total_s']:.3f} s vs {pyp.loc[c, 'total_s']:.3f} s" for c in common)
        out.append(("faster than PyPSA on every case both can express", f"{len(faster)} of {len(common)} ({detail})",
                    len(faster) == len(common)))
    pairs = regulation_pairs(table)
    mine = pairs[pairs["arm"] == "product"]
    if len(mine):
        detail = ", ".join(f"{r['case']}: {r['total_with_s']:.3f} s vs {r['total_without_s']:.3f} s" for _, r in mine.iterrows())
        out.append(("(no target) frequency regulation: the product's total time with and without it on the same cases",
                    detail, None))
    for arm in ("product", "decomposition", "decomposition-2w"):
        twenty = ok[(ok["case"] == STOCHASTIC_20) & (ok["arm"] == arm)]
        if len(twenty):
            r = twenty.iloc[0]
            met = bool(r["mip_gap"] is not None and r["mip_gap"] <= 1e-3 + 1e-12 and r["total_s"] <= 60.0)
            out.append((f"20-scenario TEDA day within 60 s at a gap of 1e-3 ({arm})",
                        f"{r['status']}, gap {_fmt(r.get('mip_gap'), 6)}, {_fmt(r['total_s'], 1)} s", met))
    speedups = _speedups(ok)
    if speedups:
        out.append(("(no target) scenario decomposition against the extensive form, same cases",
                    "; ".join(speedups), None))
    big = table[(table["case"] == "target-7days-15min-50assets") & (table["arm"] == "product")]
    if len(big):
        r = big.iloc[0]
        met = r["status"] in ("optimal", "feasible")
        out.append(("7-day, 15-minute, 50-asset case solved within its time limit, gap reported",
                    f"{r['status']}, gap {_fmt(r.get('mip_gap'), 6)}, solve {_fmt(r.get('solve_s'))} s", bool(met)))
    return out


def regulation_pairs(table: pd.DataFrame) -> pd.DataFrame:
    """Each case with a regulation market beside the same case without it (``<case>/no-regulation``), per arm.

    Columns: case, arm, total and solve times [s] with and without, binaries with and without,
    both objectives [CNY] and the regulation's net value (objective without − with).
    """
    columns = ["case", "arm", "total_with_s", "total_without_s", "solve_with_s", "solve_without_s",
               "binaries_with", "binaries_without", "objective_with_cny", "objective_without_cny", "net_value_cny"]
    ok = table[table["status"].isin(["optimal", "feasible"])].set_index(["case", "arm"])
    rows = []
    for (case, arm), r in ok.iterrows():
        twin = (case + NO_REGULATION, arm)
        if case.endswith(NO_REGULATION) or twin not in ok.index:
            continue
        t = ok.loc[twin]
        rows.append([case, arm, r["total_s"], t["total_s"], r["solve_s"], t["solve_s"], int(r["binaries"]),
                     int(t["binaries"]), r["objective_cny"], t["objective_cny"], t["objective_cny"] - r["objective_cny"]])
    return pd.DataFrame(rows, columns=columns)


STOCHASTIC_20 = "teda-east-2026-07-15-20-scenarios"


def _speedups(ok: pd.DataFrame) -> list[str]:
    """Extensive form's time over each decomposition arm's, per number of scenarios, with both gaps
    (and the same for CPU time where it was measured)."""
    out = []
    ef = ok[ok["arm"] == "product"].set_index("case")
    for arm in ("decomposition", "decomposition-2w"):
        dec = ok[ok["arm"] == arm].set_index("case")
        for case in [c for c in dec.index if c in ef.index]:
            a, b = ef.loc[case], dec.loc[case]
            cpu = ""
            if _number(a.get("cpu_s")) and _number(b.get("cpu_s")):
                cpu = f"; CPU ×{a['cpu_s'] / b['cpu_s']:.2f} ({_fmt(a['cpu_s'], 1)} → {_fmt(b['cpu_s'], 1)} s)"
            out.append(f"{case.removeprefix('teda-east-2026-07-15-')} {arm}: ×{a['total_s'] / b['total_s']:.2f} "
                       f"({_fmt(a['total_s'], 1)} s gap {_fmt(a['mip_gap'], 4)} → {_fmt(b['total_s'], 1)} s "
                       f"gap {_fmt(b['mip_gap'], 4)}){cpu}")
    return out


def _number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x) and x > 0


def markdown(table: pd.DataFrame, missing: dict[str, str], title: str) -> str:
    lines = [f"# {title}", "",
             f"Machine: {platform.machine()}, Python {platform.python_version()}; times in seconds, "
             "median of the timed runs [min–max]; peak memory above the process's baseline.", ""]
    lines += ["## Targets", "", "| target | measured | met |", "|---|---|---|"]
    for name, measured, met in targets(table):
        lines.append(f"| {name} | {measured} | {'yes' if met else 'no' if met is not None else '–'} |")
    lines += ["", "## Every case and arm", "",
              "| case | arm | status | objective [CNY] | gap | agrees | vars | bins | nnz | build | hand-over | solve | extract | total | overhead / solve | mem [MiB] |",
              "|---|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for _, r in table.iterrows():
        if r["status"] == "unsupported":
            lines.append(f"| {r['case']} | {r['arm']} | unsupported: {r['note']} |" + " |" * 13)
            continue
        ratio = r["overhead_s"] / r["solve_s"] if r.get("solve_s") else math.nan
        lines.append(
            f"| {r['case']} | {r['arm']} | {r['status']} | {_fmt(r.get('objective_cny'), 2)} | {_fmt(r.get('mip_gap'), 6)} "
            f"| {r.get('agrees')} | {int(r.get('variables') or 0)} | {int(r.get('binaries') or 0)} | {int(r.get('nonzeros') or 0)} "
            f"| {_fmt(r['build_s'])} | {_fmt(r['handover_s'])} | {_fmt(r['solve_s'])} | {_fmt(r['extract_s'])} "
            f"| {_fmt(r['total_s'])} [{_fmt(r['total_min_s'])}–{_fmt(r['total_max_s'])}] | {_fmt(ratio, 2)} | {_fmt(r.get('peak_mem_mib'), 0)} |"
        )
    pairs = regulation_pairs(table)
    if len(pairs):
        lines += ["", "## Frequency regulation: the same cases with and without it", "",
                  "The regulation's net value is the objective without it less the objective with it; each "
                  "solve is within its own gap.", "",
                  "| case | arm | total with | total without | × | solve with | solve without | bins with | bins without "
                  "| objective with [CNY] | objective without [CNY] | net value [CNY] |",
                  "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for _, r in pairs.iterrows():
            ratio = r["total_with_s"] / r["total_without_s"] if r["total_without_s"] > 0 else math.nan
            lines.append(
                f"| {r['case']} | {r['arm']} | {_fmt(r['total_with_s'])} | {_fmt(r['total_without_s'])} | {_fmt(ratio, 1)} "
                f"| {_fmt(r['solve_with_s'])} | {_fmt(r['solve_without_s'])} | {r['binaries_with']} | {r['binaries_without']} "
                f"| {_fmt(r['objective_with_cny'], 2)} | {_fmt(r['objective_without_cny'], 2)} | {_fmt(r['net_value_cny'], 2)} |")
    if "cpu_s" in table and table["cpu_s"].notna().any():
        lines += ["", "## CPU time and machine load", "",
                  f"The machine has {os.cpu_count()} cores{SHARED}. CPU time counts every process that worked on "
                  "a run (HiGHS, and the Dask workers of `decomposition-2w`); the load is the 1-minute load "
                  "average before and after the case and arm's timed runs.", "",
                  "| case | arm | status | gap | wall [s] | CPU [s] | CPU / wall | load before | load after | note |",
                  "|---|---|---|---:|---:|---:|---:|---:|---:|---|"]
        for _, r in table[table["status"] != "unsupported"].iterrows():
            ratio = r["cpu_s"] / r["total_s"] if _number(r.get("cpu_s")) and _number(r.get("total_s")) else math.nan
            lines.append(f"| {r['case']} | {r['arm']} | {r['status']} | {_fmt(r.get('mip_gap'), 6)} "
                         f"| {_fmt(r.get('total_s'), 1)} | {_fmt(r.get('cpu_s'), 1)} | {_fmt(ratio, 2)} "
                         f"| {_fmt(r.get('load_before'), 1)} | {_fmt(r.get('load_after'), 1)} | {r.get('note') or ''} |")
    if missing:
        lines += ["", "Arms that could not run here: " + "; ".join(f"{k} ({v})" for k, v in missing.items())]
    return "\n".join(lines) + "\n"


SHARED = ", shared with other work: read the CPU times and the ratios before the wall-clock seconds"


def as_json(table: pd.DataFrame, missing: dict[str, str], title: str) -> dict[str, Any]:
    """The suite's rows with the machine they ran on (for ``bench.json``)."""
    rows = json.loads(table.to_json(orient="records", double_precision=10))
    return {"title": title, "machine": {"platform": platform.platform(), "python": platform.python_version(),
                                        "cores": os.cpu_count(), "load_average_at_end": list(os.getloadavg()),
                                        "note": "may be shared with other work: each row has the load "
                                                "averages before and after it, and its CPU time"},
            "targets": [{"target": t, "measured": m, "met": met} for t, m, met in targets(table)],
            "missing_arms": missing, "rows": rows}


MARKERS = ("o", "s", "^", "D", "v", "h", "<", ">")  # each one reads hollow too


def _plain_number(value: float, _pos: int = 0) -> str:
    """A tick label without powers of ten: 1,440 or 0.05."""
    return f"{value:,.0f}" if value >= 10 else f"{value:.3g}"


def time_vs_size(ok: pd.DataFrame, path: Path) -> Path:
    """Total time against case size, one panel per axis of the suite; each arm a colour and a marker.

    Every point is marked (a panel of the quick suite holds one case and its PyPSA subset, too few
    for lines); arms that share a case are set a few points apart so that none hides another. The
    size axis is logarithmic only where a panel spans more than a factor of ten, and every tick
    is written as a plain number.
    """
    from matplotlib.lines import Line2D
    from matplotlib.ticker import (
        FixedLocator,
        FuncFormatter,
        LogLocator,
        MaxNLocator,
        NullFormatter,
        NullLocator,
    )
    from matplotlib.transforms import offset_copy

    scenarios = ok["scenarios"].fillna(0).clip(lower=1) if "scenarios" in ok else 1
    ok = ok.assign(size=ok["steps"] * ok["assets"] * scenarios, subset=ok["case"].str.endswith("/pypsa-subset"))
    axes_names = [a for a in ("substations", "days", "resolution", "features", "regulation", "teda", "target",
                              "scenarios")
                  if a in set(ok["axis"])]
    arms = sorted(set(ok["arm"]))
    colours = dict(zip(arms, plt.rcParams["axes.prop_cycle"].by_key()["color"], strict=False))
    markers = dict(zip(arms, MARKERS, strict=False))
    cols = 1 if len(axes_names) == 1 else 2 if len(axes_names) in (2, 4) else 3
    rows = max(1, math.ceil(len(axes_names) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols + 2.6, 3.9 * rows), squeeze=False, layout="constrained")
    for ax, axis in zip(axes.flat, axes_names, strict=False):
        part = ok[ok["axis"] == axis]
        for k, arm in enumerate(arms):
            shift = offset_copy(ax.transData, fig=fig, x=5.0 * (k - (len(arms) - 1) / 2), units="points")
            for subset, g in part[part["arm"] == arm].groupby("subset"):
                g = g.sort_values("size")
                line = ("--" if subset else "-") if g["size"].is_unique else "none"  # no line through cases of one size
                ax.plot(g["size"], g["total_s"], marker=markers[arm], ms=6, color=colours[arm], transform=shift,
                        ls=line, lw=1, mfc="none" if subset else colours[arm], mew=1.3)
        sizes = sorted(set(part["size"]))
        ax.set_yscale("log")  # limits set here: lines drawn with an offset transform do not move them
        ax.set_ylim(part["total_s"].min() / 1.6, part["total_s"].max() * 1.6)
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(FuncFormatter(_plain_number))
        ax.yaxis.set_minor_formatter(NullFormatter())
        if sizes[-1] > 10 * sizes[0]:
            ax.set_xscale("log")
            ax.set_xlim(sizes[0] / 1.5, sizes[-1] * 1.5)
            ax.xaxis.set_major_locator(LogLocator(base=10))
            ax.xaxis.set_minor_formatter(NullFormatter())
        else:
            pad = 0.12 * (sizes[-1] - sizes[0]) or 0.12 * sizes[0]
            ax.set_xlim(sizes[0] - pad, sizes[-1] + pad)
            ax.xaxis.set_major_locator(FixedLocator(sizes) if len(sizes) <= 4 else MaxNLocator(5))
            ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_major_formatter(FuncFormatter(_plain_number))
        names = sorted({c.removesuffix("/pypsa-subset") for c in part["case"]})
        ax.set_title(f"{axis}: {', '.join(names)}" if len(names) <= 2 else f"{axis} ({len(names)} cases)", fontsize=9)
        ax.set_xlabel("case size: steps × assets" + (" × scenarios" if axis == "scenarios" else ""))
        ax.set_ylabel("total time [s], median")
        ax.grid(alpha=0.3, which="major")
    for ax in list(axes.flat)[len(axes_names):]:
        ax.axis("off")
    handles = [Line2D([], [], color=colours[a], marker=markers[a], ls="-", label=a) for a in arms]
    if ok["subset"].any():
        handles.append(Line2D([], [], color="grey", marker="o", mfc="none", ls="--",
                              label="hollow, dashed: the case restricted\nto what PyPSA can express"))
    fig.legend(handles=handles, loc="outside right upper", fontsize=8, frameon=False, title="arm")
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plots(table: pd.DataFrame, out: Path) -> list[Path]:
    ok = table[table["status"].isin(["optimal", "feasible"])].copy()
    paths = [time_vs_size(ok, out / "time_vs_size.png")]

    phase_arms = [a for a in ("product", "product-pyomo", "direct") if a in set(ok["arm"])]
    prod = ok[ok["arm"].isin(phase_arms)]
    if len(prod):
        fig, ax = plt.subplots(figsize=(11, 4.5))
        cases = list(dict.fromkeys(prod["case"]))
        width = 0.8 / len(phase_arms)
        hatches = {"product": "", "product-pyomo": "..", "direct": "//"}
        for k, arm in enumerate(phase_arms):
            g = prod[prod["arm"] == arm].set_index("case").reindex(cases)
            bottom = pd.Series(0.0, index=cases)
            for phase, color in (("build", "#4e79a7"), ("handover", "#f28e2b"), ("solve", "#59a14f"), ("extract", "#e15759")):
                vals = g[f"{phase}_s"].fillna(0.0)
                ax.bar([i + k * width for i in range(len(cases))], vals, width, bottom=bottom, color=color,
                       label=phase if k == 0 else None, edgecolor="white", hatch=hatches[arm])
                bottom = bottom + vals
        ax.set_xticks([i + width * (len(phase_arms) - 1) / 2 for i in range(len(cases))], cases, rotation=30,
                      ha="right", fontsize=8)
        names = {"": "plain", "..": "dotted", "//": "hatched"}
        ax.set_ylabel("seconds, median")
        ax.set_title("bars, left to right: " + ", ".join(f"{a} ({names[hatches[a]]})" for a in phase_arms), fontsize=9)
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3, axis="y")
        fig.tight_layout()
        p = out / "phases.png"
        fig.savefig(p, dpi=100)
        plt.close(fig)
        paths.append(p)
    return paths


def write(table: pd.DataFrame, missing: dict[str, str], out: Path, title: str) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = {"csv": out / "bench.csv", "md": out / "bench.md", "json": out / "bench.json"}
    table.to_csv(paths["csv"], index=False, float_format="%.6g")
    paths["md"].write_text(markdown(table, missing, title), encoding="utf-8")
    paths["json"].write_text(json.dumps(as_json(table, missing, title), indent=1) + "\n", encoding="utf-8")
    for p in plots(table, out):
        paths[p.stem] = p
    return paths
