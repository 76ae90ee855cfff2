"""What the benches share for PostgreSQL: a private schema, made fresh and dropped after."""

from __future__ import annotations

from sqlalchemy import create_engine, text

__all__ = ["reset_schema"]


def reset_schema(admin_url: str, schema: str, drop_only: bool = False) -> None:
    """Drop ``schema`` with everything in it and, unless ``drop_only``, create it empty."""
    eng = create_engine(admin_url)
    with eng.begin() as c:
        c.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        if not drop_only:
            c.execute(text(f'CREATE SCHEMA "{schema}"'))
    eng.dispose()
