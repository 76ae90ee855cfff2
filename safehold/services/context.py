"""What every use case receives: the database, settings and who is acting.

Passed explicitly (no globals) so the web app, the CLI and tests build their own.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass

from safehold.core.settings import Settings
from safehold.store.db import Database

__all__ = ["ServiceContext", "local_actor"]


def local_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


@dataclass(slots=True)
class ServiceContext:
    db: Database
    settings: Settings
    actor: str

    @classmethod
    def open(cls, settings: Settings, actor: str | None = None) -> ServiceContext:
        db = Database(settings.db_url)
        db.migrate()
        return cls(db, settings, actor or local_actor())
