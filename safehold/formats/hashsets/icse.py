"""Interpol ICSE hash exports: ``;``-delimited CSV with a header row, y/n flags.

Columns are found by header name (case and spacing ignored) because exports drop or reorder
columns; only a hash column (MD5, SHA1 or PhotoDNA) is required.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

from safehold.formats.hashsets.base import (
    BadRow,
    HashRecord,
    ParsedItem,
    SetMetadata,
    csv_rows,
    decoded_lines,
    parse_flag,
    sample_lines,
)

__all__ = ["IcseReader"]

_FIELDS = {
    "md5": "md5",
    "sha1": "sha1",
    "photodna": "photodna",
    "isdistributed": "distributed",
    "victimidentified": "victim_identified",
    "offenderidentified": "offender_identified",
    "seriesname": "series",
}
_FLAGS = ("distributed", "victim_identified", "offender_identified")
_HASH_FIELDS = ("md5", "sha1", "photodna")


def _norm(header: str) -> str:
    return "".join(ch for ch in header.lower() if ch.isalnum())


class IcseReader:
    """ICSE CSV; every column not mapped to a record field (Image ID, Baseline...) goes to ``extra``."""

    name: ClassVar[str] = "icse"

    def sniff(self, head: bytes, path: Path) -> bool:
        lines = sample_lines(head, limit=1)
        if not lines or ";" not in lines[0]:
            return False
        columns = {_norm(col) for col in lines[0].split(";")}
        has_hash = bool(columns & set(_HASH_FIELDS))
        return has_hash and bool(columns & {"imageid", "victimidentified", "seriesname", "isdistributed"})

    def metadata(self, path: Path) -> SetMetadata:
        return SetMetadata(format=self.name, category_scheme="icse")

    def read(self, path: Path) -> Iterator[ParsedItem]:
        reader = csv.reader(decoded_lines(path), delimiter=";")
        header: list[str] | None = None
        for row in csv_rows(reader):
            if isinstance(row, BadRow):
                yield row
                continue
            position = f"line {reader.line_num}"
            if not any(cell.strip() for cell in row):
                continue
            if header is None:
                header = [cell.strip().lstrip("\ufeff") for cell in row]
                if not {_norm(col) for col in header} & set(_HASH_FIELDS):
                    yield BadRow(position, "header has no MD5, SHA1 or PhotoDNA column")
                    return
                continue
            yield self._record(header, row, position)

    @staticmethod
    def _record(header: list[str], row: list[str], position: str) -> ParsedItem:
        fields: dict[str, str | None] = {}
        extra: dict[str, str] = {}
        for label, cell in zip(header, row, strict=False):
            value = cell.strip()
            target = _FIELDS.get(_norm(label))
            if target:
                fields[target] = value or None
            elif value:
                extra[label] = value
        flags: dict[str, bool | None] = {}
        for flag in _FLAGS:
            raw = fields.get(flag)
            flags[flag] = parse_flag(raw) if raw else None
            if raw and flags[flag] is None:
                return BadRow(position, f"flag {flag} is not y/n: {raw[:40]!r}")
        md5, sha1 = fields.get("md5"), fields.get("sha1")
        try:
            return HashRecord(
                md5=md5.lower() if md5 else None,
                sha1=sha1.lower() if sha1 else None,
                photodna=fields.get("photodna"),
                category_scheme="icse",
                series=fields.get("series"),
                victim_identified=flags["victim_identified"],
                offender_identified=flags["offender_identified"],
                distributed=flags["distributed"],
                extra=extra,
            )
        except ValueError as err:
            return BadRow(position, str(err))
