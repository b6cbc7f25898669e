"""The documentation site builds without a warning, and its generated pages hold what the code holds.

``mkdocs build --strict`` runs as a subprocess, as a user or CI would run it; a
key of the case, an asset type or a setting without a description fails it.
The generated tables are then read back from the HTML and checked against
facts stated by the model contract (units, defaults, which keys are required)
and against the case's JSON schema, a second route to the same keys.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from vpp.case import Case

ROOT = Path(__file__).resolve().parents[1]


class Tables(HTMLParser):
    """The rows of every table of a page, each a list of its cells' text."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def page(site: Path, name: str) -> str:
    return (site / name / "index.html").read_text(encoding="utf-8")


def rows_of(html: str) -> list[list[str]]:
    parser = Tables()
    parser.feed(html)
    return parser.rows


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    mkdocs = shutil.which("mkdocs", path=str(Path(sys.executable).parent)) or shutil.which("mkdocs")
    assert mkdocs, "mkdocs is part of the docs extra (in the test extra): pip install -e '.[test]'"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "DISABLE_MKDOCS_2_WARNING": "true"}
    done = subprocess.run(
        [mkdocs, "build", "--strict", "--site-dir", str(out)], cwd=ROOT, capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "WARNING" not in done.stderr, done.stderr
    return out


def test_every_page_of_the_navigation_is_built(site: Path) -> None:
    for name in ("guide/install", "guide/case-format", "guide/outputs", "guide/service", "guide/sizing",
                 "guide/forecasts", "guide/benchmarks", "model", "model/assets", "model/options",
                 "contributing/how-it-works", "contributing/api"):
        assert (site / name / "index.html").is_file(), name
    assert (site / "results" / "teda-east-dispatch.png").is_file()


def test_case_format_lists_every_key_of_the_case_schema(site: Path) -> None:
    """Every property of every object in the case's JSON schema has a row (a route independent of the walk)."""
    keys = {row[0] for row in rows_of(page(site, "guide/case-format")) if row}
    schema = Case.model_json_schema()
    objects = [schema, *schema.get("$defs", {}).values()]
    expected = {key for obj in objects for key in obj.get("properties", {}) if key != "type"}
    assert expected - keys == set()
    assert "description" in keys and "meta" in keys


def test_case_format_rows_state_type_default_and_unit(site: Path) -> None:
    rows = rows_of(page(site, "guide/case-format"))
    by_key: dict[str, list[list[str]]] = {}
    for row in rows:
        if len(row) == 5:
            by_key.setdefault(row[0], []).append(row)
    # The battery (model contract §4.3): energy required; efficiencies 0.95, SoC 0.1 / 0.9 / 0.5 by default.
    (energy,) = [r for r in by_key["energy_mwh"] if "Energy capacity" in r[4]]
    assert energy[1:4] == ["number ≥ 0", "required", "MWh"]
    assert by_key["charge_efficiency"][0][1:4] == ["number in (0, 1]", "0.95", "fraction"]
    assert [by_key[k][0][2] for k in ("soc_min", "soc_max", "soc_initial")] == ["0.1", "0.9", "0.5"]
    # Series: one number or a list per step; PV availability may not be negative, the buy price may.
    assert by_key["available_mw"][0][1:4] == ["series ≥ 0", "required", "MW"]
    assert by_key["buy_cny_per_mwh"][0][1:4] == ["series", "required", "CNY/MWh"]
    # Case-level defaults of the contract: the value of lost load 20,000 CNY/MWh, no green-share target.
    assert by_key["voll_cny_per_mwh"][0][1:4] == ["number ≥ 0", "20000", "CNY/MWh"]
    assert by_key["green_share_min"][0][2] == "none"
    assert by_key["capacity_mwh_th"][0][3] == "MWh thermal"
    assert all(row[4] for rows_ in by_key.values() for row in rows_), "a key without a description"


def test_every_asset_type_has_its_keys_and_its_maths(site: Path) -> None:
    """The asset types of the schema's discriminator each have a section on both pages, linked both ways."""
    schema = Case.model_json_schema()
    union = schema["properties"]["assets"]["items"]
    kinds = sorted(union["discriminator"]["mapping"])
    assert kinds, union
    case_format, assets = page(site, "guide/case-format"), page(site, "model/assets")
    for kind in kinds:
        anchor = kind.replace("_", "-")
        assert f'id="{anchor}"' in case_format, kind
        assert f'id="{anchor}"' in assets, kind
        assert f'href="../../model/assets/#{anchor}"' in case_format, kind
        assert f'href="../../guide/case-format/#{anchor}"' in assets, kind
    # The battery's maths comes from its module's docstring: its symbol table and its level balance.
    assert "soc[t] = (1 − σΔ)·soc[t−1]" in assets
    assert "<code>ηc, ηd</code>" in assets


def test_service_settings_table_follows_the_settings_class(site: Path) -> None:
    from api.settings import Settings

    rows = {row[0]: row for row in rows_of(page(site, "guide/service")) if row}
    for key in Settings.model_fields:
        assert f"VPP_{key.upper()}" in rows, key
    assert rows["VPP_PORT"][1:3] == ["8000", "≥ 1, ≤ 65535"]
