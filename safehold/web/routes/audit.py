"""The audit log, for auditors: browse, verify the chain, export as JSON lines."""

from __future__ import annotations

import io
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse

from safehold.services.audit import export_audit, list_audit, verify_audit
from safehold.web.deps import Ctx, CurrentUser, Templates, current_user
from safehold.web.render import page

router = APIRouter(dependencies=[Depends(current_user)])


@router.get("/audit", response_class=HTMLResponse)
def browse(request: Request, ctx: Ctx, user: CurrentUser, templates: Templates,
           actor: Annotated[str | None, Query(max_length=200)] = None,
           action: Annotated[str | None, Query(max_length=40)] = None,
           case: Annotated[str | None, Query(max_length=12, pattern=r"^[0-9]*$")] = None,
           offset: Annotated[int, Query(ge=0)] = 0) -> Response:
    """The filter form sends empty fields for "any"."""
    case_id = int(case) if case else None
    result = list_audit(ctx, user.authz, actor or None, action or None, case_id, offset)
    return page(templates, request, user, "audit.html", log=result, actor=actor or "", action=action or "",
                case=case_id, verification=None)


@router.get("/audit/verify", response_class=HTMLResponse)
def verify(request: Request, ctx: Ctx, user: CurrentUser, templates: Templates) -> Response:
    result = verify_audit(ctx, user.authz)
    return page(templates, request, user, "audit.html", log=list_audit(ctx, user.authz), actor="", action="",
                case=None, verification=result)


@router.post("/audit/export")
def export(ctx: Ctx, user: CurrentUser) -> Response:
    buf = io.StringIO()
    export_audit(ctx, user.authz, buf)
    return Response(buf.getvalue(), media_type="application/x-ndjson",
                    headers={"Content-Disposition": 'attachment; filename="safehold-audit.jsonl"'})
