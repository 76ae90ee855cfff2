"""Expert Witness (E01/Ex01) images through libewf: segments, acquisition metadata, verification.

``verify`` does what ``ewfverify`` does: read every media byte, hash it with the digests the
image stores (MD5, SHA-1) and compare with the stored values.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyewf  # type: ignore[import-not-found]

__all__ = ["METADATA_KEYS", "EwfStream", "Verification", "ewf_segments", "open_ewf", "verify"]

# header values kept in custody events (libewf's names → ours)
METADATA_KEYS = {
    "examiner_name": "examiner",
    "case_number": "case_number",
    "evidence_number": "evidence_number",
    "acquiry_date": "acquisition_date",
    "description": "description",
    "notes": "notes",
    "acquiry_software_version": "acquisition_software",
    "acquiry_operating_system": "acquisition_os",
}
_CHUNK = 4 * 1024 * 1024


def ewf_segments(path: Path) -> list[Path]:
    """Every segment file of the image ``path`` belongs to (E01, E02… or Ex01, Ex02…).

    ``OSError`` when one is missing in the middle (libewf would open the rest and fail later,
    reading the missing range).
    """
    segments = [Path(p) for p in pyewf.glob(str(path))]  # stops at the first gap
    last = segments[-1] if segments else path
    head, num = last.suffix[:-2], last.suffix[-2:]
    if num.isdigit() and int(num) < 98:
        after = [last.with_suffix(f"{head}{n:02d}") for n in range(int(num) + 2, 100)]
        present = next((p for p in after if p.is_file()), None)
        if present is not None:
            raise OSError(f"EWF segment {int(num) + 1:02d} is missing (found {present.name} after {last.name})")
    return segments


class EwfStream:
    """Media bytes of an EWF image (all segments)."""

    def __init__(self, path: Path) -> None:
        self.segments = ewf_segments(path)
        self._handle: Any = pyewf.handle()
        self._handle.open([str(p) for p in self.segments])
        self.size: int = int(self._handle.get_media_size())

    def read_at(self, offset: int, size: int) -> bytes:
        if offset >= self.size or size <= 0:
            return b""
        data: bytes = self._handle.read_buffer_at_offset(min(size, self.size - offset), offset)
        return data

    def header_values(self) -> dict[str, str]:
        raw: dict[str, str] = self._handle.get_header_values() or {}
        return {ours: raw[theirs] for theirs, ours in METADATA_KEYS.items() if raw.get(theirs)}

    def stored_hashes(self) -> dict[str, str]:
        """Stored digests by lower-case name (md5, sha1), as libewf reports them."""
        raw: dict[str, str] = self._handle.get_hash_values() or {}
        return {k.lower(): v.lower() for k, v in raw.items() if v}

    def close(self) -> None:
        self._handle.close()


def open_ewf(path: Path) -> EwfStream:
    return EwfStream(path)


@dataclass(frozen=True, slots=True)
class Verification:
    """Stored versus computed digests of the media data."""

    stored: dict[str, str]
    computed: dict[str, str]
    metadata: dict[str, str] = field(default_factory=dict)
    media_size: int = 0
    segments: int = 1
    error: str | None = None  # the media could not be read to the end

    @property
    def mismatched(self) -> list[str]:
        return sorted(k for k, v in self.stored.items() if k in self.computed and self.computed[k] != v)

    @property
    def ok(self) -> bool:
        """True when every stored digest was recomputed and matches."""
        return (self.error is None and bool(self.stored) and not self.mismatched
                and all(k in self.computed for k in self.stored))


def verify(path: Path) -> Verification:
    stream = open_ewf(path)
    try:
        stored = stream.stored_hashes()
        algos: list[str] = [a for a in ("md5", "sha1") if a in stored] or ["md5"]
        digests = {a: hashlib.new(a) for a in algos}
        error: str | None = None
        offset = 0
        try:
            while offset < stream.size:
                data = stream.read_at(offset, _CHUNK)
                if not data:
                    error = f"media ends early at byte {offset} of {stream.size}"
                    break
                for d in digests.values():
                    d.update(data)
                offset += len(data)
        except OSError as exc:
            error = f"read error at byte {offset}: {exc}"
        computed = {a: d.hexdigest() for a, d in digests.items()} if error is None else {}
        return Verification(stored, computed, stream.header_values(), stream.size, len(stream.segments), error)
    finally:
        stream.close()
