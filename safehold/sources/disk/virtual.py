"""Virtual-disk containers TSK cannot open itself, through libyal's Python bindings.

VHD and VHDX (libvhdi), VMDK (libvmdk), QCOW (libqcow) and DMG/UDIF (libmodi) each become a
plain byte stream of the guest disk, which is handed on to TSK. These are the same libraries
dfVFS drives for these formats; calling them directly keeps a large dependency out and the
deleted-file recovery in TSK (dfVFS never lists deleted files).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["VIRTUAL_KINDS", "VirtualStream"]

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

    def read_at(self, offset: int, size: int) -> bytes:
        if offset >= self.size or size <= 0:
            return b""
        data: bytes = self._handle.read_buffer_at_offset(min(size, self.size - offset), offset)
        return data

    def close(self) -> None:
        self._handle.close()
