"""Jobs after ingest: the gallery listing, matching and clustering, each a named, resumable step.

Each job wraps an existing function that is already safe to re-run (stamped or idempotent), and
has its own state per case in ``jobs``. A job is *stale* when it has not finished on the inputs it
would read now: the case's files (``files_stamp``), plus the hash-set generation for matching and
the radius for clusters. Ingest marks a case's jobs pending as each evidence item finishes; the
``ingest`` and ``demo`` commands then run the stale ones, and ``safehold jobs`` lists or reruns
them. A job that fails records its error and the next one still runs; one stopped by Ctrl-C is
marked *interrupted*; one left *running* by a process that no longer exists (kill -9) is shown as
interrupted, and being stale, runs again next time.
"""

from __future__ import annotations

import os
import shlex
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from safehold.core.clock import aware, utcnow
from safehold.core.errors import SafeholdError
from safehold.ingest.interrupt import Interrupted, check_stop
from safehold.services.audit import record_event
from safehold.services.authz import Authz, require
from safehold.services.cases import case_id_of
from safehold.services.context import ServiceContext
from safehold.services.gallery import ensure_gallery, files_stamp
from safehold.store.hashset_models import HashSet
from safehold.store.hashset_repo import generation
from safehold.store.ingest_repo import insert_ignore
from safehold.store.job_models import JobRow
from safehold.store.review_models import ContentCluster, GalleryState

__all__ = ["JOB_NAMES", "JobPublic", "keep_current", "list_jobs", "mark_pending", "run_jobs"]


@dataclass(frozen=True, slots=True)
class JobPublic:
    name: str
    state: str  # pending | running | done | interrupted | failed
    stale: bool  # its inputs changed since it last finished (or it never has)
    started_at: datetime | None
    finished_at: datetime | None
    detail: str | None  # what the last run did, or its error


def _gallery(ctx: ServiceContext, authz: Authz | None, case_id: int) -> str:
    if not ensure_gallery(ctx, case_id):
        raise SafeholdError("files were added meanwhile or the store stayed locked; run it again")
    with ctx.db.session() as s:
        media = s.scalar(select(GalleryState.media).where(GalleryState.case_id == case_id)) or 0
    return f"{media} images and videos listed"


def _match(ctx: ServiceContext, authz: Authz | None, case_id: int) -> str:
    """Matching is a use case of its own (checked and audited as ``match``), so it needs the actor."""
    if authz is None:
        raise SafeholdError("matching runs only for someone who asked for it")
    with ctx.db.session() as s:
        if s.scalar(select(HashSet.id).limit(1)) is None:
            return "nothing to match: no hash sets imported"
    from safehold.services.matching import match_case  # numpy and the PDQ index: only when there are sets

    r = match_case(ctx, authz, case_id)
    return (f"{r.exact_added} exact, {r.pdq_added} PDQ and {r.video_matches + r.video_frame_matches} "
            "video matches added")


def _clusters(ctx: ServiceContext, authz: Authz | None, case_id: int) -> str:
    from safehold.services.clusters import ensure_clusters

    ensure_clusters(ctx, case_id)
    with ctx.db.session() as s:
        n = s.scalar(select(func.count(func.distinct(ContentCluster.cluster)))
                     .where(ContentCluster.case_id == case_id)) or 0
    return f"{n} cluster{'' if n == 1 else 's'} of near-duplicates"


def _match_stamp(ctx: ServiceContext, s: Session, case_id: int) -> str:
    return f"{files_stamp(s, case_id)};sets={generation(s)}"


def _cluster_stamp(ctx: ServiceContext, s: Session, case_id: int) -> str:
    from safehold.services.clusters import cluster_stamp

    return cluster_stamp(s, case_id, ctx.settings.web.cluster_radius)


@dataclass(frozen=True, slots=True)
class _Job:
    name: str
    stamp: Callable[[ServiceContext, Session, int], str]  # the inputs it would read now
    run: Callable[[ServiceContext, Authz | None, int], str]  # does the work; returns what it did


