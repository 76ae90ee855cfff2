"""Picks the evidence source for an item. An explicit table, so adding disk images and phone
extractions is one line here and one module beside it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from safehold.core.errors import SafeholdError
from safehold.sources.base import EvidenceSource
from safehold.sources.disk import DiskImageSource, looks_like_disk_image
from safehold.sources.folder import FolderSource
from safehold.sources.single import SingleFileSource

__all__ = ["SOURCE_KINDS", "kind_for_path", "open_source"]

SOURCE_KINDS: dict[str, Callable[[Path], EvidenceSource]] = {
    "folder": FolderSource,
    "file": SingleFileSource,
    "disk": DiskImageSource,
}


def kind_for_path(path: Path) -> str:
    if path.is_dir():
        return "folder"
    if path.is_file():  # a disk image by content (EWF, VHD… magic, partition table, superblock)
        return "disk" if looks_like_disk_image(path) else "file"
    raise SafeholdError(f"{path} is neither a folder nor a regular file")


def open_source(kind: str, path: Path) -> EvidenceSource:
    try:
        factory = SOURCE_KINDS[kind]
    except KeyError:
        raise SafeholdError(f"unknown evidence kind {kind!r}") from None
    return factory(path)
