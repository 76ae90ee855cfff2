"""Signing in and out. The sign-in form is the one page open to anonymous requests; it carries
its own CSRF token (a cookie and a form field that must agree), since there is no session yet."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from safehold.core.errors import AuthError, ForbiddenError
from safehold.services.auth import login, logout
from safehold.web.deps import SESSION_COOKIE, Ctx, CurrentUser, Templates, Throttle

router = APIRouter()

LOGIN_COOKIE = "safehold_login"


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, ctx: Ctx, templates: Templates) -> Response:
    token = secrets.token_hex(16)
    resp = templates.TemplateResponse(request, "login.html", {"login_csrf": token, "error": None})
    resp.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", path="/login",
                    secure=ctx.settings.web.secure_cookies)
    return resp


@router.post("/login")
def login_submit(
    request: Request, ctx: Ctx, templates: Templates, throttle: Throttle,
    username: Annotated[str, Form(max_length=100)], password: Annotated[str, Form(max_length=1000)],
    csrf_token: Annotated[str, Form(max_length=100)],
) -> Response:
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie, csrf_token):
        raise ForbiddenError("the sign-in form expired: reload the page")
    try:
        token = login(ctx, throttle, username, password, _client(request))
    except AuthError as exc:
        if getattr(exc, "retry_after", None):
            raise
        return templates.TemplateResponse(request, "login.html", {"login_csrf": cookie, "error": str(exc)},
                                          status_code=401)
    resp: Response = RedirectResponse("/cases", status_code=303)
    resp.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict", path="/",
                    secure=ctx.settings.web.secure_cookies, max_age=int(ctx.settings.web.session_hours * 3600))
    resp.delete_cookie(LOGIN_COOKIE, path="/login")
    return resp


@router.post("/logout")
def logout_submit(ctx: Ctx, user: CurrentUser) -> Response:
    logout(ctx, user)
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp
