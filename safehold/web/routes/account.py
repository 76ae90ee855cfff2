"""The user's own page: their exposure count and viewing preferences."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from safehold.services.accounts import set_grayscale
from safehold.services.dashboard import my_cases
from safehold.services.reveal import my_exposure
from safehold.web.deps import Ctx, CurrentUser, Templates, current_user
from safehold.web.render import page

router = APIRouter(dependencies=[Depends(current_user)])


@router.get("/me", response_class=HTMLResponse)
def me(request: Request, ctx: Ctx, user: CurrentUser, templates: Templates) -> Response:
    exposure = my_exposure(ctx, user.authz) if user.authz.user_id is not None else None
    lead = [c for c in my_cases(ctx, user.authz) if user.authz.can_see_team_exposure(c.id)]
    return page(templates, request, user, "me.html", exposure=exposure, lead_cases=lead)


@router.post("/me/preferences")
def preferences(ctx: Ctx, user: CurrentUser, grayscale: Annotated[bool, Form()] = False) -> Response:
    set_grayscale(ctx, user.authz, grayscale)
    return RedirectResponse("/me", status_code=303)
