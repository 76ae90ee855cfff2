"""Web fixtures: the benign review case (SQLite and PostgreSQL, via the shared ``ctx``) and an app
over it. Cookies are not Secure here because TestClient speaks plain http."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from safehold.core.settings import Settings, WebSettings
from safehold.services.context import ServiceContext
from safehold.testing.review import PASSWORD, ReviewCase, build_review_case
from safehold.web.app import create_app


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=db_url, workers=1, batch_files=8,
                    web=WebSettings(secure_cookies=False))


@pytest.fixture
def review(ctx: ServiceContext, tmp_path: Path) -> ReviewCase:
    return build_review_case(ctx, tmp_path / "evidence")


@pytest.fixture
def app(ctx: ServiceContext, review: ReviewCase) -> FastAPI:
    return create_app(ctx.settings, ctx)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


def login(client: TestClient, name: str, password: str = PASSWORD) -> str:
    """Sign in through the form; returns the session's CSRF token."""
    form = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    r = client.post("/login", data={"username": name, "password": password, "csrf_token": token.group(1)},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    page = client.get("/me")
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    assert csrf is not None
    return csrf.group(1)


def signed_in(app: FastAPI, name: str) -> tuple[TestClient, str]:
    c = TestClient(app)
    return c, login(c, name)
