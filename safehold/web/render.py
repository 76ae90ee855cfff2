"""Rendering helpers shared by the routers: every page gets the user and their CSRF token."""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response
from fastapi.templating import Jinja2Templates

from safehold.services.auth import SignedIn

__all__ = ["page"]


def page(templates: Jinja2Templates, request: Request, user: SignedIn, name: str, status_code: int = 200,
         **context: Any) -> Response:
    return templates.TemplateResponse(
        request, name, {"user": user.authz, "csrf": user.csrf_token, "grayscale": user.grayscale, **context},
        status_code=status_code,
    )
