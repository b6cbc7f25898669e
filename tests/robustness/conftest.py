"""The robustness suite runs the real service, as tests/api does: its fixtures are shared from there.

``VPP_FUZZ_EXAMPLES`` sets how many requests the property-based tests generate
per operation (small in CI, thousands in ``python -m benchmarks.robustness``);
``VPP_ROBUSTNESS_REPORT`` names a JSON file for the suite's figures.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import (  # noqa: F401
    Databases,
    Server,
    anonymous,
    backend,
    databases,
    new_server,
    operator,
    pytest_generate_tests,
    server,
    viewer,
)
from tests.robustness import figures


@pytest.fixture(scope="session", autouse=True)
def robustness_report() -> Iterator[None]:
    yield
    path = os.environ.get("VPP_ROBUSTNESS_REPORT")
    if path:
        figures.write(path)


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("VPP_ROBUSTNESS_REPORT") and (getattr(config.option, "numprocesses", None) or 0) > 0:
        raise pytest.UsageError("VPP_ROBUSTNESS_REPORT counts the figures in one process: run the suite with -n 0")


@pytest.fixture
def sqlite_server(databases: Databases, tmp_path: Path) -> Iterator[Any]:  # noqa: F811 - the shared fixture
    """Servers of a test's own on a fresh SQLite file (``sqlite_server(**env)``), killed at the end whatever happens.

    For what does not depend on the database (the pool, the log, CORS) or needs SQLite (its file lock).
    """
    started: list[Server] = []

    def make(**env: Any) -> Server:
        srv = Server(databases.new("sqlite"), tmp_path, **env)
        started.append(srv)
        return srv

    yield make
    for srv in started:
        srv.kill()
