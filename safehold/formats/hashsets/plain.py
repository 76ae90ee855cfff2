"""md5sum / sha1sum / sha256sum output, BSD-style ``MD5 (name) = hex`` lines, or one hash per line.

The hash type comes from its length (32 MD5, 40 SHA-1, 64 SHA-256). A 64-digit line could also be
a PDQ hash; plain lists are taken as SHA-256, and PDQ lists must be read with the ``pdq`` reader.
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

__all__ = ["PlainReader", "parse_plain_line"]

_BY_LENGTH = {32: "md5", 40: "sha1", 64: "sha256"}
# GNU: optional "\" (escaped name), hex, then "  name" (text mode) or " *name" (binary mode).
_GNU_RE = re.compile(r"(\\?)([0-9A-Fa-f]+)(?:(?: [ *]|\s+)(.*))?")
_HEADER_RE = re.compile(r"[A-Za-z_ ,;\t-]*(?:hash|md5|sha)[A-Za-z0-9_ ,;\t-]*", re.IGNORECASE)
_BSD_RE = re.compile(r"(MD5|SHA1|SHA-1|SHA256|SHA-256) ?\((.*)\) ?= ?([0-9A-Fa-f]+)", re.IGNORECASE)


def _unescape(name: str) -> str:
    """coreutils escapes ``\\`` and newlines in names and marks such lines with a leading ``\\``."""
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "r": "\r", "\\": "\\"}.get(m.group(1), m.group(0)), name)


def parse_plain_line(text: str, position: str) -> ParsedItem | None:
    """One line as a record, a BadRow, or None for blank lines and ``#`` comments."""
    text = text.strip(" \t\r\n\ufeff")
    if not text or text.startswith("#"):
        return None
    name = ""
    gnu = _GNU_RE.fullmatch(text)
    if gnu:
        escaped, digest, name = gnu.group(1), gnu.group(2), gnu.group(3) or ""
        if escaped:
            name = _unescape(name)
    else:
        bsd = _BSD_RE.fullmatch(text)
        if not bsd:
            return BadRow(position, f"not a hash line: {text[:60]!r}")
        name, digest = bsd.group(2), bsd.group(3)
    kind = _BY_LENGTH.get(len(digest))
    if kind is None:
        return BadRow(position, f"{len(digest)} hex digits is not MD5, SHA-1 or SHA-256")
    file_name, extra = name_and_path(name)
    try:
        digest = digest.lower()
        return HashRecord(
            md5=digest if kind == "md5" else None,
            sha1=digest if kind == "sha1" else None,
            sha256=digest if kind == "sha256" else None,
            file_name=file_name,
            extra=extra,
        )
    except ValueError as err:
        return BadRow(position, str(err))


class PlainReader:
    """Checksum-tool output and bare hash lists; mixed MD5/SHA-1/SHA-256 lines are allowed."""

    name: ClassVar[str] = "md5sum"

    def sniff(self, head: bytes, path: Path) -> bool:
        lines = [line for line in sample_lines(head) if not line.startswith("#")]
        if not lines:
            return False
        good = sum(isinstance(parse_plain_line(line, ""), HashRecord) for line in lines)
        return good * 2 > len(lines)

    def metadata(self, path: Path) -> SetMetadata:
        return SetMetadata(format=self.name)

    def read(self, path: Path) -> Iterator[ParsedItem]:
        first = True
        for number, line in enumerate(decoded_lines(path), start=1):
            item = parse_plain_line(line, f"line {number}")
            if item is None:
                continue
            if first and isinstance(item, BadRow) and _HEADER_RE.fullmatch(line.strip(" \t\r\n\ufeff")):
                first = False  # a column title ("hash", "MD5", "sha256,filename") exported with the list
                continue
            first = False
            yield item
