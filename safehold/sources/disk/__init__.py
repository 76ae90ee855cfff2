"""Disk images: raw/split, E01/Ex01, VHD/VHDX, VMDK, QCOW2, DMG → partitions → TSK file systems
or APFS containers (libfsapfs)."""

from safehold.sources.disk.signatures import looks_like_disk_image
from safehold.sources.disk.source import DiskImageSource

__all__ = ["DiskImageSource", "looks_like_disk_image"]
