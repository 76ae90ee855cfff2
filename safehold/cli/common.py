"""Shared CLI plumbing: settings from flags, one service context per command, who is acting, error output.

No traceback reaches the user: known errors print one line and exit 1; a stop signal (Ctrl-C,
SIGTERM) prints one line saying how to resume and exits 130.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, is_dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

from safehold.core.errors import SafeholdError
from safehold.core.settings import Settings
from safehold.ingest.interrupt import EXIT_INTERRUPTED, Interrupted
from safehold.services.accounts import account_authz
from safehold.services.authz import Authz
from safehold.services.context import ServiceContext

__all__ = [
    "EXIT_INTERNAL",
    "EXIT_ITEM_ERRORS",
    "State",
    "acting",
    "console",
    "dump_json",
    "err_console",
    "service",
    "write_error_report",
]

EXIT_ITEM_ERRORS = 3  # the command finished, but errors were recorded against some items
EXIT_INTERNAL = 70  # an unexpected failure (sysexits EX_SOFTWARE); its traceback is written to a file

console = Console()
err_console = Console(stderr=True)


@dataclass(slots=True)
class State:
    data_dir: Path | None = None
    database_url: str | None = None
    workers: int | None = None
    as_user: str | None = None  # --as / SAFEHOLD_USER
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
    except SafeholdError as exc:  # ForbiddenError included: "error: not allowed to …"
        err_console.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True, highlight=False)
        raise typer.Exit(1) from None
    except Exception as exc:  # a bug or a broken store: one line here, the traceback in the data dir
        report = write_error_report(exc, state.settings().data_dir / "logs")
        err_console.print(f"[red]error:[/red] {escape(f'{type(exc).__name__}: {exc}'[:300])} (details: {report})",
                          soft_wrap=True, highlight=False)
        raise typer.Exit(EXIT_INTERNAL) from None
    finally:
        if svc is not None:
            svc.db.dispose()


def write_error_report(exc: BaseException, folder: Path) -> Path | str:
    """The traceback of an unexpected failure, kept for whoever fixes it (never shown to the user).
    Falls back to the system's temporary folder when the data directory cannot be written."""
    text = "".join(traceback.format_exception(exc))
    name = f"error-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}-{os.getpid()}.log"
    for where in (folder, Path(tempfile.gettempdir())):
        try:
            where.mkdir(parents=True, exist_ok=True)
            path = where / name
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            return path
        except OSError:
            continue
    return "not written"


def acting(ctx: typer.Context, svc: ServiceContext) -> Authz:
    """Who this command acts as: the account named by ``--as`` / ``SAFEHOLD_USER``, with its role
    and cases (an unknown or disabled one is an error), or else the local operator, named by the
    OS user (``cli:NAME``). Called inside ``service``, so a refusal prints one line."""
    state: State = ctx.obj
    if state.as_user:
        return account_authz(svc, state.as_user)
    return Authz.local(svc.actor)


def _default(o: Any) -> Any:
    if is_dataclass(o) and not isinstance(o, type):
        return asdict(o)
    if isinstance(o, Path):
        return str(o)
    return str(o)


def dump_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, default=_default, ensure_ascii=False) + "\n")
