"""A pull scanner over one large JSON document, decoding one value at a time.

VICS files hold hundreds of thousands of records (and reach gigabytes), so the structure around
the records (top-level object, ``value`` array, case objects, ``Media`` arrays) is walked by hand
and each record is handed to the C decoder (``json.JSONDecoder.raw_decode``) over a sliding text
buffer. Memory stays at about one read chunk plus one record.
"""

from __future__ import annotations

import codecs
import json
import re
from typing import Any, BinaryIO

from safehold.formats.hashsets.base import text_encoding

__all__ = ["CHUNK_BYTES", "JsonBroken", "JsonStream"]

_NON_WS = re.compile(r"[^ \t\n\r]")
_DECODER = json.JSONDecoder(strict=False)
CHUNK_BYTES = 1 << 20
# One value larger than this is treated as a broken file rather than read on into memory.
MAX_VALUE_CHARS = 64 << 20


class JsonBroken(Exception):
    """The document is truncated or malformed at ``offset`` (characters from the start)."""

    def __init__(self, reason: str, offset: int) -> None:
        super().__init__(f"{reason} at character {offset}")
        self.offset = offset


class JsonStream:
    """Sliding-buffer reader: ``peek`` a structural character, ``take`` it, or decode a ``value``."""

    def __init__(self, raw: BinaryIO, chunk_bytes: int = CHUNK_BYTES) -> None:
        head = raw.read(4)
        encoding, bom = text_encoding(head)
        self._raw = raw
        self._chunk = chunk_bytes
        self._decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
        self._buf = self._decoder.decode(head[bom:])
        self._pos = 0
        self._dropped = 0  # characters discarded before the buffer start
        self._eof = False

    @property
    def offset(self) -> int:
        """Character offset of the read position in the whole document."""
        return self._dropped + self._pos

    def _fill(self, at_least: int = 0) -> None:
        if self._pos:
            self._buf = self._buf[self._pos :]
            self._dropped += self._pos
            self._pos = 0
        data = self._raw.read(max(self._chunk, at_least))
        if not data:
            self._eof = True
        self._buf += self._decoder.decode(data, final=not data)

    def peek(self) -> str:
        """Next non-blank character without consuming it; ``""`` at the end of the file."""
        while True:
            match = _NON_WS.search(self._buf, self._pos)
            if match:
                self._pos = match.start()
                return self._buf[self._pos]
            self._pos = len(self._buf)
            if self._eof:
                return ""
            self._fill()

    def take(self, expected: str) -> None:
        """Consume ``expected`` or report where the document breaks."""
        char = self.peek()
        if char != expected:
            self.fail(f"expected {expected!r}")
        self._pos += 1

    def fail(self, reason: str) -> None:
        """Raise ``JsonBroken``, saying "ends early" when the cause is the end of the file."""
        if self.peek() == "":
            raise JsonBroken("file ends early (truncated?)", self.offset)
        raise JsonBroken(f"{reason}, found {self._buf[self._pos : self._pos + 20]!r}", self.offset)

    def value(self) -> Any:
        """Decode the next complete JSON value, reading more of the file while it is cut off."""
        if self.peek() == "":
            raise JsonBroken("file ends early (truncated?)", self.offset)
        while True:
            try:
                obj, end = _DECODER.raw_decode(self._buf, self._pos)
            except RecursionError:
                raise JsonBroken("JSON nested too deeply", self.offset) from None
            except json.JSONDecodeError as err:
                complete = not err.msg.startswith("Unterminated string") and err.pos < len(self._buf) - 16
                if complete:
                    raise JsonBroken(f"malformed JSON ({err.msg})", self._dropped + err.pos) from None
                if self._eof:
                    raise JsonBroken("file ends early (truncated?)", self.offset) from None
                if len(self._buf) - self._pos > MAX_VALUE_CHARS:
                    raise JsonBroken("value too large or unterminated", self.offset) from None
                self._fill(at_least=len(self._buf) - self._pos)
                continue
            except ValueError as err:  # e.g. an integer past Python's digit limit
                raise JsonBroken(f"malformed JSON ({err})", self.offset) from None
            # A number cut at the buffer end decodes "successfully" as a shorter number.
            if end == len(self._buf) and not self._eof and not isinstance(obj, dict | list | str):
                self._fill()
                continue
            self._pos = end
            return obj

    def key(self) -> str:
        """Decode an object key and its colon."""
        name = self.value()
        if not isinstance(name, str):
            self.fail("expected an object key")
        self.take(":")
        return str(name)

    def next_member(self, close: str) -> bool:
        """After ``{``/``[`` or an item: True if another item follows, False once ``close`` is consumed.

        Tolerates a trailing comma before the closing bracket, as some writers emit one.
        """
        char = self.peek()
        if char == ",":
            self._pos += 1
            char = self.peek()
        if char == close:
            self._pos += 1
            return False
        if char == "":
            self.fail("")
        return True
