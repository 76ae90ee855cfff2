"""RAR (1.5 to 4.x and 5) through Debian's ``lsar``/``unar`` (The Unarchiver), streamed.

``lsar -j`` lists; ``unar -o -`` writes the chosen members, in archive order, concatenated to
stdout, which we cut by the listed sizes and check against the listed CRC32s. Nothing is written
to disk under a member's name, so no name can escape scratch. unar stops at the first member it
cannot decode; if a member comes out short or with a bad CRC, the stream can no longer be trusted
to line up, so a fresh unar starts from the next member. Encrypted members and members whose
declared figures already break a limit are never handed to unar.

Two unar habits matter: it treats ``name1.rar``/``name.r00`` siblings as volumes of one set, and
it recurses into an archive that holds a single archive. The archive is therefore presented to
it as ``archive.rar`` alone in a private folder, and ``-nr`` is always passed.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import tempfile
import zlib
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any, BinaryIO, ClassVar, cast

from safehold.core.errors import ErrorCode, ItemError, ItemProblem
from safehold.core.settings import Limits
from safehold.sources.base import Blob, FileTimes, Member
from safehold.sources.common import clean_name, empty_opener, member_error, refusing
from safehold.sources.limits import BUFFER, ArchiveBudget, check_declared, limited

__all__ = ["RarReader"]

LIST_TIMEOUT = 600  # seconds for lsar to list one archive
BATCH = 2000  # member indexes per unar run (keeps the command line short)
_COPY = 1 << 20


def _date(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S %z")
    except ValueError:
        return None


def _times(entry: dict[str, Any]) -> FileTimes:
    return FileTimes(modified=_date(entry.get("XADLastModificationDate")),
                     accessed=_date(entry.get("XADLastAccessDate")),
                     created=_date(entry.get("XADCreationDate")))


def _crc(entry: dict[str, Any]) -> int | None:
    for key in ("RAR5CRC32", "RARCRC32"):
        value = entry.get(key)
        if isinstance(value, int):
            return value
    return None


class _Unar:
    """One ``unar -o -`` run over a run of members; hands out exactly ``size`` bytes per member."""

    def __init__(self, unar: str, archive: Path, indexes: list[int]) -> None:
        self.err_path = archive.parent / "unar.err"
        self.stderr: IO[bytes] = self.err_path.open("wb")
        try:
            self.proc = subprocess.Popen(
                [unar, "-o", "-", "-nr", "-q", "-k", "skip", "-i", str(archive), *map(str, indexes)],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self.stderr,
            )
        except OSError as exc:
            self.stderr.close()
            raise ItemProblem(ErrorCode.UNSUPPORTED, f"unar could not run: {exc}") from exc
        self.pending = list(indexes)

    def take(self, index: int) -> bool:
        """Whether this run will produce ``index`` next."""
        if self.pending and self.pending[0] == index:
            self.pending.pop(0)
            return True
        return False

    def complaint(self) -> str:
        """The tail of what unar said (read through its own handle: unar may still write)."""
        with contextlib.suppress(OSError):
            text = self.err_path.read_bytes()[-300:].decode("utf-8", "replace").strip()
            return f": {text}" if text else ""
        return ""

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        assert self.proc.stdout is not None
        self.proc.stdout.close()
        self.proc.wait()
        self.stderr.close()


class _MemberStream:
    """Reads one member's bytes off a shared unar stdout, checking length and CRC at the end."""

    def __init__(self, run: _Unar, name: str, size: int, crc: int | None) -> None:
        self.run = run
        self.name = name
        self.left = size
        self.size = size
        self.crc = crc
        self.value = 0
        self.broken: ItemProblem | None = None

    def read(self, n: int = -1) -> bytes:
        if self.broken is not None:
            raise self.broken
        if self.left == 0:
            return b""
        want = self.left if n < 0 else min(n, self.left)
        assert self.run.proc.stdout is not None
        data = self.run.proc.stdout.read(min(want, BUFFER))
        if not data:
            self.broken = ItemProblem(
                ErrorCode.CORRUPT,
                f"{self.name}: unar stopped after {self.size - self.left:,} of {self.size:,} bytes"
                f"{self.run.complaint()}")
            raise self.broken
        self.left -= len(data)
        self.value = zlib.crc32(data, self.value)
        if self.left == 0 and self.crc is not None and self.value != self.crc:
            self.broken = ItemProblem(ErrorCode.CORRUPT, f"{self.name}: CRC32 mismatch "
                                                         f"({self.value:08x}, archive says {self.crc:08x})")
            raise self.broken
        return data

    def close(self) -> None:
        return None

    def drain(self) -> bool:
        """Read what the consumer left; False when the stream no longer lines up."""
        try:
            while self.read(_COPY):
                pass
        except ItemProblem:
            return False
        return True


