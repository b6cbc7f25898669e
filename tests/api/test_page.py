"""The page at / in a real headless Chromium: token, a TEDA east schedule, the chart, the summary, the CSV."""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import OPERATOR, Server

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def sign_in(page: Any, url: str, token: str = OPERATOR) -> None:
    """Open the page at ``url`` and save ``token`` as its bearer token."""
    page.goto(url + "/")
    page.fill("#token", token)
    page.click("#save-token")


def painted_pixels(page: Any, chart: str) -> int:
    """How many pixels of the canvas under ``chart`` something was drawn on."""
    return page.eval_on_selector(
        f"{chart} canvas",
        """c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                  let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }""")


@contextmanager
def _browser_page(**page_options: Any) -> Iterator[tuple[Any, list[str]]]:
    """A page of headless Chromium, and the list its page errors and console errors are collected into."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium; .ci/run does)")
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(**page_options)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            yield page, errors
        finally:
            browser.close()


def test_the_page_requests_a_schedule_and_draws_the_day(server: Server, tmp_path: Path) -> None:
    with _browser_page(viewport={"width": 1300, "height": 1000}, accept_downloads=True) as (page, errors):
        page.goto(server.url + "/")
        assert page.title() == "VPP day-ahead schedule"
        page.fill("#token", OPERATOR)
        page.click("#save-token")
        assert page.text_content("#token-state") == "token saved in this browser"
        page.reload()  # the token is kept in the browser
        assert page.input_value("#token") == OPERATOR

        page.select_option("#case", "teda-east")
        page.fill("#date", "2026-07-16")
        page.click("#request")
        page.wait_for_selector("#summary tr", timeout=90_000)
        assert page.text_content("#status").startswith("Schedule ")
        assert "teda-east · 2026-07-16 · 96 × 15 min" == page.text_content("#result-title")

        # the charts drew something: canvases with coloured pixels
        for chart in ("#chart-balance", "#chart-storage", "#chart-prices"):
            painted = painted_pixels(page, chart)
            assert painted > 5000, (chart, painted)
        legend = page.text_content("#chart-balance")
        for label in ("PV used", "grid import", "battery discharge", "fixed load", "battery charge"):
            assert label in legend, label
        storage_legend = page.text_content("#chart-storage")
        assert "bess-s110-1" in storage_legend and "yujiapu-ice-storage" in storage_legend
        assert "buy" in page.text_content("#chart-prices")

        summary = page.text_content("#summary")
        for row in ("status", "total cost [CNY]", "energy at the time-of-use price [CNY]", "emission factor",
                    "emissions [tCO2]", "renewable share", "DR dr-peak-shaving-2026-07-16 20:00–22:00"):
            assert row in summary, row
        assert "optimal" in summary

        # another substation redraws the balance chart
        page.select_option("#node", "s35-haijing")
        assert "from the network" in page.text_content("#chart-balance")

        with page.expect_download() as download:
            page.click("#csv")
        target = tmp_path / "curve.csv"
        download.value.save_as(target)
        rows = list(csv.reader(io.StringIO(target.read_text())))
        assert len(rows) == 97 and rows[0][:3] == ["timestamp", "point", "step"]
        assert rows[1][0] == "2026-07-16T00:00:00+08:00" and rows[96][1] == "96"

        assert "2026-07-16" in page.text_content("#recent")
        page.screenshot(path=str(tmp_path / "page.png"), full_page=True)
    assert errors == []


def test_the_page_shows_the_problems_of_a_refused_request(server: Server) -> None:
    with _browser_page() as (page, _):
        page.goto(server.url + "/")
        page.fill("#token", "wrong-token")
        page.click("#save-token")
        page.fill("#date", "2026-07-16")
        page.click("#request")
        page.wait_for_function("document.querySelector('#status').className === 'error'")
        assert page.text_content("#status") == "401: unknown token"
        page.fill("#token", OPERATOR)
        page.click("#save-token")
        page.fill("#time-limit", "100000")
        page.click("#request")
        page.wait_for_function("document.querySelector('#problems li') !== null")
        assert page.text_content("#problems li") == "options.time_limit_s: at most 120 s (VPP_MAX_TIME_LIMIT_S), got 100000"


# Keeps every uPlot chart the page makes in window.__charts (the page's own charts stay private to app.js).
CAPTURE_CHARTS = """
(() => { let real; window.__charts = [];
  Object.defineProperty(window, "uPlot", { configurable: true, get() { return real; }, set(v) {
    function Captured(opts, data, el) { const u = new v(opts, data, el); window.__charts.push(u); return u; }
    Object.assign(Captured, v); Captured.prototype = v.prototype; real = Captured; } }); })();