_JOBS = (
    _Job("gallery", lambda ctx, s, case_id: files_stamp(s, case_id), _gallery),
    _Job("match", _match_stamp, _match),
    _Job("clusters", _cluster_stamp, _clusters),
)
JOB_NAMES = tuple(j.name for j in _JOBS)


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _gone(owner: str | None) -> bool:
    """Whether the process that set a job running is gone. One on another host cannot be checked
    from here and counts as alive."""
    host, _, pid = (owner or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return not owner
    try:
        os.kill(int(pid), 0)
    except (ProcessLookupError, OverflowError):
        return True
    except PermissionError:  # someone else's live process
        return False
    return False


def _public(name: str, row: JobRow | None, stamp: str) -> JobPublic:
    if row is None:
        return JobPublic(name, "pending", True, None, None, None)
    state = "interrupted" if row.state == "running" and _gone(row.owner) else row.state
    return JobPublic(name, state, state != "done" or row.stamp != stamp,
                     aware(row.started_at) if row.started_at else None,
                     aware(row.finished_at) if row.finished_at else None, row.detail)


def _states(ctx: ServiceContext, case_id: int, jobs: Sequence[_Job]) -> list[tuple[_Job, JobPublic, str]]:
    with ctx.db.session() as s:
        rows = {r.name: r for r in s.scalars(select(JobRow).where(JobRow.case_id == case_id))}
        out = []
        for job in jobs:
            stamp = job.stamp(ctx, s, case_id)
            out.append((job, _public(job.name, rows.get(job.name), stamp), stamp))
        return out


def list_jobs(ctx: ServiceContext, authz: Authz, case_ref: str | int) -> list[JobPublic]:
    """Every job of the case in the order they run, never run ones as pending and stale."""
    require(authz.can_read_case(case_id := case_id_of(ctx, case_ref)), "see this case's jobs")
    return [pub for _job, pub, _stamp in _states(ctx, case_id, _JOBS)]


def _ensure_rows(s: Session, case_id: int, names: Sequence[str]) -> None:
    """The rows exist afterwards, even when two processes (an ingest, the web app) add them at once."""
    insert_ignore(s, JobRow.__table__, [{"case_id": case_id, "name": n, "state": "pending"}  # type: ignore[arg-type]
                                        for n in names], ["case_id", "name"])


def mark_pending(s: Session, case_id: int) -> None:
    """New input for the case (an evidence item finished): every job is to run again. In the
    caller's transaction, so the item's *done* and its jobs' *pending* commit together. A run
    under way is left alone: it finishes on the older input, so its stamp makes it stale."""
    _ensure_rows(s, case_id, JOB_NAMES)
    s.execute(update(JobRow).where(JobRow.case_id == case_id, JobRow.state != "running").values(state="pending"))


def _set(ctx: ServiceContext, case_id: int, name: str, state: str, detail: str | None,
         stamp: str | None = None) -> JobPublic:
    now = utcnow()
    with ctx.db.session() as s:
        _ensure_rows(s, case_id, [name])
        row = s.get(JobRow, (case_id, name))
        assert row is not None
        row.state, row.detail = state, detail
        if state == "running":
            row.owner, row.started_at, row.finished_at = _owner(), now, None
        else:
            row.finished_at = now
        if stamp is not None:
            row.stamp = stamp
        return _public(name, row, row.stamp or "")


def _run_one(ctx: ServiceContext, authz: Authz | None, case_id: int, job: _Job, stamp: str) -> JobPublic:
    """Run one job, recording its state. A KeyboardInterrupt marks it interrupted and goes on up."""
    _set(ctx, case_id, job.name, "running", None)
    try:
        detail = job.run(ctx, authz, case_id)
    except KeyboardInterrupt:
        _set(ctx, case_id, job.name, "interrupted", "stopped by a signal before it finished")
        raise
    except Exception as exc:  # recorded; the next job still runs
        return _set(ctx, case_id, job.name, "failed", f"{type(exc).__name__}: {exc}")
    return _set(ctx, case_id, job.name, "done", detail, stamp)


def _selected(names: Sequence[str], only_stale: bool,
              states: list[tuple[_Job, JobPublic, str]]) -> list[tuple[_Job, str]]:
    unknown = sorted(set(names) - set(JOB_NAMES))
    if unknown:
        raise SafeholdError(f"no job {', '.join(unknown)} (jobs: {', '.join(JOB_NAMES)})")
    if names:  # asked for by name: run now, stale or not
        return [(job, stamp) for job, _pub, stamp in states if job.name in names]
    return [(job, stamp) for job, pub, stamp in states if pub.stale or not only_stale]


def run_jobs(ctx: ServiceContext, authz: Authz, case_ref: str | int, names: Sequence[str] = (),
             only_stale: bool = True, report: Callable[[JobPublic], None] | None = None) -> list[JobPublic]:
    """Run the named jobs (whether stale or not), or else every stale job (every job when not
    ``only_stale``), in order. Returns the jobs run, each as it ended; ``report`` hears of each
    as it ends. Raises ``Interrupted`` on Ctrl-C or SIGTERM, with the command that resumes."""
    require(authz.can_manage_case(case_id := case_id_of(ctx, case_ref)), "run this case's jobs")
    todo = _selected(names, only_stale, _states(ctx, case_id, _JOBS))
    done: list[JobPublic] = []
    for i, (job, stamp) in enumerate(todo):
        try:
            check_stop()
            pub = _run_one(ctx, authz, case_id, job, stamp)
        except KeyboardInterrupt:
            record_event(ctx, authz.actor, "job-run", case_id, None, job=job.name, state="interrupted")
            again = " ".join(f"--run {j.name}" for j, _stamp in todo[i:])
            raise Interrupted(f"job {job.name} of case {case_id} stopped",
                              f"safehold jobs {shlex.quote(str(case_ref))} {again}") from None
        record_event(ctx, authz.actor, "job-run", case_id, None, job=job.name, state=pub.state)
        done.append(pub)
        if report is not None:
            report(pub)
    return done


def keep_current(ctx: ServiceContext, case_id: int, names: Sequence[str] = JOB_NAMES) -> None:
    """Run the stale ones of ``names``, recording their state (the web app's after-response
    refresh). Internal: the caller has checked access; nothing is audited, as no one asked."""
    for job, _stamp in _selected((), True, _states(ctx, case_id, [j for j in _JOBS if j.name in names])):
        _run_one(ctx, None, case_id, job, _stamp)
