"""7z with py7zr, one member at a time through a bounded scratch folder.

py7zr pushes decompressed bytes into writers; our interface pulls members. A background thread
runs py7zr's extraction into one scratch file per member and, when a member is complete, hands
it over and waits until the generator has moved on; the file is then deleted. Scratch use is
therefore bounded by the largest member, solid blocks are decompressed once, and nothing is ever
written under a member's own name. The extraction goes through py7zr's ``Worker`` directly
because ``SevenZipFile.extract`` rejects a whole archive for one unsafe name, and we record such
names instead. Encrypted blocks are listed, never decompressed; declared sizes and ratios are
checked before a block is touched and the bytes written are metered as they come.
"""

from __future__ import annotations

import contextlib
import itertools
import queue
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, ClassVar

import py7zr
from py7zr.compressor import SupportedMethods
from py7zr.exceptions import PasswordRequired, UnsupportedCompressionMethodError
from py7zr.io import MemIO, Py7zIO, WriterFactory

from safehold.core.clock import from_timestamp
from safehold.core.errors import ErrorCode, ItemError, ItemProblem
from safehold.core.settings import Limits
from safehold.sources.base import Blob, FileTimes, Member
from safehold.sources.common import clean_name, empty_opener, member_error, refusing
from safehold.sources.limits import ArchiveBudget, Meter, check_declared, check_ratio

__all__ = ["SevenZipReader"]

_POLL = 0.1  # seconds between checks for cancellation while waiting on the other side
_JOIN = 10.0  # seconds to wait for the extraction thread when the generator is closed


class _Cancelled(Exception):
    """Raised inside the extraction thread when the generator is closed early."""


Event = tuple[int, Path | None, BaseException | None]  # (file id or -1 at the end, file, failure)


class _Handoff:
    """Passes finished members from the extraction thread to the generator, one at a time."""

    def __init__(self) -> None:
        self.events: queue.Queue[Event] = queue.Queue(maxsize=1)
        self.consumed = threading.Semaphore(0)
        self.cancelled = threading.Event()
        self.current = -1  # id of the member being written (names the culprit of a failure)

    def put(self, event: Event) -> None:
        while True:
            if self.cancelled.is_set():
                raise _Cancelled
            try:
                self.events.put(event, timeout=_POLL)
                return
            except queue.Full:
                continue

    def wait_consumed(self) -> None:
        while not self.consumed.acquire(timeout=_POLL):
            if self.cancelled.is_set():
                raise _Cancelled
        if self.cancelled.is_set():
            raise _Cancelled

    def get(self) -> Event:
        return self.events.get()


class _Writer(Py7zIO):
    """One member's bytes into one scratch file, metered; handed over when py7zr closes it."""

    def __init__(self, file_id: int, path: Path, meters: tuple[Meter, ...], handoff: _Handoff) -> None:
        self.file_id = file_id
        self.path = path
        self.meters = meters
        self.handoff = handoff
        self._fp = path.open("wb")
        self._size = 0

    def write(self, s: bytes | bytearray) -> int:
        if self.handoff.cancelled.is_set():
            raise _Cancelled
        for meter in self.meters:
            meter.add(len(s))
        self._fp.write(s)
        self._size += len(s)
        return len(s)

    def read(self, size: int | None = None) -> bytes:
        return b""

    def seek(self, offset: int, whence: int = 0) -> int:
        return 0

    def flush(self) -> None:
        self._fp.flush()

    def size(self) -> int:
        return self._size

    def close(self) -> None:
        self._fp.close()
        self.handoff.put((self.file_id, self.path, None))
        self.handoff.wait_consumed()


class _Factory(WriterFactory):
    def __init__(self, make: Callable[[int], Py7zIO]) -> None:
        self._make = make

    def create(self, filename: str) -> Py7zIO:
        return self._make(int(filename))


def _problem(exc: BaseException, name: str) -> ItemProblem:
    if isinstance(exc, ItemProblem):
        return exc
    if isinstance(exc, PasswordRequired):
        return ItemProblem(ErrorCode.ENCRYPTED, f"{name}: password required")
    if isinstance(exc, UnsupportedCompressionMethodError):
        return ItemProblem(ErrorCode.UNSUPPORTED, f"{name}: unsupported 7z method: {exc}")
    return ItemProblem(ErrorCode.CORRUPT, f"{name}: {type(exc).__name__}: {exc}")


def _times(f: Any) -> FileTimes:
    props = f.file_properties()

    def ts(key: str) -> Any:
        value = props.get(key)
        return from_timestamp(value.totimestamp()) if value is not None else None

    return FileTimes(modified=ts("lastwritetime"), accessed=ts("lastaccesstime"), created=ts("creationtime"))


