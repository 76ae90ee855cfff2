"""Alembic environment: the engine is handed in by safehold.store.migrate (never from an ini)."""

from __future__ import annotations

from alembic import context

# Imported for their side effect: each registers its tables on Base.metadata.
from safehold.store import artifact_models, hashset_models, job_models, review_models  # noqa: F401
from safehold.store.models import Base

config = context.config
engine = config.attributes.get("engine")
if engine is None:  # pragma: no cover - only for `alembic revision --autogenerate` by developers
    from sqlalchemy import create_engine

    engine = create_engine(config.get_main_option("sqlalchemy.url") or "sqlite://")

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    context.run_migrations()
