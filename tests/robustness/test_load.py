"""A reduced load test (the benchmark's own code, fewer requests): every answer correct, no 5xx.

``python -m benchmarks.service_load`` runs the full count and records the latencies; nothing here
depends on how fast the machine is.
"""

from __future__ import annotations

import pytest

from benchmarks.service_load import run_load
from tests.api.conftest import OPERATOR, Server
from tests.robustness import figures

#: The database is this module's subject: on PostgreSQL too when VPP_TEST_DATABASE_URL is set (conftest).
pytestmark = pytest.mark.every_database


def test_concurrent_mixed_requests_all_answer_correctly(server: Server) -> None:
    result = run_load(server.url, OPERATOR, requests=40, clients=10, rounds=1, server_pid=server.proc.pid)
    [round_] = result["rounds"]
    assert round_["requests"] == 40
    assert round_["errors"] == 0, round_["error_examples"]
    assert round_["server_errors"] == 0 and set(round_["statuses"]) <= {"200", "201"}, round_["statuses"]
    assert set(round_["latency_by_kind"]) == {"post", "get", "list", "curve", "job", "health"}
    assert result["memory"]["samples"] > 0
    figures.load(f"reduced-{server.database_url.split(':')[0]}", requests=40, clients=10,
                 errors=round_["errors"], server_errors=round_["server_errors"], statuses=round_["statuses"])
