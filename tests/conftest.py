"""Shared fixtures. Store-touching tests run on SQLite and on PostgreSQL (never skipped:
CI has PostgreSQL on 127.0.0.1:5432; point SAFEHOLD_TEST_PG_URL elsewhere if needed)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from safehold.core.settings import Settings
from safehold.services.context import ServiceContext
from safehold.store.db import Database

PG_URL = os.environ.get("SAFEHOLD_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _pg_schema_url() -> Iterator[str]:
    """A private schema per test so tests never see each other's rows."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    try:
        with admin.begin() as c:
            c.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # fail loudly: PostgreSQL tests are part of the suite
        raise RuntimeError(f"PostgreSQL not reachable at {PG_URL}: {exc}") from exc
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as c:
            c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'safehold.db'}"
    else:
        yield from _pg_schema_url()


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=db_url, workers=2, batch_files=8)


@pytest.fixture
def ctx(settings: Settings) -> Iterator[ServiceContext]:
    svc = ServiceContext.open(settings, actor="test:officer")
    yield svc
    svc.db.dispose()


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    d = Database(db_url)
    d.migrate()
    yield d
    d.dispose()
