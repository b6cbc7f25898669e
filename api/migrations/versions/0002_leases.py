"""Leases on running jobs, for several servers on one database; an index for the queue.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a job left running by a server of revision 0001 has no lease: it ends at heartbeat_at + VPP_JOB_LEASE_S
    op.add_column("jobs", sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_jobs_queue", "jobs", ["status", "kind", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_jobs_queue", "jobs")
    with op.batch_alter_table("jobs") as batch:  # SQLite drops a column by copying the table
        batch.drop_column("lease_until")
