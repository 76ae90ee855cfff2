"""Shared CLI plumbing: settings from flags, one service context per command, error output.

No traceback reaches the user: known errors print one line and exit 1; a stop signal (Ctrl-C,
SIGTERM) prints one line saying how to resume and exits 130.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, is_dataclass
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from safehold.core.errors import SafeholdError
from safehold.core.settings import Settings
from safehold.ingest.interrupt import EXIT_INTERRUPTED, Interrupted
from safehold.services.authz import Authz
from safehold.services.context import ServiceContext

__all__ = ["EXIT_ITEM_ERRORS", "State", "acting", "console", "dump_json", "err_console", "service"]

EXIT_ITEM_ERRORS = 3  # the command finished, but errors were recorded against some items

console = Console()
err_console = Console(stderr=True)


@dataclass(slots=True)
class State:
    data_dir: Path | None = None
    database_url: str | None = None
    workers: int | None = None
    _ctx: ServiceContext | None = field(default=None, repr=False)

    def settings(self) -> Settings:
        overrides: dict[str, Any] = {}
        if self.data_dir is not None:
            overrides["data_dir"] = self.data_dir
        if self.database_url:
            overrides["database_url"] = self.database_url
        if self.workers:
            overrides["workers"] = self.workers
        return Settings(**overrides)


@contextmanager
def service(ctx: typer.Context) -> Iterator[ServiceContext]:
    """Open the store for one command; known errors print one line and exit 1."""
    state: State = ctx.obj
    svc: ServiceContext | None = None
    try:
        svc = ServiceContext.open(state.settings())
        yield svc
    except Interrupted as exc:
        err_console.print(str(exc), markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except KeyboardInterrupt:  # stopped outside a resumable step: nothing to resume
        err_console.print("interrupted", markup=False, highlight=False)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except SafeholdError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    finally:
        if svc is not None:
            svc.db.dispose()


def acting(ctx: typer.Context, svc: ServiceContext) -> Authz:
    """Who the command acts as. Placeholder: always the local operator (``svc.actor``); the real
    one, with a ``--as NAME`` option, comes from the access-control work."""
    return Authz.local(svc.actor)


def _default(o: Any) -> Any:
    if is_dataclass(o) and not isinstance(o, type):
        return asdict(o)
    if isinstance(o, Path):
        return str(o)
    return str(o)


def dump_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, default=_default, ensure_ascii=False) + "\n")
