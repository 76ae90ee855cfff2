"""Request dependencies, as ``Annotated`` aliases routes declare: the service context, the signed-in
user (with CSRF checked on every state-changing request) and the app's shared helpers.

Access rules are not decided here: the services check them, one line per use case. What is
decided here is only *who* is asking, and that a state-changing request came from our own page.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates

from safehold.core.errors import ForbiddenError
from safehold.services.auth import LoginThrottle, SignedIn, csrf_ok, resolve_session
from safehold.services.context import ServiceContext
from safehold.services.near import CaseIndexes
from safehold.services.playback import PlaybackFiles
from safehold.services.refresh import CaseRefresher
from safehold.services.reopen import RefCache

__all__ = [
    "CSRF_FIELD",
    "CSRF_HEADER",
    "SAFE_METHODS",
    "SESSION_COOKIE",
    "Ctx",
    "CurrentUser",
    "Near",
    "Playback",
    "Refresher",
    "Refs",
    "Templates",
    "Throttle",
    "current_user",
]

SESSION_COOKIE = "safehold_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _ctx(request: Request) -> ServiceContext:
    ctx: ServiceContext = request.app.state.ctx
    return ctx


def _templates(request: Request) -> Jinja2Templates:
    t: Jinja2Templates = request.app.state.templates
    return t


def _throttle(request: Request) -> LoginThrottle:
    t: LoginThrottle = request.app.state.throttle
    return t


def _refs(request: Request) -> RefCache:
    r: RefCache = request.app.state.refs
    return r


def _near(request: Request) -> CaseIndexes:
    n: CaseIndexes = request.app.state.near
    return n


def _playback(request: Request) -> PlaybackFiles:
    p: PlaybackFiles = request.app.state.playback
    return p


def _refresher(request: Request) -> CaseRefresher:
    r: CaseRefresher = request.app.state.refresher
    return r


Ctx = Annotated[ServiceContext, Depends(_ctx)]
Templates = Annotated[Jinja2Templates, Depends(_templates)]
Throttle = Annotated[LoginThrottle, Depends(_throttle)]
Refs = Annotated[RefCache, Depends(_refs)]
Refresher = Annotated[CaseRefresher, Depends(_refresher)]
Playback = Annotated[PlaybackFiles, Depends(_playback)]
Near = Annotated[CaseIndexes, Depends(_near)]


def _session(request: Request, ctx: Ctx) -> SignedIn:
    """Sync, so its database read runs in the thread pool rather than on the event loop."""
    return resolve_session(ctx, request.cookies.get(SESSION_COOKIE))


async def current_user(request: Request, signed: Annotated[SignedIn, Depends(_session)]) -> SignedIn:
    """The signed-in user; for POST, PUT, PATCH and DELETE also the session's CSRF token, from the
    ``X-CSRF-Token`` header (htmx and scripts) or the ``csrf_token`` form field (plain forms)."""
    if request.method not in SAFE_METHODS:
        presented = request.headers.get(CSRF_HEADER)
        if presented is None and request.headers.get("content-type", "").startswith(
                ("application/x-www-form-urlencoded", "multipart/form-data")):
            field = (await request.form()).get(CSRF_FIELD)
            presented = field if isinstance(field, str) else None
        if not csrf_ok(signed, presented):
            raise ForbiddenError("missing or wrong CSRF token: reload the page and try again")
    request.state.user = signed
    return signed


CurrentUser = Annotated[SignedIn, Depends(current_user)]

