"""time_vs_size.png reads at a glance: every arm its own colour and marker, tick labels apart, the legend aside."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from benchmarks import report

RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results"


@pytest.mark.parametrize("suite", ["quick", "full"])
def test_time_vs_size_is_readable(suite: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    table = pd.read_csv(RESULTS / suite / "bench.csv")
    ok = table[table["status"].isin(["optimal", "feasible"])]
    figures = []
    monkeypatch.setattr(plt, "close", figures.append)  # keep the figure to look at it
    path = report.time_vs_size(ok, tmp_path / "time_vs_size.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    (fig,) = figures
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    panels = [ax for ax in fig.axes if ax.axison]
    assert len(panels) == ok["axis"].nunique()
    for ax in panels:
        for axis in (ax.xaxis, ax.yaxis):
            labels = [t for t in axis.get_ticklabels() if t.get_text() and t.get_visible()]
            assert labels, (ax.get_title(), "no tick labels")
            assert all("^" not in t.get_text() and "times" not in t.get_text() for t in labels)  # plain numbers
            boxes = sorted((t.get_window_extent(renderer) for t in labels), key=lambda b: (b.x0, b.y0))
            for a, b in zip(boxes, boxes[1:], strict=False):
                assert not a.overlaps(b), (ax.get_title(), [t.get_text() for t in labels])
        # every point is marked, and no two arms share both colour and marker
        styles = {(line.get_color(), line.get_marker()) for line in ax.get_lines()}
        assert all(marker not in ("None", "", None) for _, marker in styles)
    legend = fig.legends[0]
    arms = [t.get_text() for t in legend.get_texts() if not t.get_text().startswith("hollow")]
    assert arms == sorted(set(ok["arm"]))
    pairs = {(h.get_color(), h.get_marker()) for h in legend.legend_handles[: len(arms)]}
    assert len(pairs) == len(arms)
    box = legend.get_window_extent(renderer)
    assert all(not box.overlaps(ax.get_window_extent(renderer)) for ax in panels)


def _row(case: str, arm: str, total: float, solve: float, binaries: int, objective: float, **kw: object) -> dict:
    return {"case": case, "axis": "regulation", "arm": arm, "status": "optimal", "total_s": total, "solve_s": solve,
            "binaries": binaries, "objective_cny": objective, "overhead_s": total - solve, "build_s": total - solve,
            "handover_s": 0.0, "extract_s": 0.0, "total_min_s": total, "total_max_s": total, "mip_gap": 0.0,
            "variables": 10, "nonzeros": 20, "peak_mem_mib": 1.0, "agrees": True, "note": "", **kw}


def test_the_report_sets_each_regulation_case_beside_the_same_case_without_it() -> None:
    table = pd.DataFrame([
        _row("day", "product", 1.2, 1.0, 30, 900.0),
        _row("day/no-regulation", "product", 0.3, 0.2, 6, 1000.0),
        _row("day", "direct", 1.5, 1.2, 40, 900.5),
        _row("day/no-regulation", "direct", 0.5, 0.4, 16, 1000.0),
        _row("other", "product", 0.1, 0.05, 0, 50.0),  # no twin: not a pair
        {**_row("lone", "product", 0.2, 0.1, 0, 10.0), "status": "unsupported"},
        _row("lone/no-regulation", "product", 0.1, 0.05, 0, 12.0),  # its case did not solve: not a pair
    ])
    pairs = report.regulation_pairs(table)
    assert pairs.to_dict("records") == [
        {"case": "day", "arm": "product", "total_with_s": 1.2, "total_without_s": 0.3, "solve_with_s": 1.0,
         "solve_without_s": 0.2, "binaries_with": 30, "binaries_without": 6, "objective_with_cny": 900.0,
         "objective_without_cny": 1000.0, "net_value_cny": 100.0},
        {"case": "day", "arm": "direct", "total_with_s": 1.5, "total_without_s": 0.5, "solve_with_s": 1.2,
         "solve_without_s": 0.4, "binaries_with": 40, "binaries_without": 16, "objective_with_cny": 900.5,
         "objective_without_cny": 1000.0, "net_value_cny": 99.5},
    ]
    [info] = [t for t in report.targets(table) if "frequency regulation" in t[0]]
    assert info == ("(no target) frequency regulation: the product's total time with and without it on the same cases",
                    "day: 1.200 s vs 0.300 s", None)
    md = report.markdown(table, {}, "t")
    section = md.split("## Frequency regulation: the same cases with and without it")[1].splitlines()
    assert "| day | product | 1.200 | 0.300 | 4.0 | 1.000 | 0.200 | 30 | 6 | 900.00 | 1000.00 | 100.00 |" in section
    assert "| day | direct | 1.500 | 0.500 | 3.0 | 1.200 | 0.400 | 40 | 16 | 900.50 | 1000.00 | 99.50 |" in section
