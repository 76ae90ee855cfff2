"""The ``safehold`` console script: starts ingest workers early, then loads the CLI.

Importing the whole CLI costs ~0.7 s (every command's services and their libraries), and an
ingest then waits ~0.45 s more while multiprocessing's forkserver imports the analysers. When
the command line asks for work that runs workers (``ingest``, ``demo``), the forkserver is started
first, so that both imports run at once on different cores. Nothing here imports the CLI.
"""

from __future__ import annotations

import importlib.util
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Final

__all__ = ["main", "runs_workers"]

#: Top-level commands that run ingest workers.
_WORKER_COMMANDS: Final = frozenset({"ingest", "demo", "analyse"})
#: Global options that take a value (``safehold --data-dir D ingest CASE``).
_VALUED: Final = frozenset({"--data-dir", "--database-url", "--workers", "--as"})


def main() -> None:
    _main_is_a_module()
    if runs_workers(sys.argv[1:]):
        from safehold.ingest.executor import start_forkserver

        start_forkserver()
    from safehold.cli.app import app

    try:
        app()
    except Exception as exc:  # outside any command's store (a bug): one line, never a traceback
        from safehold.cli.common import EXIT_INTERNAL, write_error_report

        report = write_error_report(exc, Path(tempfile.gettempdir()))
        sys.stderr.write(f"error: {type(exc).__name__}: {str(exc)[:300]} (details: {report})\n")
        sys.exit(EXIT_INTERNAL)


def runs_workers(args: Sequence[str]) -> bool:
    """Whether this command line is one that starts ingest worker processes."""
    rest = list(args)
    while rest and rest[0].startswith("-"):
        option = rest.pop(0)
        if option in _VALUED and rest:
            rest.pop(0)
    if not rest or rest[0] not in _WORKER_COMMANDS:
        return False
    return "--help" not in rest and _executor_choice(rest) != "inline"


def _executor_choice(args: list[str]) -> str:
    for i, arg in enumerate(args):
        if arg == "--executor" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--executor="):
            return arg.split("=", 1)[1]
    return "local"


def _main_is_a_module() -> None:
    """Name the console script's ``__main__`` as the module it stands for.

    multiprocessing starts each worker by re-running the parent's main *script* by path (here:
    the whole CLI, ~0.9 s of CPU per worker) unless ``__main__`` has a module spec whose name
    ends in ``.__main__``, which it skips, as for ``python -m safehold.cli``. CPython 3.11's
    forkserver ignores a ``__main__`` preload, so this is the one place to avoid the cost.
    """
    main_module = sys.modules.get("__main__")
    if main_module is not None and getattr(main_module, "__spec__", None) is None:
        main_module.__spec__ = importlib.util.find_spec("safehold.cli.__main__")
