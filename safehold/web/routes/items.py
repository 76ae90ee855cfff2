"""One item: its detail page, and the review actions on it (categorise, confirm, notes, tags).

Categorising answers JSON, for the gallery's keyboard script to update the tiles it changed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from safehold.services.dashboard import case_name
from safehold.services.items import item_detail
from safehold.services.reveal import active_reveal
from safehold.services.review import add_note, add_tag, categorise, confirm, remove_tag, review_settings
from safehold.web.deps import Ctx, CurrentUser, Near, Templates, current_user
from safehold.web.render import page

router = APIRouter(dependencies=[Depends(current_user)])

Sha = Annotated[str, Path(pattern="^[0-9a-f]{64}$")]


@router.get("/cases/{case_id}/items/{sha256}", response_class=HTMLResponse)
def item(case_id: int, sha256: Sha, request: Request, ctx: Ctx, user: CurrentUser, templates: Templates,
         near: Near) -> Response:
    detail = item_detail(ctx, user.authz, case_id, sha256, near)
    return page(templates, request, user, "item.html", case_id=case_id, case_name=case_name(ctx, user.authz, case_id),
                it=detail, settings=review_settings(ctx, user.authz, case_id),
                reveal=active_reveal(ctx, user.authz, case_id, sha256))


@router.post("/cases/{case_id}/items/{sha256}/categorise")
def categorise_item(case_id: int, sha256: Sha, request: Request, ctx: Ctx, user: CurrentUser,
                    code: Annotated[str, Form(max_length=40)], cluster: Annotated[bool, Form()] = False) -> Response:
    decisions = categorise(ctx, user.authz, case_id, sha256, code, cluster)
    if "application/json" not in request.headers.get("accept", ""):  # the item page's plain form
        return RedirectResponse(f"/cases/{case_id}/items/{sha256}", status_code=303)
    return JSONResponse({"items": [{"sha256": d.sha256, "code": d.code, "label": d.label, "status": d.status}
                                   for d in decisions]})


@router.post("/cases/{case_id}/items/{sha256}/confirm")
def confirm_item(case_id: int, sha256: Sha, ctx: Ctx, user: CurrentUser) -> Response:
    confirm(ctx, user.authz, case_id, sha256)
    return RedirectResponse(f"/cases/{case_id}/items/{sha256}", status_code=303)


@router.post("/cases/{case_id}/items/{sha256}/notes")
def note(case_id: int, sha256: Sha, ctx: Ctx, user: CurrentUser,
         text: Annotated[str, Form(max_length=4000)]) -> Response:
    add_note(ctx, user.authz, case_id, sha256, text)
    return RedirectResponse(f"/cases/{case_id}/items/{sha256}", status_code=303)


@router.post("/cases/{case_id}/items/{sha256}/tags")
def tag(case_id: int, sha256: Sha, ctx: Ctx, user: CurrentUser, tag: Annotated[str, Form(max_length=60)],
        remove: Annotated[bool, Form()] = False) -> Response:
    (remove_tag if remove else add_tag)(ctx, user.authz, case_id, sha256, tag)
    return RedirectResponse(f"/cases/{case_id}/items/{sha256}", status_code=303)
