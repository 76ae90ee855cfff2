"""Hash-list record shapes shared by the readers (``formats``) and the store that writes them.

They live in ``core`` so that ``store`` never imports ``formats``: the arrow runs one way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

__all__ = ["EMPTY_FILE_HASHES", "EMPTY_FILE_REASON", "NSRL_SCHEME", "VPDQ_FRAME_BYTES", "HashColumns", "HashRecord"]

NSRL_SCHEME = "nsrl"
EMPTY_FILE_REASON = "empty-file hash, never matched"
# The digests of zero bytes: every list that carries them would mark every empty file.
EMPTY_FILE_HASHES = frozenset(
    {
        "d41d8cd98f00b204e9800998ecf8427e",
        "da39a3ee5e6b4b0d3255bfef95601890afd80709",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    }
)

_HEX32 = re.compile(r"[0-9a-f]{32}")
_HEX40 = re.compile(r"[0-9a-f]{40}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
#: ``safehold.hashing.vpdq.FRAME_DTYPE.itemsize`` (PDQ 32 + quality 1 + frame 4 + ms 4); a test keeps them equal.
VPDQ_FRAME_BYTES = 41


def _not_hex(label: str, value: str, length: int) -> ValueError:
    return ValueError(f"{label} is not {length} lower-case hex digits: {value[:80]!r}")


@dataclass(frozen=True, slots=True)
class HashRecord:
    """One entry of an imported list; categories stay raw text under their scheme (schemes differ).

    Construction validates hashes (lower-case hex of the right length) and refuses the empty
    file's digests and records with no hash at all, raising ``ValueError`` whose text readers turn
    into a ``BadRow`` reason.
    """

    md5: str | None = None
    sha1: str | None = None
    sha256: str | None = None
    pdq: str | None = None
    pdq_quality: int | None = None
    photodna: str | None = None
    size: int | None = None
    vpdq: bytes | None = None  # a listed video's frames, packed (``safehold.hashing.vpdq.pack_frames``)
    category_scheme: str | None = None
    category_code: str | None = None
    series: str | None = None
    victim_identified: bool | None = None
    offender_identified: bool | None = None
    distributed: bool | None = None
    file_name: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        # Inline checks: this runs once per row of 100M-row sets.
        if self.md5 is not None and not _HEX32.fullmatch(self.md5):
            raise _not_hex("MD5", self.md5, 32)
        if self.sha1 is not None and not _HEX40.fullmatch(self.sha1):
            raise _not_hex("SHA-1", self.sha1, 40)
        if self.sha256 is not None and not _HEX64.fullmatch(self.sha256):
            raise _not_hex("SHA-256", self.sha256, 64)
        if self.pdq is not None and not _HEX64.fullmatch(self.pdq):
            raise _not_hex("PDQ", self.pdq, 64)
        if self.pdq_quality is not None and not 0 <= self.pdq_quality <= 100:
            raise ValueError(f"PDQ quality out of 0..100: {self.pdq_quality}")
        if self.size is not None and self.size < 0:
            raise ValueError(f"negative size: {self.size}")
        if self.vpdq is not None and (not self.vpdq or len(self.vpdq) % VPDQ_FRAME_BYTES):
            raise ValueError("vPDQ is empty or not whole frames")
        if not (self.md5 or self.sha1 or self.sha256 or self.pdq or self.photodna or self.vpdq):
            raise ValueError("no hash in record")
        empty = EMPTY_FILE_HASHES
        if self.md5 in empty or self.sha1 in empty or self.sha256 in empty:
            raise ValueError(EMPTY_FILE_REASON)


@dataclass(slots=True)
class HashColumns:
    """Validated rows of one stretch of a list, column by column (rows that failed are left out).

    Hashes are lower-case hex of the right length or None; no row holds an empty-file digest;
    sizes are non-negative or None. ``extra`` objects are shared between rows (one per product).
    """

    md5: list[str | None]
    sha1: list[str | None]
    sha256: list[str | None]
    size: list[int | None]
    file_name: list[str | None]
    extra: list[Mapping[str, str]]
    category_scheme: str | None = NSRL_SCHEME

    def __len__(self) -> int:
        return len(self.md5)

    @classmethod
    def from_records(cls, records: Sequence[HashRecord], scheme: str | None = NSRL_SCHEME) -> HashColumns:
        return cls([r.md5 for r in records], [r.sha1 for r in records], [r.sha256 for r in records],
                   [r.size for r in records], [r.file_name for r in records], [r.extra for r in records],
                   scheme)
