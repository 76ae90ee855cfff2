"""Source interfaces: evidence roots yield top-level files; containers yield members.

Two narrow capabilities, each with a stable ``scheme`` used as the locator segment name:

* ``EvidenceSource`` enumerates the files directly on one evidence item (a folder now; disk images
  and phone extractions later) and can re-open any of them from a picklable ``ref``. The ingest
  pipeline enumerates in the main process and ships refs to worker processes.
* ``ContainerReader`` lists the members of one container (zip, tar, 7z, rar, gzip…) given a
  seekable ``Blob``. Members are consumed in order: a member's ``open()`` is valid only until the
  iterator advances (streaming tar and solid 7z need that).

Neither opens the database nor decides what happens to bytes; the pipeline does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, ClassVar, Protocol, runtime_checkable

from safehold.core.errors import ItemError
from safehold.core.records import FileTimes, TopEntry
from safehold.core.settings import Limits

__all__ = [
    "Blob",
    "ContainerReader",
    "EvidenceSource",
    "FileTimes",
    "Member",
    "TopEntry",
]


@runtime_checkable
class EvidenceSource(Protocol):
    scheme: ClassVar[str]

    def enumerate(self) -> Iterator[TopEntry]:
        """Every file on the item, in a deterministic order (resume depends on it)."""
        ...

    def open_ref(self, ref: str) -> BinaryIO:
        """Open one file read-only for streaming."""
        ...

    def local_path(self, ref: str) -> Path | None:
        """A real, seekable path for the file when there is one (lets readers avoid a spill)."""
        ...


class Blob(Protocol):
    """Container bytes handed to a reader: always seekable; a path exists when one is cheap."""

    @property
    def size(self) -> int: ...

    @property
    def path(self) -> Path | None: ...

    def open(self) -> BinaryIO: ...


@dataclass(slots=True)
class Member:
    """One entry of a container. ``open`` may raise ``ItemProblem`` (encrypted, corrupt, bomb)."""

    path: str  # name as stored in the container, verbatim (never used to touch the disk)
    size: int | None  # uncompressed size when the container states it
    open: Callable[[], BinaryIO]
    compressed_size: int | None = None
    times: FileTimes = field(default_factory=FileTimes)
    encrypted: bool = False
    error: ItemError | None = None  # recorded on the member (e.g. unsafe path); content still read


class ContainerReader(Protocol):
    scheme: ClassVar[str]

    def members(self, blob: Blob, limits: Limits, scratch: Path) -> Iterator[Member]:
        """Yield members in order; raise ``ItemProblem`` if the container itself is unusable.

        ``scratch`` is a private temporary folder (inside the data directory) the reader may
        write to; the caller deletes it afterwards.
        """
        ...
