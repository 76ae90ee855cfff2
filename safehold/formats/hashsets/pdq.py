"""PDQ hash lists: 64 hex digits per line, optionally a quality (0-100) and a file name.

Covers pdq-photo-hasher style ``hash,quality,filename``, ThreatExchange-style ``hash,quality``
exports (with a header line naming the columns), and tab- or space-separated variants.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

from safehold.formats.hashsets.base import (
    BadRow,
    HashRecord,
    ParsedItem,
    SetMetadata,
    decoded_lines,
    name_and_path,
    sample_lines,
)

__all__ = ["PdqReader"]

_SPLIT = re.compile(r"\s*[,;\t]\s*| +")
_PDQ_LINE = re.compile(r"[0-9A-Fa-f]{64}(?:[,\t ]\s*\d{1,3}(?:[,\t ].*)?)?")
_HEX64 = re.compile(r"[0-9A-Fa-f]{64}")


def _columns(header: list[str]) -> tuple[int, int, int]:
    """Positions of hash, quality and file name named by a header; -1 where absent."""
    names = [cell.strip().strip('"').lower() for cell in header]

    def find(*words: str) -> int:
        return next((i for i, name in enumerate(names) if any(w in name for w in words)), -1)

    hash_col = find("pdq", "hash", "signal")
    return max(hash_col, 0), find("quality"), find("file", "name", "path")


class PdqReader:
    """PDQ lists; a header is recognised only on the first non-comment line."""

    name: ClassVar[str] = "pdq"

    def sniff(self, head: bytes, path: Path) -> bool:
        lines = [line for line in sample_lines(head) if not line.startswith("#")]
        if not lines:
            return False
        first = lines[0].lower()
        header = not _HEX64.match(first) and any(word in first for word in ("pdq", "hash", "quality"))
        says_pdq = "pdq" in path.name.lower() or (header and "pdq" in first)
        data = lines[1:] if header else lines
        if not data:
            return says_pdq
        if all(_HEX64.fullmatch(line) for line in data):  # bare 64-hex lines: SHA-256 unless named PDQ
            return says_pdq
        # A separator then a quality; "  " or " *" after the hash is sha256sum output instead.
        return all(_PDQ_LINE.fullmatch(line) and line[64:66] not in ("  ", " *") for line in data)

    def metadata(self, path: Path) -> SetMetadata:
        return SetMetadata(format=self.name)

    def read(self, path: Path) -> Iterator[ParsedItem]:
        cols = (0, 1, 2)
        first = True
        for number, line in enumerate(decoded_lines(path), start=1):
            text = line.strip(" \t\r\n\ufeff")
            if not text or text.startswith("#"):
                continue
            cells = _SPLIT.split(text, maxsplit=max(cols))  # the name (last) may hold spaces
            if first:
                first = False
                if not _HEX64.match(cells[0]) and any(ch.isalpha() for ch in text):
                    cols = _columns(_SPLIT.split(text))
                    continue
            yield self._record(cells, cols, f"line {number}")

    @staticmethod
    def _record(cells: list[str], cols: tuple[int, int, int], position: str) -> ParsedItem:
        hash_col, quality_col, name_col = cols

        def cell(i: int) -> str:
            return cells[i].strip().strip('"') if 0 <= i < len(cells) else ""

        digest = cell(hash_col).lower()
        if not _HEX64.fullmatch(digest):
            return BadRow(position, f"not a 64-hex-digit PDQ hash: {digest[:70]!r}")
        quality_text = cell(quality_col)
        if quality_text and not quality_text.isdigit():
            return BadRow(position, f"quality is not a number: {quality_text[:20]!r}")
        file_name, extra = name_and_path(cell(name_col))
        try:
            return HashRecord(
                pdq=digest,
                pdq_quality=int(quality_text) if quality_text else None,
                file_name=file_name,
                extra=extra,
            )
        except ValueError as err:
            return BadRow(position, str(err))
