"""The review server: ``create_app(settings)`` builds a FastAPI app with everything it needs
passed in (store, settings, login throttle, evidence reference cache, revealed videos' files);
nothing is global.

Every route but the sign-in page and static files needs a signed-in user (each router carries
the ``current_user`` dependency); services decide what that user may do. Responses carry a
strict Content-Security-Policy (scripts and styles from this server only, no inline script),
forbid framing and sniffing, send no referrer, and are not cached except static files.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from safehold import __version__
from safehold.core.errors import AuthError, ForbiddenError, NotFoundError, SafeholdError, TooManyAttemptsError
from safehold.core.settings import Settings
from safehold.services.auth import LoginThrottle
from safehold.services.context import ServiceContext
from safehold.services.near import CaseIndexes
from safehold.services.playback import PlaybackFiles
from safehold.services.refresh import CaseRefresher
from safehold.services.reopen import RefCache
from safehold.web.routes import account, audit, auth, cases, items, media, queues

__all__ = ["PUBLIC_PATHS", "SECURITY_HEADERS", "create_app"]

_HERE = Path(__file__).parent
PUBLIC_PATHS = ("/login", "/static")  # the only things an anonymous request may reach

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; media-src 'self'; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}


def _wants_html(request: Request) -> bool:
    return (request.method == "GET" and "HX-Request" not in request.headers
            and "text/html" in request.headers.get("accept", ""))


def _error(request: Request, status: int, message: str) -> Response:
    if request.headers.get("accept", "").startswith("application/json") or request.url.path.endswith(".json"):
        return JSONResponse({"error": message}, status_code=status)
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(request, "error.html", {"status": status, "message": message},
                                      status_code=status)


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(TooManyAttemptsError)
    async def _throttled(request: Request, exc: TooManyAttemptsError) -> Response:
        resp = _error(request, 429, str(exc))
        resp.headers["Retry-After"] = str(exc.retry_after)
        return resp

    @app.exception_handler(AuthError)
    async def _unauthenticated(request: Request, exc: AuthError) -> Response:
        if _wants_html(request):
            return RedirectResponse("/login", status_code=303)
        return _error(request, 401, str(exc))

    @app.exception_handler(ForbiddenError)
    async def _forbidden(request: Request, exc: ForbiddenError) -> Response:
        return _error(request, 403, str(exc))

    @app.exception_handler(NotFoundError)
    async def _not_found(request: Request, exc: NotFoundError) -> Response:
        return _error(request, 404, str(exc))

    @app.exception_handler(SafeholdError)
    async def _bad_request(request: Request, exc: SafeholdError) -> Response:
        return _error(request, 400, str(exc))


def create_app(settings: Settings, ctx: ServiceContext | None = None) -> FastAPI:
    """The app over ``settings``' store (migrated on start); ``ctx`` lets tests share theirs."""
    ctx = ctx or ServiceContext.open(settings, actor="web")
    playback = PlaybackFiles(settings.tmp_dir / "playback")

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        playback.close()  # spooled copies of revealed videos go with the server

    app = FastAPI(title="Safehold review", version=__version__, docs_url=None, redoc_url=None, openapi_url=None,
                  lifespan=lifespan)
    app.state.playback = playback
    app.state.ctx = ctx
    app.state.settings = settings
    app.state.throttle = LoginThrottle(settings.web.login_max_failures, settings.web.login_window_seconds,
                                       settings.web.login_max_failures_per_address)
    app.state.refs = RefCache()
    app.state.near = CaseIndexes()
    app.state.refresher = CaseRefresher()
    templates = Jinja2Templates(directory=str(_HERE / "templates"))
    templates.env.globals["version"] = __version__
    app.state.templates = templates
    _install_handlers(app)

    @app.middleware("http")
    async def _headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        for k, v in SECURITY_HEADERS.items():
            response.headers.setdefault(k, v)
        if request.url.scheme == "https":  # served over TLS: browsers must not fall back to http
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if not request.url.path.startswith("/static/"):
            response.headers["Cache-Control"] = "no-store"
        return response

    app.mount("/static", StaticFiles(directory=str(_HERE / "static")), name="static")
    for module in (auth, cases, queues, items, media, account, audit):
        app.include_router(module.router)

    return app
