"""Evidence that is one file (an archive, a video, a phone extraction zip)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, ClassVar

from safehold.core.clock import from_timestamp
from safehold.core.errors import ErrorCode, ItemProblem
from safehold.sources.base import FileTimes, TopEntry

__all__ = ["SingleFileSource"]


class SingleFileSource:
    scheme: ClassVar[str] = "file"

    def __init__(self, path: Path) -> None:
        self.path = path

    def enumerate(self) -> Iterator[TopEntry]:
        st = self.path.stat()
        yield TopEntry(
            scheme=self.scheme, path="/" + self.path.name, ref=self.path.name, size=st.st_size,
            times=FileTimes(from_timestamp(st.st_mtime), from_timestamp(st.st_atime),
                            from_timestamp(st.st_ctime)),
            inode=str(st.st_ino),
        )

    def open_ref(self, ref: str) -> BinaryIO:
        if ref != self.path.name:
            raise ItemProblem(ErrorCode.UNSAFE_PATH, f"{ref!r} is not this evidence file")
        return open(self.path, "rb")

    def local_path(self, ref: str) -> Path | None:
        return self.path if ref == self.path.name else None
