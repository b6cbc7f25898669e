"""The control room first: studies never take the workers schedules need.

A study (storage sizing over a year of TEDA days) runs for minutes; with as
many studies submitted as the service takes (``VPP_MAX_SIZING_JOBS``), a
server of two workers runs one of them (``VPP_STUDY_WORKERS`` defaults to
``VPP_WORKERS - 1``) and keeps the other worker for schedules, so an
operator's request for the TEDA day is answered with its schedule (201) while
the studies go on.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from models.solve import SolveOptions
from tests.api.conftest import OPERATOR, PLANNER
from tests.api.test_durability import wait_until
from vpp.dispatch import resolve_case, solve_case

#: The database is this module's subject: on PostgreSQL too when VPP_TEST_DATABASE_URL is set (conftest).
pytestmark = pytest.mark.every_database

#: A study of the whole TEDA year (every day solved for each size of the sweep): minutes of work.
YEAR_STUDY = {"template": "teda-east", "year": 2025, "sweep": "power=0,20,energy=0,40,80"}
DAY = dt.date(2026, 7, 15)


def statuses(client: Any, ids: list[str]) -> list[str]:
    return [client.get(f"/v1/jobs/{i}").json()["status"] for i in ids]


def test_a_schedule_is_answered_while_studies_hold_every_worker_they_may(new_server: Any) -> None:
    srv = new_server(VPP_WORKERS="2", VPP_MAX_SIZING_JOBS="2").start()  # VPP_STUDY_WORKERS: its default
    with srv.client(PLANNER) as planner, srv.client(OPERATOR) as operator:
        studies = []
        for _ in range(2):  # as many as the service takes at once
            r = planner.post("/v1/sizing", json=YEAR_STUDY)
            assert r.status_code == 202, r.text
            studies.append(r.json()["job_id"])
        wait_until(lambda: "running" in statuses(operator, studies), 60, "a study running")
        health = operator.get("/healthz").json()
        assert (health["workers"], health["study_workers"], health["studies_running"]) == (2, 1, 1), health
        assert sorted(statuses(operator, studies)) == ["queued", "running"]  # the second study waits for its worker

        r = operator.post("/v1/schedules", json={"template": "teda-east", "date": DAY.isoformat()})
        assert r.status_code == 201, r.text
        body = r.json()
        local = solve_case(resolve_case("teda-east", DAY), SolveOptions(mip_gap=1e-4, time_limit_s=60, threads=1))
        assert body["status"] == local.status == "optimal"
        assert body["date"] == DAY.isoformat()
        assert body["summary"]["objective_cny"] == pytest.approx(local.objective_cny, abs=1.0)  # to the yuan
        # answered beside the studies, not after them: they are where they were
        assert sorted(statuses(operator, studies)) == ["queued", "running"]


def test_a_server_without_study_workers_refuses_studies_with_the_reason(new_server: Any) -> None:
    srv = new_server(VPP_WORKERS="1").start()  # VPP_STUDY_WORKERS defaults to 0: the one worker is the control room's
    with srv.client(PLANNER) as planner:
        r = planner.post("/v1/sizing", json={"template": "teda-east", "typical_days": 2})
        assert planner.get("/healthz").json()["study_workers"] == 0
    assert r.status_code == 503, r.text
    assert r.json()["error"] == "unavailable"
    assert r.json()["message"] == ("this server runs no studies (VPP_STUDY_WORKERS=0: its workers are kept for "
                                   "schedules); submit the study to a server that runs them")
