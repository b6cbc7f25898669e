"""The robustness suite's own figures: requests tried and their answers, faults survived, jobs lost.

Tests add to :data:`FIGURES` as they run; ``conftest.py`` writes it as JSON to
``VPP_ROBUSTNESS_REPORT`` at the end of the session (``python -m benchmarks.robustness``
sets it and quotes the figures), so the figures in the README come from the
suite itself.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

FIGURES: dict[str, Any] = {"requests": {}, "faults": {}, "load": {}}

#: The figures of a fault scenario with several servers on one database, summed in ``several_servers``.
SEVERAL_SERVERS = ("jobs", "acknowledged", "done_once", "jobs_lost", "run_twice", "taken_over")


def fuzz_examples(default: int = 15) -> int:
    """Generated examples per property or operation (``VPP_FUZZ_EXAMPLES``)."""
    return int(os.environ.get("VPP_FUZZ_EXAMPLES", default))


def count(section: str, status: int, crashed: bool = False) -> None:
    """One request of ``section`` answered with ``status`` (0 when the connection failed)."""
    entry = FIGURES["requests"].setdefault(section, {"tried": 0, "by_status": Counter(), "server_errors": 0,
                                                     "connection_failures": 0})
    entry["tried"] += 1
    entry["by_status"][str(status)] += 1
    if status >= 500:
        entry["server_errors"] += 1
    if crashed or status == 0:
        entry["connection_failures"] += 1


def fault(name: str, **values: Any) -> None:
    """The outcome of a fault scenario: ``survived``, ``jobs``, ``jobs_lost`` and details.

    Scenarios with several servers on one database also give ``acknowledged`` (jobs whose submission
    was answered), ``done_once`` (done, with exactly one stored result), ``run_twice`` and ``taken_over``.
    """
    FIGURES["faults"][name] = values


def load(name: str, **values: Any) -> None:
    FIGURES["load"][name] = values


def summary() -> dict[str, Any]:
    """The figures with their totals: requests, faults survived, jobs lost, and the several-server scenarios."""
    requests = FIGURES["requests"]
    totals = {"tried": sum(e["tried"] for e in requests.values()),
              "server_errors": sum(e["server_errors"] for e in requests.values()),
              "connection_failures": sum(e["connection_failures"] for e in requests.values())}
    faults = FIGURES["faults"]
    several = {name: f for name, f in faults.items() if "done_once" in f}
    return dict(FIGURES, totals=totals,
                faults_survived=sum(1 for f in faults.values() if f.get("survived")),
                faults_tried=len(faults),
                jobs_lost=sum(int(f.get("jobs_lost", 0)) for f in faults.values()),
                several_servers={"scenarios": sorted(several),
                                 **{k: sum(int(f.get(k, 0)) for f in several.values()) for k in SEVERAL_SERVERS}})


def write(path: str | os.PathLike[str]) -> None:
    Path(path).write_text(json.dumps(summary(), indent=2, default=dict) + "\n")
