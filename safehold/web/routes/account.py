"""The user's own page: their exposure count, viewing preferences and password."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from safehold.core.errors import AuthError, SafeholdError, TooManyAttemptsError
from safehold.services.accounts import change_own_password, set_grayscale
from safehold.services.auth import SignedIn
from safehold.services.cases import list_cases
from safehold.services.reveal import my_exposure
from safehold.web.deps import Ctx, CurrentUser, Templates, Throttle, current_user
from safehold.web.render import page

router = APIRouter(dependencies=[Depends(current_user)])


def _me(request: Request, ctx: Ctx, user: SignedIn, templates: Templates, message: str | None = None,
        status_code: int = 200) -> Response:
    exposure = my_exposure(ctx, user.authz) if user.authz.user_id is not None else None
    lead = [c for c in list_cases(ctx, user.authz) if user.authz.can_see_team_exposure(c.id)]
    return page(templates, request, user, "me.html", status_code, exposure=exposure, lead_cases=lead,
                message=message)


@router.get("/me", response_class=HTMLResponse)
def me(request: Request, ctx: Ctx, user: CurrentUser, templates: Templates) -> Response:
    return _me(request, ctx, user, templates)


@router.post("/me/password", response_class=HTMLResponse)
def password(request: Request, ctx: Ctx, user: CurrentUser, templates: Templates, throttle: Throttle,
             current: Annotated[str, Form(max_length=1000)], new: Annotated[str, Form(max_length=1000)],
             again: Annotated[str, Form(max_length=1000)]) -> Response:
    """Change one's own password. A wrong current password counts as a failed sign-in, so a
    left-open session cannot be used to guess it."""
    client = request.client.host if request.client else "unknown"
    wait = throttle.retry_after(user.authz.name, client)
    if wait:
        raise TooManyAttemptsError(f"too many wrong passwords: try again in {wait} s", wait)
    try:
        if new != again:
            raise SafeholdError("the two new passwords differ")
        change_own_password(ctx, user.authz, current, new, user.token_hash)
    except AuthError as exc:
        throttle.failed(user.authz.name, client)
        return _me(request, ctx, user, templates, str(exc), 400)
    except SafeholdError as exc:
        return _me(request, ctx, user, templates, str(exc), 400)
    return _me(request, ctx, user, templates, "Password changed; your other sessions are signed out.")


@router.post("/me/preferences")
def preferences(ctx: Ctx, user: CurrentUser, grayscale: Annotated[bool, Form()] = False) -> Response:
    set_grayscale(ctx, user.authz, grayscale)
    return RedirectResponse("/me", status_code=303)
