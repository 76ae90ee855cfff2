"""The state of a case's jobs after ingest (gallery listing, matching, clusters).

One row per (case, job name). ``stamp`` names the inputs the job last finished on, in the job's
own terms (the case's files, the hash-set generation, the cluster radius), so a listing can say a
job is stale without running it. ``owner`` (host:pid) is who set it *running*: a row left running
by a process that no longer exists was interrupted (a kill -9, a power cut), not still at work.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from safehold.store.models import Base

__all__ = ["JOB_STATES", "JobRow"]

#: What a job can be: never run or made stale by new input, at work, finished, stopped, broken.
JOB_STATES = ("pending", "running", "done", "interrupted", "failed")


class JobRow(Base):
    __tablename__ = "jobs"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    state: Mapped[str] = mapped_column(String(20), default="pending")
    stamp: Mapped[str | None] = mapped_column(String(200))  # inputs of the last finished run
    owner: Mapped[str | None] = mapped_column(String(200))  # host:pid that set it running
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    detail: Mapped[str | None] = mapped_column(Text)  # what it did, or its error