class RarReader:
    scheme: ClassVar[str] = "rar"

    def __init__(self, lsar: str = "lsar", unar: str = "unar", batch: int = BATCH) -> None:
        self.lsar = lsar
        self.unar = unar
        self.batch = batch

    def members(self, blob: Blob, limits: Limits, scratch: Path) -> Iterator[Member]:
        work = Path(tempfile.mkdtemp(prefix="rar-", dir=scratch))
        try:
            archive = work / "archive.rar"
            self._place(blob, archive)
            entries, incomplete = self._list(archive)
            end = max((_data_end(e) for e in entries), default=0)
            if end > blob.size and not incomplete:  # lsar lists headers it can reach, silently
                incomplete = f"member data runs to byte {end:,} of a {blob.size:,}-byte file (truncated)"
            yield from self._members(archive, entries, limits, work)
            if incomplete:
                raise ItemProblem(ErrorCode.CORRUPT, f"rar listing stopped early: {incomplete}")
        finally:
            shutil.rmtree(work, ignore_errors=True)

    @staticmethod
    def _place(blob: Blob, archive: Path) -> None:
        """The archive alone under a neutral name (no sibling can pass for a volume)."""
        if blob.path is not None:
            archive.symlink_to(blob.path.resolve())
            return
        with blob.open() as src, archive.open("wb") as dst:
            shutil.copyfileobj(src, dst, _COPY)

    def _list(self, archive: Path) -> tuple[list[dict[str, Any]], str]:
        try:
            done = subprocess.run([self.lsar, "-nr", "-j", str(archive)], stdin=subprocess.DEVNULL,
                                  capture_output=True, timeout=LIST_TIMEOUT, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ItemProblem(ErrorCode.UNSUPPORTED, f"lsar could not run: {exc}") from exc
        try:
            listing = json.loads(done.stdout)
        except ValueError as exc:  # lsar stops mid-JSON and says why on the same stream
            said = (done.stdout[-300:] + done.stderr[-300:]).decode("utf-8", "replace")
            if "requires a password" in said:
                raise ItemProblem(ErrorCode.ENCRYPTED, "rar headers are encrypted: no password") from exc
            raise ItemProblem(ErrorCode.CORRUPT, f"lsar could not read the archive: {said.strip()}") from exc
        if not isinstance(listing, dict) or not isinstance(listing.get("lsarContents"), list):
            raise ItemProblem(ErrorCode.CORRUPT, f"lsar finds no rar archive here (exit {done.returncode})")
        entries = [e for e in listing["lsarContents"] if isinstance(e, dict)]
        error = listing.get("lsarError")
        incomplete = f"lsar error {error}" if error else ""
        if incomplete and not entries:
            raise ItemProblem(ErrorCode.CORRUPT, f"unreadable rar ({incomplete})")
        entries.sort(key=lambda e: e.get("XADIndex", 0))
        return entries, incomplete

    def _members(self, archive: Path, entries: list[dict[str, Any]], limits: Limits,
                 work: Path) -> Iterator[Member]:
        budget = ArchiveBudget(limits, "rar")
        readable: list[int] = []  # indexes unar will be asked for, in order
        for e in entries:
            if _kind(e) == "file" and _size(e) > 0 and _refusal(e, _name(e), limits) is None:
                readable.append(int(e["XADIndex"]))
        run: _Unar | None = None
        position = 0  # into readable
        try:
            for e in entries:
                kind = _kind(e)
                if kind == "dir":
                    continue
                budget.count_member()
                name = _name(e)
                unsafe = member_error(name)
                if kind != "file":
                    target = clean_name(str(e.get("XADLinkDestination", "")))
                    skipped = ItemError(ErrorCode.SKIPPED, f"{kind} in the rar (to {target!r}): not followed")
                    yield _member(e, name, refusing(skipped), unsafe or skipped)
                    continue
                refusal = _refusal(e, name, limits)
                if refusal is not None:
                    yield _member(e, name, refusing(refusal), unsafe, refusal.code is ErrorCode.ENCRYPTED)
                    continue
                if _size(e) == 0:
                    yield _member(e, name, empty_opener, unsafe)
                    continue
                index = int(e["XADIndex"])
                if run is None or not run.take(index):
                    if run is not None:
                        run.close()
                    position = readable.index(index, position)
                    run = _Unar(self.unar, archive, readable[position:position + self.batch])
                    run.take(index)
                stream = _MemberStream(run, name, _size(e), _crc(e))
                yield _member(e, name, _opener(stream, limits, budget, e.get("XADCompressedSize")), unsafe)
                if not stream.drain():
                    run.close()
                    run = None
        finally:
            if run is not None:
                run.close()


def _data_end(entry: dict[str, Any]) -> int:
    """Where a member's packed data ends in the file, from lsar's part offsets (0 if unknown)."""
    parts = entry.get("RAR5InputParts")
    if not isinstance(parts, list):
        solid = entry.get("XADSolidObject")
        parts = [p for o in solid if isinstance(o, dict) for p in o.get("Parts") or []] \
            if isinstance(solid, list) else []
    ends = [p["Offset"] + p["InputLength"] for p in parts
            if isinstance(p, dict) and all(isinstance(p.get(k), int) for k in ("Offset", "InputLength"))]
    return max(ends, default=0)


def _name(entry: dict[str, Any]) -> str:
    return clean_name(str(entry.get("XADFileName", "")))


def _size(entry: dict[str, Any]) -> int:
    value = entry.get("XADFileSize")
    return value if isinstance(value, int) else 0


def _refusal(entry: dict[str, Any], name: str, limits: Limits) -> ItemError | None:
    """Why a member must not be handed to unar at all, from the listing alone."""
    if entry.get("XADIsEncrypted"):
        return ItemError(ErrorCode.ENCRYPTED, "encrypted rar member: no password")
    compressed = entry.get("XADCompressedSize")
    try:
        check_declared(limits, name, _size(entry), compressed if isinstance(compressed, int) else None)
    except ItemProblem as exc:
        return exc.error
    return None


def _member(entry: dict[str, Any], name: str, opener: Callable[[], BinaryIO], error: ItemError | None,
            encrypted: bool = False) -> Member:
    compressed = entry.get("XADCompressedSize")
    return Member(path=name, size=_size(entry), open=opener, times=_times(entry), encrypted=encrypted,
                  compressed_size=compressed if isinstance(compressed, int) else None, error=error)


def _opener(stream: _MemberStream, limits: Limits, budget: ArchiveBudget,
            compressed: Any) -> Callable[[], BinaryIO]:
    opened = False

    def _open() -> BinaryIO:
        nonlocal opened
        if opened:
            raise ItemProblem(ErrorCode.INTERNAL, f"{stream.name}: a rar member stream can be read once")
        opened = True
        return limited(cast(BinaryIO, stream), limits, compressed if isinstance(compressed, int) else None,
                       name=stream.name, budget=budget)

    return _open


def _kind(entry: dict[str, Any]) -> str:
    if entry.get("XADIsDirectory"):
        return "dir"
    if entry.get("XADIsLink"):
        return "symlink"
    if entry.get("XADIsHardLink"):
        return "hard link"
    if entry.get("XADIsResourceFork"):
        return "resource fork"
    return "file"