class SevenZipReader:
    scheme: ClassVar[str] = "7z"

    def members(self, blob: Blob, limits: Limits, scratch: Path) -> Iterator[Member]:
        fp = blob.open()
        try:
            try:
                archive = py7zr.SevenZipFile(fp, mode="r")
            except Exception as exc:  # hostile headers break py7zr in many ways
                raise _problem(exc, "7z header") from exc
            try:
                yield from self._members(archive, limits, scratch)
            finally:
                archive.close()
        finally:
            fp.close()

    def _plan(self, archive: Any, limits: Limits) -> dict[int, ItemError]:
        """Members that must not be decompressed, decided from the header alone."""
        refused: dict[int, ItemError] = {}
        blocks: dict[int, list[Any]] = {}
        for f in archive.files:
            if f.folder is not None and not f.emptystream:
                blocks.setdefault(id(f.folder), []).append(f)
        for files in blocks.values():
            folder = files[0].folder
            packed = sum(files[0].file_properties().get("packsizes") or [0])
            if SupportedMethods.needs_password(folder.coders):
                for f in files:
                    refused[f.id] = ItemError(ErrorCode.ENCRYPTED, "7z block is encrypted: no password")
                continue
            try:
                check_ratio(limits, "7z block", sum(f.uncompressed for f in files), packed)
            except ItemProblem as exc:
                for f in files:
                    refused[f.id] = exc.error
                continue
            follows: ItemError | None = None
            for f in files:  # later members of a solid block would have to be decompressed
                if follows is not None:  # through a refused one: refuse them too
                    refused[f.id] = follows
                    continue
                try:
                    check_declared(limits, clean_name(f.filename), f.uncompressed, None)
                except ItemProblem as exc:
                    refused[f.id] = exc.error
                    follows = ItemError(exc.error.code, "not extracted: follows a refused member in the same "
                                                        f"7z block ({exc.error.message})")
        return refused

    def _members(self, archive: Any, limits: Limits, scratch: Path) -> Iterator[Member]:
        budget = ArchiveBudget(limits, "7z")
        refused = self._plan(archive, limits)
        handoff = _Handoff()
        block_meters: dict[int, Meter] = {}
        targets: dict[int, Any] = {}
        counter = itertools.count()

        def make(file_id: int) -> Py7zIO:
            handoff.current = file_id
            f = targets[file_id]
            meter = Meter(limits, clean_name(f.filename), None, budget=budget)
            path = scratch / f"7z-member-{next(counter)}"
            return _Writer(file_id, path, (meter, block_meters[id(f.folder)]), handoff)

        factory = _Factory(make)
        for f in archive.files:
            if f.emptystream or f.folder is None or f.id in refused or f.is_directory:
                continue
            if f.is_symlink or f.is_socket:
                continue
            targets[f.id] = f
            archive.worker.register_filelike(f.id, MemIO(str(f.id), factory))
            if id(f.folder) not in block_meters:
                packed = sum(f.file_properties().get("packsizes") or [0])
                block_meters[id(f.folder)] = Meter(limits, "7z block", packed,
                                                   max_bytes=limits.max_archive_total_bytes)
        thread = threading.Thread(target=self._extract, args=(archive, handoff), daemon=True,
                                  name="safehold-7z")
        if targets:
            thread.start()
        stopped: ItemError | None = None
        try:
            for f in archive.files:
                if f.is_directory:
                    continue
                budget.count_member()
                name = clean_name(f.filename)
                unsafe = member_error(name)
                if f.is_symlink or f.is_socket:
                    what = "symlink" if f.is_symlink else "socket"
                    skipped = ItemError(ErrorCode.SKIPPED, f"{what} stored in the 7z: not read")
                    yield _member(f, name, refusing(skipped), unsafe or skipped)
                elif f.emptystream:
                    yield _member(f, name, empty_opener, unsafe)
                elif f.id in refused:
                    error = refused[f.id]
                    yield _member(f, name, refusing(error), unsafe, error.code is ErrorCode.ENCRYPTED)
                elif stopped is not None:
                    yield _member(f, name, refusing(stopped), unsafe)
                elif f.id not in targets:  # sized, yet in no block: nothing to extract
                    orphan = ItemError(ErrorCode.CORRUPT, "7z member has a size but no data block")
                    yield _member(f, name, refusing(orphan), unsafe)
                else:
                    file_id, path, failure = handoff.get()
                    if failure is None and file_id == f.id and path is not None:
                        yield _member(f, name, _file_opener(path), unsafe)
                        with contextlib.suppress(OSError):
                            path.unlink()
                        handoff.consumed.release()
                        continue
                    culprit = clean_name(targets[file_id].filename) if file_id in targets else name
                    problem = _problem(failure or RuntimeError("extraction ended early"), culprit)
                    yield _member(f, name, refusing(problem.error), unsafe)
                    stopped = ItemError(problem.error.code, f"not extracted: 7z extraction stopped at "
                                                            f"{culprit}: {problem.error.message}")
        finally:
            handoff.cancelled.set()
            handoff.consumed.release()
            deadline = time.monotonic() + _JOIN
            while thread.is_alive() and time.monotonic() < deadline:
                with contextlib.suppress(queue.Empty):
                    handoff.events.get(timeout=_POLL)
                thread.join(timeout=_POLL)
            for leftover in scratch.glob("7z-member-*"):
                with contextlib.suppress(OSError):
                    leftover.unlink()

    @staticmethod
    def _extract(archive: Any, handoff: _Handoff) -> None:
        failure: BaseException | None = None
        try:
            archive.worker.extract(archive.fp, None, parallel=False)
        except BaseException as exc:  # reported to the generator, which names the member
            failure = exc
        if isinstance(failure, _Cancelled):
            return
        with contextlib.suppress(_Cancelled):
            handoff.put((handoff.current if failure is not None else -1, None, failure))


def _member(f: Any, name: str, opener: Callable[[], BinaryIO], error: ItemError | None,
            encrypted: bool = False) -> Member:
    size = 0 if f.emptystream else f.uncompressed
    return Member(path=name, size=size, open=opener, times=_times(f), encrypted=encrypted, error=error)


def _file_opener(path: Path) -> Callable[[], BinaryIO]:
    def _open() -> BinaryIO:
        return path.open("rb")

    return _open
