"""What every use case receives: the database, settings and who is acting.

Passed explicitly (no globals) so the web app, the CLI and tests build their own. ``os_user`` is
the operating-system account running the process: every audit record carries it next to the
acting user, whether that is a signed-in account, ``--as NAME`` or the local operator.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass, field

from safehold.core.settings import Settings
from safehold.store.db import Database

__all__ = ["ServiceContext", "local_actor", "os_user"]


def os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def local_actor() -> str:
    return f"cli:{os_user()}"


@dataclass(slots=True)
class ServiceContext:
    db: Database
    settings: Settings
    actor: str
    os_user: str = field(default_factory=os_user)

    @classmethod
    def open(cls, settings: Settings, actor: str | None = None) -> ServiceContext:
        db = Database(settings.db_url)
        db.migrate()
        return cls(db, settings, actor or local_actor())
