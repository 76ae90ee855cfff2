"""Clean stops on Ctrl-C and SIGTERM: the writer stops, records where it was, and says how to resume.

A terminal's Ctrl-C reaches the whole process group: the writer and every worker. Workers ignore
it (``worker_ignores_sigint``) and are stopped by the writer, so no worker prints a traceback and
none is left half-way through a pipe. In the writer, ``stop_signals`` makes SIGTERM (a service
manager, ``kill``) take the same path as Ctrl-C: a ``KeyboardInterrupt`` in the main thread, which
the use case turns into ``Interrupted`` after marking its work *interrupted*. A second signal
while that clean-up runs is ignored: the clean-up is short and bounded (workers are killed after
a second), and a traceback half-way through it is what this module exists to prevent.

A signal handler runs wherever the main thread happens to be, and an exception raised inside a
finaliser or a weakref callback is printed and dropped by Python ("Exception ignored in ..."):
such a stop would be lost. So the request is also kept as a flag that the long loops test at
each step (``check_stop``), and dropped ``KeyboardInterrupt``s are not printed meanwhile.

A stop must not land inside a database write either: an exception raised half-way through a
commit can leave its connection holding SQLite's write lock, and the clean-up's own records then
wait for a lock that is never released. Writes run ``shielded``: a signal arriving then is only
noted, and raised when the write is done.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from safehold.core.errors import SafeholdError

__all__ = ["EXIT_INTERRUPTED", "Interrupted", "check_stop", "shielded", "stop_signals", "worker_ignores_sigint"]

#: The shell's status for a command ended by SIGINT (128 + 2), used for SIGTERM as well.
EXIT_INTERRUPTED = 130

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_requested = False  # a stop signal arrived (inside ``stop_signals``)
_shielded = 0  # depth of ``shielded`` blocks: a stop arriving inside one waits for its end


class Interrupted(SafeholdError):
    """A stop signal ended the run cleanly; ``what`` says where it stopped, ``resume`` how to go on."""

    def __init__(self, what: str, resume: str) -> None:
        super().__init__(f'interrupted: {what} — run "{resume}" to resume')
        self.what = what
        self.resume = resume


def check_stop() -> None:
    """Raise ``KeyboardInterrupt`` if a stop was asked for: for loops, in case the handler's own
    exception landed in a finaliser and was dropped."""
    if _requested:
        raise KeyboardInterrupt


@contextmanager
def shielded() -> Iterator[None]:
    """A block a stop signal must not cut in two (a transaction): the stop is raised after it."""
    global _shielded
    _shielded += 1
    try:
        yield
    finally:
        _shielded -= 1
    if not _shielded:
        check_stop()


@contextmanager
def stop_signals() -> Iterator[None]:
    """SIGINT and SIGTERM raise ``KeyboardInterrupt`` once in the main thread; handlers restored on exit.

    Elsewhere (a web app's worker thread) signals cannot be handled, so nothing changes there.
    """
    global _requested
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: FrameType | None) -> None:
        global _requested
        if _requested:  # already stopping: let the clean-up finish
            return
        _requested = True
        if not _shielded:  # else raised when the shielded block ends
            raise KeyboardInterrupt

    def unraisable(info: sys.UnraisableHookArgs) -> None:
        if not isinstance(info.exc_value, KeyboardInterrupt):  # ours: ``check_stop`` raises it again
            previous_hook(info)

    was_requested, previous_hook = _requested, sys.unraisablehook
    # A signal ignored from the start stays ignored: a shell starts background jobs so for Ctrl-C.
    previous = {sig: signal.signal(sig, stop) for sig in _STOP_SIGNALS if signal.getsignal(sig) != signal.SIG_IGN}
    sys.unraisablehook = unraisable
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        sys.unraisablehook = previous_hook
        _requested = was_requested


def worker_ignores_sigint() -> None:
    """For worker processes: Ctrl-C is the writer's to handle; it stops the workers itself."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
