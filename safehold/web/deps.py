"""Request dependencies, as ``Annotated`` aliases routes declare: the service context, the signed-in
user (with CSRF checked on every state-changing request) and the app's shared helpers.

Access rules are not decided here: the services check them, one line per use case. What is
decided here is only *who* is asking, and that a state-changing request came from our own page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

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


def _state(name: str) -> Callable[[Request], Any]:
    """A dependency handing out one of the helpers ``create_app`` put on the app's state; the
    ``Annotated`` aliases below give each its type."""

    def get(request: Request) -> Any:
        return getattr(request.app.state, name)

    get.__name__ = f"state_{name}"
    return get


Ctx = Annotated[ServiceContext, Depends(_state("ctx"))]
Templates = Annotated[Jinja2Templates, Depends(_state("templates"))]
Throttle = Annotated[LoginThrottle, Depends(_state("throttle"))]
Refs = Annotated[RefCache, Depends(_state("refs"))]
Refresher = Annotated[CaseRefresher, Depends(_state("refresher"))]
Playback = Annotated[PlaybackFiles, Depends(_state("playback"))]
Near = Annotated[CaseIndexes, Depends(_state("near"))]


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

