"""Revealed videos as verified files, so the player can fetch them in ranges.

A browser plays and seeks a video through many ``Range`` requests; reading the whole video out
of the evidence and hashing it for each would cost seconds a request and hold it all in memory.
``PlaybackFiles`` resolves a content once per reveal to a file that holds exactly its bytes
(checked against its SHA-256): the evidence file itself when it is a plain file on disk (read,
never copied), else a copy streamed out of its containers into a private spool folder. The
entry lives as long as the reveal that asked for it; spooled copies are deleted when it ends,
when the app stops, and at the next start if the process died. Access is checked by callers
(``services.reveal``) before every use.
"""

from __future__ import annotations

import secrets
import shutil
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from safehold.core.clock import utcnow
from safehold.services.context import ServiceContext
from safehold.services.reopen import RefCache, content_file

__all__ = ["PlaybackFiles"]


@dataclass(slots=True)
class _Entry:
    path: Path
    spooled: bool
    signature: tuple[int, int]  # size and mtime when verified: a changed file is verified again
    until: datetime


def _signature(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


class PlaybackFiles:
    """Verified files of revealed videos, keyed by (case, content); held by the web app."""

    def __init__(self, spool: Path) -> None:
        self._spool = spool
        shutil.rmtree(spool, ignore_errors=True)  # copies left by a process that died
        self._entries: dict[tuple[int, str], _Entry] = {}
        self._locks: dict[tuple[int, str], threading.Lock] = {}
        self._lock = threading.Lock()

    def path(self, ctx: ServiceContext, refs: RefCache, case_id: int, sha256: str, until: datetime) -> Path | None:
        """The verified file for ``sha256``, kept until ``until`` (the reveal's end); None if no
        instance of it can be read now."""
        key = (case_id, sha256)
        self.sweep()
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:  # one verification per content at a time; the player's parallel ranges wait for it
            with self._lock:
                entry = self._entries.get(key)
            if entry is not None and _signature(entry.path) == entry.signature:
                entry.until = max(entry.until, until)
                return entry.path
            spool = self._spool / f"{case_id}-{sha256}-{secrets.token_hex(4)}.bin"  # never one an answer reads
            found = content_file(ctx, refs, case_id, sha256, spool)
            sig = _signature(found) if found is not None else None
            if found is None or sig is None:
                return None
            with self._lock:
                self._entries[key] = _Entry(found, found == spool, sig, until)
            return found

    def sweep(self, now: datetime | None = None) -> None:
        """Forget entries whose reveal has ended and delete their spooled copies."""
        now = now or utcnow()
        with self._lock:
            ended = [k for k, e in self._entries.items() if e.until <= now]
            gone = [self._entries.pop(k) for k in ended]
            for k in ended:
                self._locks.pop(k, None)
        for e in gone:
            if e.spooled:
                e.path.unlink(missing_ok=True)

    def close(self) -> None:
        with self._lock:
            self._entries.clear()
            self._locks.clear()
        shutil.rmtree(self._spool, ignore_errors=True)
