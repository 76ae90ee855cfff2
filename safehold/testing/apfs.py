"""A fake of the part of pyfsapfs that Safehold's APFS reader uses, shipped for tests.

Why: no tool in Debian or on PyPI writes files into an APFS image without macOS or a kernel
driver (``mkapfs`` makes an empty container), and encrypted volumes cannot be made at all. The
walk, the locators, locked volumes, special files and read errors are tested against this
fake, as httpx's ``MockTransport`` stands in for a network. It mirrors libfsapfs's behaviour
where it matters: identifiers are inode numbers (root 2, user files from 16), times are
nanoseconds since 1970 with libfsapfs's creation/modification naming, a missing identifier or a
damaged extent raises ``OSError``.

    fake = FakeApfs([fake_volume("Macintosh HD", {"/Users/a/x.jpg": data})])
    DiskImageSource(image, apfs_opener=fake)   # where the image holds an APFS container

The opener checks that the bytes it is handed start with an APFS container superblock
(``NXSB`` at byte 32), so the tests also prove the container's offset was found.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DIR_MODE", "FILE_MODE", "LINK_MODE", "FakeApfs", "FakeContainer", "FakeEntry", "FakeVolume",
           "fake_volume"]

DIR_MODE = stat.S_IFDIR | 0o755
FILE_MODE = stat.S_IFREG | 0o644
LINK_MODE = stat.S_IFLNK | 0o755
ROOT_ID = 2
FIRST_USER_ID = 16


@dataclass
class FakeEntry:
    identifier: int
    name: str
    mode: int
    data: bytes = b""
    times_ns: tuple[int, int, int, int] = (0, 0, 0, 0)  # modified, accessed, changed, created
    children: list[FakeEntry] = field(default_factory=list)
    broken: bool = False  # reading it fails as a damaged extent does
    short: bool = False  # reads stop half-way without an error (what a truncated container may do)

    def get_identifier(self) -> int:
        return self.identifier

    def get_name(self) -> str:
        return self.name

    def get_file_mode(self) -> int:
        return self.mode

    def get_size(self) -> int:
        return len(self.data)

    def get_number_of_sub_file_entries(self) -> int:
        return len(self.children)

    def get_sub_file_entry(self, index: int) -> FakeEntry:
        return self.children[index]

    # libfsapfs's names for the two first inode times are each other's (see apfs.times_of):
    # its "modification" getter returns Apple's create_time, its "creation" getter mod_time.
    def get_modification_time_as_integer(self) -> int:
        return self.times_ns[3]

    def get_access_time_as_integer(self) -> int:
        return self.times_ns[1]

    def get_inode_change_time_as_integer(self) -> int:
        return self.times_ns[2]

    def get_creation_time_as_integer(self) -> int:
        return self.times_ns[0]

    def read_buffer_at_offset(self, size: int, offset: int) -> bytes:
        if self.broken:
            raise OSError("pyfsapfs_file_entry_read_buffer_at_offset: unable to read data. "
                          "libfsapfs_file_extent_read: invalid extent block number.")
        end = len(self.data) // 2 if self.short else len(self.data)
        return self.data[offset:min(offset + size, end)]


@dataclass
class FakeVolume:
    name: str
    root: FakeEntry
    locked: bool = False

    def get_name(self) -> str:
        return self.name

    def is_locked(self) -> bool:
        return self.locked

    def get_root_directory(self) -> FakeEntry:
        if self.locked:
            raise OSError("pyfsapfs_volume_get_root_directory: unable to retrieve root directory.")
        return self.root

    def get_file_entry_by_identifier(self, identifier: int) -> FakeEntry:
        stack = [self.root]
        while stack:
            entry = stack.pop()
            if entry.identifier == identifier:
                return entry
            stack.extend(entry.children)
        raise OSError(f"pyfsapfs_volume_get_file_entry_by_identifier: unable to retrieve of file entry: {identifier}.")


@dataclass
class FakeContainer:
    volumes: list[FakeVolume]

    def get_number_of_volumes(self) -> int:
        return len(self.volumes)

    def get_volume(self, index: int) -> FakeVolume:
        return self.volumes[index]


class FakeApfs:
    """An APFS opener (``ContainerOpener``) that hands out one fake container."""

    def __init__(self, volumes: list[FakeVolume]) -> None:
        self.container = FakeContainer(volumes)
        self.opened = 0

    def __call__(self, stream: Any) -> FakeContainer:
        stream.seek(0)
        if stream.read(36)[32:36] != b"NXSB":
            raise OSError("pyfsapfs_container_open_file_object: unable to open container. "
                          "libfsapfs_container_superblock_read_data: invalid signature.")
        self.opened += 1
        return self.container


def fake_volume(name: str, files: dict[str, bytes], *, locked: bool = False, links: tuple[str, ...] = (),
                broken: tuple[str, ...] = (), short: tuple[str, ...] = (),
                times_ns: tuple[int, int, int, int] = (0, 0, 0, 0)) -> FakeVolume:
    """A volume holding ``files`` (absolute paths → bytes); folders are made as needed.

    ``links`` become symbolic links, ``broken`` files fail when read, ``short`` ones return
    only their first half. Identifiers follow
    sorted path order from 16, so the same arguments always give the same inode numbers.
    """
    root = FakeEntry(ROOT_ID, "root", DIR_MODE, times_ns=times_ns)
    dirs: dict[str, FakeEntry] = {"": root}
    next_id = FIRST_USER_ID
    for path in sorted({*files, *links}):
        parts = path.strip("/").split("/")
        parent = root
        for depth in range(1, len(parts)):
            key = "/".join(parts[:depth])
            if key not in dirs:
                dirs[key] = FakeEntry(next_id, parts[depth - 1], DIR_MODE, times_ns=times_ns)
                parent.children.append(dirs[key])
                next_id += 1
            parent = dirs[key]
        mode = LINK_MODE if path in links else FILE_MODE
        parent.children.append(FakeEntry(next_id, parts[-1], mode, files.get(path, b""), times_ns,
                                         broken=path in broken, short=path in short))
        next_id += 1
    return FakeVolume(name, root, locked)
