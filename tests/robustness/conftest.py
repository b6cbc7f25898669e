"""The robustness suite runs the real service, as tests/api does: its fixtures are shared from there.

``VPP_FUZZ_EXAMPLES`` sets how many requests the property-based tests generate
per operation (small in CI, thousands in ``python -m benchmarks.robustness``);
``VPP_ROBUSTNESS_REPORT`` names a JSON file for the suite's figures.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.api.conftest import anonymous, backend, databases, new_server, operator, server, viewer  # noqa: F401
from tests.robustness import figures


@pytest.fixture(scope="session", autouse=True)
def robustness_report() -> Iterator[None]:
    yield
    path = os.environ.get("VPP_ROBUSTNESS_REPORT")
    if path:
        figures.write(path)