"""
# Per chart on the page: the plot box, the x range, where the window's bounds fall (valToPos) and the columns
# the shade actually covers (pixels of the shade's colour, rgba(255, 170, 60, 0.13), anywhere in the plot box).
# The chart is redrawn without its grid for the count (a grid line may sit on a window's bound), then restored.
MEASURE_SHADE = """async ([a, b]) => {
  const settle = () => new Promise((r) => setTimeout(r, 0));  // uPlot redraws in a microtask
  const out = [];
  for (const u of window.__charts.filter((u) => u.root.isConnected)) {
    const shown = u.axes.map((ax) => ax.grid.show);
    u.axes.forEach((ax) => { ax.grid.show = false; }); u.redraw(false, false); await settle();
    const c = u.ctx.canvas; const d = u.ctx.getImageData(0, 0, c.width, c.height).data;
    u.axes.forEach((ax, i) => { ax.grid.show = shown[i]; }); u.redraw(false, false); await settle();
    const cols = [];
    for (let x = 0; x < c.width; x++) {
      for (let y = Math.ceil(u.bbox.top); y < u.bbox.top + u.bbox.height; y++) {
        const i = (y * c.width + x) * 4;
        if (d[i + 3] >= 20 && d[i] === 255 && Math.abs(d[i + 1] - 170) <= 4 && Math.abs(d[i + 2] - 60) <= 4) { cols.push(x); break; }
      }
    }
    out.push({ chart: u.root.parentElement.id, points: u.data[0].length, x: [u.scales.x.min, u.scales.x.max],
               left: u.bbox.left, right: u.bbox.left + u.bbox.width, x0: u.valToPos(a, "x", true), x1: u.valToPos(b, "x", true),
               first: cols.length ? cols[0] : null, last: cols.length ? cols[cols.length - 1] : null,
               gaps: cols.length ? cols[cols.length - 1] - cols[0] + 1 - cols.length : null,
               series: Object.fromEntries(u.series.slice(1).map((s, i) => [s.label, u.data[i + 1]])) });
  }
  return out;
}"""


# The page draws a schedule twice: at once, then again when its case (the network, the stores' initial levels) is in;
# a day whose batteries offer frequency regulation has a fourth chart, the band's (api/static/regulation.js).
DRAWN = """() => { const live = window.__charts.filter((u) => u.root.isConnected);
  const charts = document.getElementById("regulation").hidden ? 3 : 4;
  return live.length === charts && live.some((u) => u.root.parentElement.id === "chart-storage" && u.data[1][0] != null); }"""


def _shades(page: object, window: list[int]) -> dict[str, dict]:
    return {m["chart"]: m for m in page.evaluate(MEASURE_SHADE, window)}  # type: ignore[attr-defined]


def _assert_shaded_over(shades: dict[str, dict], steps: int, window: list[int]) -> None:
    """Each chart spans the day (x = 0 … steps, step boundaries) and shades exactly x = start … end of the window."""
    assert set(shades) == {"chart-balance", "chart-storage", "chart-prices", "chart-regulation"}  # TEDA regulates
    start, end = window
    for chart, m in shades.items():
        assert m["points"] == steps + 1 and m["x"] == [0, steps], (chart, m["points"], m["x"])
        assert m["first"] is not None, f"{chart}: no shade drawn"
        assert abs(m["first"] - m["x0"]) <= 1 and abs(m["last"] + 1 - m["x1"]) <= 1, (chart, m["first"], m["last"], m["x0"], m["x1"])
        assert m["gaps"] == 0, (chart, m["gaps"])
        assert m["left"] - 1 <= m["first"] and m["last"] + 1 <= m["right"] + 1, (chart, m["first"], m["last"], m["left"], m["right"])
        # the same share of each plot's width: the same time, whatever the chart's width
        assert abs((m["x1"] - m["x0"]) - (m["right"] - m["left"]) * (end - start) / steps) <= 0.5, chart


def test_the_dr_window_is_shaded_over_the_same_time_on_every_chart(server: Server) -> None:
    """The DR window [start_step, end_step) is shaded from the start of start_step to the end of end_step − 1.

    The storage chart is narrower than the supply/demand one (a half-width panel), so the same window is
    fewer pixels wide there; in time it is the same on every chart. A window that ends with the day ends
    at the plot's right edge (and reads 22:00–24:00); storage levels (end-of-step values) are drawn at
    the end of their step, so a store's discharge during the window falls inside the shade.
    """
    with _browser_page(viewport={"width": 1300, "height": 1000}) as (page, errors):
        page.add_init_script(CAPTURE_CHARTS)
        sign_in(page, server.url)
        page.select_option("#case", "teda-east")
        page.fill("#date", "2026-07-16")  # a heat-wave day on the event calendar
        page.click("#request")
        page.wait_for_selector("#summary tr", timeout=90_000)
        assert "DR dr-peak-shaving-2026-07-16 20:00–22:00" in page.text_content("#summary")
        page.wait_for_function(DRAWN)
        schedule_id = page.text_content("#status").split()[1].rstrip(":")
        with server.client(OPERATOR) as c:
            body = c.get(f"/v1/schedules/{schedule_id}").json()
            case = c.get(f"/v1/schedules/{schedule_id}/case").json()
        assert body["summary"]["demand_response"][0]["window_steps"] == [80, 88]

        shades = _shades(page, [80, 88])
        _assert_shaded_over(shades, 96, [80, 88])
        balance, storage = shades["chart-balance"], shades["chart-storage"]
        assert storage["right"] - storage["left"] < 0.5 * (balance["right"] - balance["left"])  # why it looks narrower
        # storage levels at the end of their step, the day's initial level at x = 0
        stores = {a["id"]: a for a in case["assets"] if a["type"] in ("battery", "thermal_storage")}
        levels = {s["asset"]: s["values"] for s in body["schedule"]["series"] if s["quantity"] in ("soc_mwh", "level_mwh_th")}
        assert set(levels) == set(stores)
        for label, drawn in storage["series"].items():  # as a share of the store's capacity [%], as in dispatch.png
            asset = label.split(" ")[0]
            a = stores[asset]
            initial, capacity = (a["soc_initial"], a["energy_mwh"]) if a["type"] == "battery" else (a["level_initial"], a["capacity_mwh_th"])
            assert drawn[0] == pytest.approx(100 * initial)
            assert drawn[1:] == pytest.approx([100 * v / capacity for v in levels[asset]]), asset
        # power and prices: a step's value from its start, the last step's held to the end of the day
        for drawn in [*balance["series"].values(), *shades["chart-prices"]["series"].values()]:
            assert drawn[96] == drawn[95]

        # hovering the end of the day: the legend shows the last step's values, no NaN
        over = page.locator("#chart-balance .u-over").bounding_box()
        assert over is not None
        page.mouse.move(over["x"] + over["width"] - 1, over["y"] + 20)
        assert "NaN" not in page.text_content("#chart-balance .u-legend")

        # a window that ends with the day ends at the plot's right edge, not past it
        case["demand_response"][0]["start_step"], case["demand_response"][0]["end_step"] = 88, 96
        page.select_option("#case", "file")
        page.set_input_files("#case-file", files=[{"name": "case.json", "mimeType": "application/json",
                                                   "buffer": json.dumps(case).encode()}])
        page.click("#request")
        page.wait_for_function("document.querySelector('#summary').textContent.includes('22:00–24:00')", timeout=90_000)
        page.wait_for_function(DRAWN)
        shades = _shades(page, [88, 96])
        _assert_shaded_over(shades, 96, [88, 96])
        for chart, m in shades.items():
            assert abs(m["x1"] - m["right"]) <= 0.5, (chart, m["x1"], m["right"])
    assert errors == []


# Per chart on the page: each series' label and colour.
STROKES = """() => Object.fromEntries(window.__charts.filter((u) => u.root.isConnected).map((u) => [u.root.parentElement.id,
  u.series.slice(1).map((s, i) => [s.label, typeof s.stroke === "function" ? s.stroke(u, i + 1) : s.stroke])]))"""


def test_the_page_reads_as_dispatch_png_does(server: Server) -> None:
    """The palette of vpp/palette.py, readable cost terms, what was assumed, and a whole day unserved as 00:00–24:00."""
    from vpp.palette import BATTERIES, BILL, SERIES

    with _browser_page(viewport={"width": 1300, "height": 1000}) as (page, errors):
        page.add_init_script(CAPTURE_CHARTS)
        sign_in(page, server.url)
        page.fill("#date", "2026-01-01")  # a public holiday, with the heat store
        page.click("#request")
        page.wait_for_selector("#summary tr", timeout=90_000)
        page.wait_for_function(DRAWN)
        strokes = page.evaluate(STROKES)
        colours = {label: colour for label, colour in SERIES.values()}
        balance = dict(strokes["chart-balance"])
        assert {"PV used", "grid import", "fixed load", "battery discharge", "battery charge"} <= set(balance)
        for label, stroke in balance.items():
            assert stroke == colours[label], label
        storage = strokes["chart-storage"]
        assert [s for _, s in storage if _.startswith("bess-")] == list(BATTERIES[:4])
        assert dict(storage)["yujiapu-ice-storage (thermal)"] == SERIES["thermal_storage"][1]
        assert dict(strokes["chart-prices"])["buy price"] == SERIES["buy"][1]
        summary = page.text_content("#summary")
        assert f"{BILL['energy_cny']} [CNY]" in summary and f"{BILL['flexibility_cny']} [CNY]" in summary
        assert page.text_content("#assumptions") == (
            "Assumed: 2026-01-01 is a public holiday (New Year's Day): load and heating/cooling follow the "
            "non-working-day profiles")

        # a day on which the grid can never meet the load: unserved from midnight to midnight
        short = {"name": "short", "start": "2026-07-15T00:00:00+08:00", "step_minutes": 60, "steps": 24,
                 "grid": {"import_max_mw": 5, "buy_cny_per_mwh": 100},
                 "assets": [{"id": "load", "type": "load", "demand_mw": 8}]}
        page.select_option("#case", "file")
        page.set_input_files("#case-file", files=[{"name": "short.json", "mimeType": "application/json",
                                                   "buffer": json.dumps(short).encode()}])
        page.click("#request")
        page.wait_for_function("document.querySelector('#result-title').textContent.startsWith('short')", timeout=90_000)
        messages = page.text_content("#messages")
        assert "unserved energy at node grid: 72.000 MWh (max 3.000 MW) during 00:00–24:00" in messages
        assert page.text_content("#assumptions") == ""
    assert errors == []
