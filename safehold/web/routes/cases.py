"""Cases: the list, the dashboard (with live ingest progress), review settings, exports, and
the team's exposure."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.background import BackgroundTask
from starlette.responses import FileResponse

from safehold.services.cases import list_cases
from safehold.services.dashboard import case_dashboard, case_name, ingest_progress
from safehold.services.exports import export_vics
from safehold.services.reveal import team_exposure
from safehold.services.review import review_settings, update_review_settings
from safehold.web.deps import Ctx, CurrentUser, Refresher, Templates, current_user
from safehold.web.render import page

router = APIRouter(dependencies=[Depends(current_user)])


@router.get("/", response_class=HTMLResponse)
def home(user: CurrentUser) -> Response:
    return RedirectResponse("/cases", status_code=303)


@router.get("/cases", response_class=HTMLResponse)
def cases(request: Request, ctx: Ctx, user: CurrentUser, templates: Templates) -> Response:
    return page(templates, request, user, "cases.html", cases=list_cases(ctx, user.authz))


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def dashboard(case_id: int, request: Request, ctx: Ctx, user: CurrentUser, templates: Templates,
              background: BackgroundTasks, refresher: Refresher) -> Response:
    d = case_dashboard(ctx, user.authz, case_id)
    background.add_task(refresher.refresh, ctx, case_id)  # ready by the time the reviewer opens a queue
    return page(templates, request, user, "dashboard.html", d=d, case_id=case_id,
                settings=review_settings(ctx, user.authz, case_id))


@router.get("/cases/{case_id}/progress", response_class=HTMLResponse)
def progress(case_id: int, request: Request, ctx: Ctx, user: CurrentUser, templates: Templates) -> Response:
    """The progress fragment; htmx polls it while an ingest is running."""
    return page(templates, request, user, "_progress.html", progress=ingest_progress(ctx, user.authz, case_id),
                case_id=case_id)


@router.post("/cases/{case_id}/settings")
def settings(case_id: int, ctx: Ctx, user: CurrentUser, scheme: Annotated[str, Form(max_length=40)],
             two_person: Annotated[bool, Form()] = False) -> Response:
    update_review_settings(ctx, user.authz, case_id, scheme, two_person)
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


@router.post("/cases/{case_id}/export/vics")
def export(case_id: int, ctx: Ctx, user: CurrentUser) -> Response:
    tmp = Path(tempfile.mkdtemp(dir=_tmp(ctx)))
    out = tmp / f"case-{case_id}-vics.json"
    export_vics(ctx, user.authz, case_id, out)
    return FileResponse(out, media_type="application/json", filename=out.name,
                        background=BackgroundTask(_cleanup, tmp))


@router.get("/cases/{case_id}/team", response_class=HTMLResponse)
def team(case_id: int, request: Request, ctx: Ctx, user: CurrentUser, templates: Templates) -> Response:
    return page(templates, request, user, "team.html", case_id=case_id, case_name=case_name(ctx, user.authz, case_id),
                team=team_exposure(ctx, user.authz, case_id))


def _tmp(ctx: Ctx) -> Path:
    ctx.settings.tmp_dir.mkdir(parents=True, exist_ok=True)
    return ctx.settings.tmp_dir


def _cleanup(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)
