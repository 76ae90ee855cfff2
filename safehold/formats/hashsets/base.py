"""Common types for imported hash lists: one record shape, bad rows as data, a reader protocol.

Every reader yields ``HashRecord | BadRow`` so that a malformed line never ends an import: the
caller stores the good rows and reports the bad ones with their position.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Protocol

from safehold.core.errors import SafeholdError
from safehold.core.hashrecords import EMPTY_FILE_HASHES, EMPTY_FILE_REASON, HashRecord

__all__ = [
    "EMPTY_FILE_HASHES",
    "EMPTY_FILE_REASON",
    "BadRow",
    "CsvReader",
    "HashListReader",
    "HashRecord",
    "ParsedItem",
    "SetMetadata",
    "UnknownHashListFormat",
    "csv_rows",
    "decoded_lines",
    "head_text",
    "name_and_path",
    "parse_flag",
    "sample_lines",
    "text_encoding",
]

class UnknownHashListFormat(SafeholdError):
    """No reader recognised the file, or a reader name is unknown."""


@dataclass(frozen=True, slots=True)
class BadRow:
    """A row that could not be imported, where it was (``line 17``, ``record 3``) and why."""

    position: str
    reason: str


ParsedItem = HashRecord | BadRow


@dataclass(frozen=True, slots=True)
class SetMetadata:
    """What a file says about itself (VICS odata context, NSRL VERSION row); provenance for the set."""

    format: str
    version: str | None = None
    category_scheme: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict, hash=False)


class HashListReader(Protocol):
    """A parser for one list format; ``name`` is stable and stored with the imported set."""

    name: ClassVar[str]

    def sniff(self, head: bytes, path: Path) -> bool:
        """Whether ``head`` (the first bytes of ``path``) looks like this format."""
        ...

    def read(self, path: Path) -> Iterator[ParsedItem]:
        """Stream records and bad rows in file order, never loading the whole file."""
        ...

    def metadata(self, path: Path) -> SetMetadata:
        """The set's self-description, read from the start of the file only."""
        ...


_FLAG_WORDS = {
    **dict.fromkeys(("y", "yes", "t", "true", "1"), True),
    **dict.fromkeys(("n", "no", "f", "false", "0"), False),
}


def parse_flag(value: object) -> bool | None:
    """Yes/no flags as lists write them (JSON bools, "true", "y", "1"); anything else is unknown."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return _FLAG_WORDS.get(value.strip().lower())
    if isinstance(value, int):
        return {0: False, 1: True}.get(value)
    return None


def text_encoding(head: bytes) -> tuple[str, int]:
    """Codec and BOM length for a text file: UTF-16 by BOM (or NUL pattern), otherwise UTF-8."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8", 3
    if head.startswith(codecs.BOM_UTF16_LE):
        return "utf-16-le", 2
    if head.startswith(codecs.BOM_UTF16_BE):
        return "utf-16-be", 2
    if len(head) >= 4 and head[1] == 0 and head[3] == 0 and head[0] != 0:
        return "utf-16-le", 0
    if len(head) >= 4 and head[0] == 0 and head[2] == 0 and head[1] != 0:
        return "utf-16-be", 0
    return "utf-8", 0


def head_text(head: bytes) -> str:
    """The head decoded for sniffing; a character cut at the end of the head is dropped."""
    encoding, bom = text_encoding(head)
    return codecs.getincrementaldecoder(encoding)(errors="replace").decode(head[bom:])


def sample_lines(head: bytes, limit: int = 20) -> list[str]:
    """Up to ``limit`` complete, non-blank lines of the head for sniffing (a cut last line is dropped)."""
    text = head_text(head)
    lines = text.splitlines()
    if len(lines) > 1 and not text.endswith(("\n", "\r")):
        lines.pop()
    return [line.strip() for line in lines if line.strip()][:limit]


class CsvReader(Protocol):
    """What ``csv.reader`` returns, as far as the readers use it."""

    line_num: int

    def __next__(self) -> list[str]: ...


def csv_rows(reader: CsvReader) -> Iterator[list[str] | BadRow]:
    """Rows of ``reader``; a csv error (oversized field...) becomes a BadRow and reading goes on."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            yield BadRow(f"line {reader.line_num}", f"CSV error: {err}")
            continue
        yield row


def name_and_path(listed: str) -> tuple[str | None, dict[str, str]]:
    """``file_name`` (the last path part) and ``extra`` holding the listed path when it has folders."""
    if not listed:
        return None, {}
    base = listed.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    return (base or listed), ({"path": listed} if base != listed else {})


def _decode_line(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def decoded_lines(path: Path) -> Iterator[str]:
    """Lines with their endings; UTF-16 by BOM, else UTF-8 per line falling back to cp1252.

    Per-line fallback because lists made on Windows mix ASCII hashes with file names in the
    local code page, and one such name must not garble or stop the whole file.
    """
    with path.open("rb") as raw:
        encoding, bom = text_encoding(raw.read(4))
        raw.seek(bom)
        if encoding.startswith("utf-16"):
            # newline="" splits on \n, \r, \r\n only, never on U+2028 inside a file name.
            yield from io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="")
            return
        for line in raw:
            yield line.decode("ascii") if line.isascii() else _decode_line(line)
