"""Partitions of an opened image (MBR, GPT and the other tables TSK reads).

Allocated partitions are numbered 1, 2, … in table order (TSK's order: for MBR the primary
slots then the logical partitions of an extended one); the number is the ``partition`` locator
segment. An image without a partition table is one volume at offset 0 with no number.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytsk3  # type: ignore[import-not-found]

from safehold.sources.disk.image import Media

__all__ = ["Volume", "list_volumes"]


@dataclass(frozen=True, slots=True)
class Volume:
    number: int | None  # None: the whole image (no partition table)
    offset: int  # bytes from the start of the media
    length: int
    description: str = ""
    table: str | None = None  # "dos", "gpt", … (TSK's volume-system name)
    problem: str | None = None  # the partition does not fit in the image


_TABLES = {
    pytsk3.TSK_VS_TYPE_DOS: "dos",
    pytsk3.TSK_VS_TYPE_GPT: "gpt",
    pytsk3.TSK_VS_TYPE_MAC: "mac",
    pytsk3.TSK_VS_TYPE_BSD: "bsd",
    pytsk3.TSK_VS_TYPE_SUN: "sun",
}


def list_volumes(media: Media) -> list[Volume]:
    """The volumes to look for file systems on (a list: partition tables are small)."""
    try:
        vs = pytsk3.Volume_Info(media.img)
    except Exception:  # no table TSK knows (pytsk3 raises IOError, or a read error from the stream)
        return [Volume(None, 0, media.size)]
    block = int(vs.info.block_size)
    table = _TABLES.get(vs.info.vstype, str(vs.info.vstype))
    out: list[Volume] = []
    number = 0
    for part in vs:
        if not int(part.flags) & pytsk3.TSK_VS_PART_FLAG_ALLOC:
            continue
        number += 1
        offset, length = int(part.start) * block, int(part.len) * block
        desc = part.desc.decode("utf-8", "replace") if isinstance(part.desc, bytes) else str(part.desc)
        problem = None
        if offset >= media.size:
            problem = f"starts at byte {offset}, beyond the end of the image ({media.size} bytes)"
        elif offset + length > media.size:
            problem = f"ends at byte {offset + length}, beyond the end of the image ({media.size} bytes)"
        out.append(Volume(number, offset, length, desc, table, problem))
    if not out:  # a table with nothing allocated (or TSK mistook a boot sector for one)
        return [Volume(None, 0, media.size)]
    return out
