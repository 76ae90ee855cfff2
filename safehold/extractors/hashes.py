"""MD5, SHA-1 and SHA-256 of every content, from ingest's one read (hashlib releases the GIL)."""

from __future__ import annotations

from typing import ClassVar

from safehold.extractors.base import Accumulator, Sink, StreamExtractor
from safehold.hashing.crypto import MultiDigest

__all__ = ["HashesExtractor"]


class _Running:
    def __init__(self) -> None:
        self._digest = MultiDigest()
        self._size = 0

    def update(self, data: bytes) -> None:
        self._digest.update(data)
        self._size += len(data)

    def finish(self, sink: Sink) -> None:
        d = self._digest.result()
        sink.facts(sha256=d.sha256, md5=d.md5, sha1=d.sha1, size=self._size)


class HashesExtractor(StreamExtractor):
    name: ClassVar[str] = "hashes"
    version: ClassVar[int] = 1
    description: ClassVar[str] = "MD5, SHA-1 and SHA-256 of the bytes (the content's identity)"
    facts: ClassVar[frozenset[str]] = frozenset({"sha256", "md5", "sha1", "size"})

    def begin(self) -> Accumulator:
        return _Running()
