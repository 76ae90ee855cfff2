"""hashdeep / md5deep audit files: ``%%%% HASHDEEP-1.0``, a ``%%%%`` column line, ``##`` comments.

Columns depend on the ``-c`` options used, so they are read from the header (and re-read when
concatenated files start a new header block). The file name is the last column and may hold commas.
"""

from __future__ import annotations

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

__all__ = ["HashdeepReader"]

_MAGIC = "%%%% HASHDEEP-"
_KNOWN = {"size", "md5", "sha1", "sha256", "filename"}


class HashdeepReader:
    """hashdeep CSV; columns other than size, md5, sha1, sha256 and filename (tiger...) are skipped."""

    name: ClassVar[str] = "hashdeep"

    def sniff(self, head: bytes, path: Path) -> bool:
        lines = sample_lines(head, limit=1)
        return bool(lines) and lines[0].startswith(_MAGIC)

    def metadata(self, path: Path) -> SetMetadata:
        for line in decoded_lines(path):
            text = line.strip()
            if text.startswith(_MAGIC):
                return SetMetadata(format=self.name, version=text[len(_MAGIC) :] or None)
            break
        return SetMetadata(format=self.name)

    def read(self, path: Path) -> Iterator[ParsedItem]:
        columns: list[str] = []
        for number, line in enumerate(decoded_lines(path), start=1):
            text = line.rstrip("\r\n").lstrip("\ufeff")
            if not text.strip() or text.startswith("##"):
                continue
            if text.startswith("%%%%"):
                if not text.startswith(_MAGIC):
                    columns = [col.strip().lower() for col in text[4:].split(",")]
                continue
            if not columns:
                yield BadRow(f"line {number}", "data before the %%%% column line")
                continue
            yield self._record(columns, text, f"line {number}")

    @staticmethod
    def _record(columns: list[str], text: str, position: str) -> ParsedItem:
        cells = text.split(",", len(columns) - 1) if columns[-1] == "filename" else text.split(",")
        if len(cells) != len(columns):
            return BadRow(position, f"{len(cells)} fields, header has {len(columns)}")
        row = {col: cell for col, cell in zip(columns, cells, strict=True) if col in _KNOWN}
        file_name, extra = name_and_path(row.get("filename", ""))
        try:
            size = int(row["size"]) if row.get("size") else None
            return HashRecord(
                md5=row.get("md5", "").strip().lower() or None,
                sha1=row.get("sha1", "").strip().lower() or None,
                sha256=row.get("sha256", "").strip().lower() or None,
                size=size,
                file_name=file_name,
                extra=extra,
            )
        except ValueError as err:
            return BadRow(position, str(err))
