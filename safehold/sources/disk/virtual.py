"""Virtual-disk containers TSK cannot open itself, through libyal's Python bindings.

VHD and VHDX (libvhdi), VMDK (libvmdk), QCOW (libqcow) and DMG/UDIF (libmodi) each become a
plain byte stream of the guest disk, which is handed on to TSK. These are the same libraries
dfVFS drives for these formats; calling them directly keeps a large dependency out and the
deleted-file recovery in TSK (dfVFS never lists deleted files).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

__all__ = ["VIRTUAL_KINDS", "VirtualStream", "libyal_reason"]

_CALL = re.compile(r"(?:^|(?<=\. ))(?P<fn>[a-z][a-z0-9_]*): (?P<text>.*?)\.(?= [a-z][a-z0-9_]*: |$)")


def libyal_reason(exc: BaseException) -> str:
    """The root cause of a libyal error chain, readable in a report.

    libyal bindings raise ``"pymodi_handle_open: unable to open handle. libfplist_…: unable to
    parse XML. libmodi_…: unable to read UDIF XML plist…"``: the outer call first, then the
    innermost failure, then each caller on the way out. An investigator needs the first two;
    a dozen more make the error unreadable in a report. Text that is not such a chain is
    returned whole.
    """
    text = str(exc).strip()
    calls = [(m["fn"], m["text"]) for m in _CALL.finditer(text)]
    if len(calls) < 2:
        return text
    (outer_fn, outer), (inner_fn, inner) = calls[0], calls[1]
    return f"{outer} ({outer_fn}): {inner} ({inner_fn})"

VIRTUAL_KINDS = ("vhd", "vhdx", "vmdk", "qcow", "dmg")


def _handle(kind: str, path: Path) -> Any:
    if kind in ("vhd", "vhdx"):
        import pyvhdi  # type: ignore[import-not-found]

        h = pyvhdi.file()
        h.open(str(path))
        return h
    if kind == "vmdk":
        import pyvmdk  # type: ignore[import-not-found]

        h = pyvmdk.handle()
        h.open(str(path))
        h.open_extent_data_files()
        return h
    if kind == "qcow":
        import pyqcow  # type: ignore[import-not-found]

        h = pyqcow.file()
        h.open(str(path))
        return h
    if kind == "dmg":
        import pymodi  # type: ignore[import-not-found]

        h = pymodi.handle()
        h.open(str(path))
        return h
    raise ValueError(f"not a virtual-disk kind: {kind}")


class VirtualStream:
    """The guest-disk bytes of one virtual-disk file."""

    def __init__(self, kind: str, path: Path) -> None:
        self.kind = kind
        self._handle = _handle(kind, path)
        self.size: int = int(self._handle.get_media_size())
        if self.size == 0:  # libmodi opens a DMG whose trailer points at no block table as empty
            self._handle.close()
            raise OSError(f"{kind} image holds no media data: its block table could not be found "
                          "(trailer offsets past the data, or the image was cut and re-joined)")

    def read_at(self, offset: int, size: int) -> bytes:
        if offset >= self.size or size <= 0:
            return b""
        data: bytes = self._handle.read_buffer_at_offset(min(size, self.size - offset), offset)
        return data

    def close(self) -> None:
        self._handle.close()
