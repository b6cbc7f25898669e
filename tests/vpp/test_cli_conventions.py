"""One style across the ``vpp`` command line: help as written, paired flags, commands in a user's order, dates.

Help is rendered in-process (typer's test runner, a 1000-column terminal) for
every command of the tree, ``vpp bench`` included (it joins through the
``vpp.commands`` entry point).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from tests.vpp.test_cli import vpp
from vpp import cli

WIDE = {"COLUMNS": "1000", "TERMINAL_WIDTH": "1000"}


def tree() -> Iterator[tuple[list[str], Any]]:
    """Every command and group below ``vpp``, with its path of names."""
    cli._plug_in()
    root = typer.main.get_command(cli.app)

    def walk(path: list[str], cmd: Any) -> Iterator[tuple[list[str], Any]]:
        yield path, cmd
        for name, sub in getattr(cmd, "commands", {}).items():
            yield from walk([*path, name], sub)

    yield from walk([], root)


COMMANDS = list(tree())


def help_of(path: list[str]) -> str:
    done = CliRunner().invoke(cli.app, [*path, "--help"], env=WIDE)
    assert done.exit_code == 0, done.output
    return done.output


def flat(text: str) -> str:
    """The text without the table's frame and with single spaces."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=lambda p: " ".join(p) or "vpp")
def test_help_shows_every_help_text_as_written(path: list[str]) -> None:
    """Units in square brackets ([s], [min], [deg N], [MW]) survive; no <bool> beside a flag."""
    cmd = dict((tuple(p), c) for p, c in COMMANDS)[tuple(path)]
    shown = flat(help_of(path))
    texts = [p.help for p in cmd.params if getattr(p, "help", None)]
    if cmd.help:
        texts.append(cmd.help.split("\n\n")[0])
    for text in texts:
        plain = flat(text.replace("\\[", "["))
        assert plain in shown, (plain, shown)
    assert "<bool>" not in shown
    assert "{" not in shown.split("Options")[0], shown  # the usage line names arguments in capitals


def test_units_in_brackets_are_shown() -> None:
    assert "Solver time limit [s]." in flat(help_of(["dispatch"]))
    assert "Step [min]." in flat(help_of(["forecast", "pv"]))
    assert "PV site latitude [deg N]: adds clear-sky features." in flat(help_of(["forecast", "backtest"]))
    assert "Solver time limit per day [s] (a retry gets 4×)." in flat(help_of(["size"]))


def test_case_validate_names_its_argument() -> None:
    shown = help_of(["case", "validate"])
    assert "case validate [OPTIONS] PATH Check a case file" in flat(shown)
    assert "{path}" not in shown


def test_every_yes_no_option_is_a_pair() -> None:
    for path, cmd in COMMANDS:
        for p in cmd.params:
            if getattr(p, "is_flag", False) and p.name != "help":
                assert p.secondary_opts, (path, p.opts)
                assert p.secondary_opts[0] == "--no-" + p.opts[0][2:], (path, p.opts, p.secondary_opts)


def test_out_is_a_folder_and_output_a_file() -> None:
    for path, cmd in COMMANDS:
        for p in cmd.params:
            if "--out" in p.opts:
                assert p.metavar == "FOLDER", path
            if "--output" in p.opts:
                assert "-o" in p.opts and p.metavar == "FILE", path
            assert not any(o.endswith("-out") and o != "--out" for o in p.opts), (path, p.opts)
    assert "--out FOLDER where a command writes several files, -o/--output FILE where it writes one" in flat(help_of([]))


def test_commands_are_listed_in_a_users_order() -> None:
    shown = help_of([])
    listed = re.findall(r"│ (\w+)\s{2,}", shown.split("Commands")[1])
    assert listed == ["dispatch", "redispatch", "replay", "outage", "case", "forecast", "settle", "worth", "pareto", "size",
                      "serve", "token", "bench"]
    sub = help_of(["forecast"]).split("Commands")[1]
    assert re.findall(r"│ (\w+)\s{2,}", sub) == ["pv", "load", "backtest", "synthetic"]


def test_bench_help_states_what_each_suite_takes() -> None:
    shown = flat(help_of(["bench"]))
    assert "quick: TEDA east and three small generated cases, every arm on each, about half a minute (CI)" in shown
    assert "full: every axis and the 7-day target case, about ten minutes" in shown


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["dispatch", "--date", "2026-02-30"], "--date"),
        (["case", "materialize", "--date", "2026-02-30"], "--date"),
        (["forecast", "pv", "--date", "2026-02-30"], "--date"),
    ],
)
def test_a_day_that_does_not_exist_is_named_with_its_option(tmp_path: Path, args: list[str], option: str) -> None:
    done = vpp(*args, "--out" if args[0] == "dispatch" else "-o", str(tmp_path / "x"))
    assert done.returncode == 2, done.stdout + done.stderr
    text = flat(done.stderr)
    assert f"Invalid value for {option}: 2026-02-30 is not a day of the calendar: February 2026 has 28 days" in text
    assert not (tmp_path / "x").exists()


def test_dispatch_says_what_it_assumed_about_the_day_in_one_line(tmp_path: Path) -> None:
    done = vpp("dispatch", "--date", "2025-09-28", "--no-chart", "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("assumed")]
    assert lines == [
        "assumed 2025-09-28 is before the tianjin-tou-2025 tariff came into force (2025-10-01): its periods and "
        "prices are applied anyway; 2025-09-28 is a working weekend day (made up for the National Day holiday): "
        "load and heating/cooling follow the working-day profiles"
    ]
    assert not (tmp_path / "out" / "dispatch.png").exists()  # --no-chart
