"""The page at / in a real headless Chromium: token, a TEDA east schedule, the chart, the summary, the CSV."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import pytest

from tests.api.conftest import OPERATOR, Server

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def test_the_page_requests_a_schedule_and_draws_the_day(server: Server, tmp_path: Path) -> None:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium; .ci/run does)")
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 1000}, accept_downloads=True)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
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
                painted = page.eval_on_selector(
                    f"{chart} canvas",
                    """c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                              let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }""")
                assert painted > 5000, (chart, painted)
            legend = page.text_content("#chart-balance")
            for label in ("PV", "grid import", "storage discharge", "load", "storage charge"):
                assert label in legend, label
            storage_legend = page.text_content("#chart-storage")
            assert "bess-s110-1" in storage_legend and "yujiapu-ice-storage" in storage_legend
            assert "buy" in page.text_content("#chart-prices")

            summary = page.text_content("#summary")
            for row in ("status", "total cost [CNY]", "emissions [tCO2]", "renewable share", "DR dr-evening-peak 20:00–22:00"):
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
        finally:
            browser.close()
    assert errors == []


def test_the_page_shows_the_problems_of_a_refused_request(server: Server) -> None:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium; .ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
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
        finally:
            browser.close()
