"""Add benign files to a fresh APFS container made by ``mkapfs``, for tests (no macOS, no mount).

Why: apfsprogs' ``mkapfs`` is the only APFS writer on Debian 12 or PyPI, and it makes an empty
volume; the Linux driver that can write needs a kernel module and a mount. Without files in a
real image the APFS reader could only be tested against a fake. This writes what a reader
follows from the volume superblock down, in the layout of Apple's APFS reference
(little-endian, Fletcher-64 object checksums):

* file data in free blocks at the end of the container, one contiguous extent per file;
* into the file-system tree's root node (a single leaf, as ``mkapfs`` leaves it): an inode
  record per folder and file (name and data-stream extended fields), a directory record per
  name (hashed key: CRC-32C of the case-folded, NFD-normalised UTF-32 name), a file-extent
  and a data-stream-ID record per non-empty file; records re-sorted, the node rewritten;
* the volume superblock's next object ID and file and folder counts.

Not written, and so not what a test may rely on: the space manager's bitmaps, the extent
reference tree, snapshots. ``apfsck`` reports the blocks as unallocated; libfsapfs and TSK read
the files. Everything must fit in the one leaf node (about ten files and folders): more raises
``ValueError`` rather than writing a second node.
"""

from __future__ import annotations

import struct
import unicodedata
from dataclasses import dataclass
from pathlib import Path

__all__ = ["add_files", "fletcher64"]

OID_MASK = (1 << 60) - 1
INODE, DSTREAM_ID, FILE_EXTENT, DIR_REC = 3, 6, 8, 9
ROOT_DIR, FIRST_USER_ID = 2, 16
DT_DIR, DT_REG = 4, 8
S_IFDIR, S_IFREG = 0o040755, 0o100644
XF_NAME, XF_DSTREAM = 4, 8
BTNODE_ROOT, BTNODE_LEAF = 1, 2
INFO_SIZE, NODE_HEADER = 40, 56
CASE_INSENSITIVE, NORMALIZATION_INSENSITIVE = 1, 8
_CRC32C = []
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = (_c >> 1) ^ 0x82F63B78 if _c & 1 else _c >> 1
    _CRC32C.append(_c)


def fletcher64(block: bytes) -> int:
    """The checksum APFS stores in an object's first 8 bytes, over the rest of the block."""
    s1 = s2 = 0
    for (word,) in struct.iter_unpack("<I", block[8:]):
        s1 = (s1 + word) % 0xFFFFFFFF
        s2 = (s2 + s1) % 0xFFFFFFFF
    low = 0xFFFFFFFF - ((s1 + s2) % 0xFFFFFFFF)
    high = 0xFFFFFFFF - ((s1 + low) % 0xFFFFFFFF)
    return (high << 32) | low


def name_hash(name: str, case_insensitive: bool) -> int:
    """The 22-bit hash of a directory-record key (not complemented: APFS keeps the raw CRC)."""
    text = unicodedata.normalize("NFD", name.casefold() if case_insensitive else name)
    crc = 0xFFFFFFFF
    for byte in b"".join(struct.pack("<I", ord(ch)) for ch in text):
        crc = _CRC32C[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc & 0x3FFFFF


class _Image:
    def __init__(self, path: Path, offset: int) -> None:
        self.f = open(path, "r+b")  # noqa: SIM115 - closed by add_files
        self.offset = offset
        self.bs = 4096
        nx = self.block(0)
        if nx[32:36] != b"NXSB" or struct.unpack_from("<Q", nx)[0] != fletcher64(nx):
            raise ValueError("no valid APFS container superblock at the given offset")
        self.bs, self.blocks = struct.unpack_from("<IQ", nx, 36)
        self.omap = struct.unpack_from("<Q", nx, 160)[0]
        self.fs0 = struct.unpack_from("<Q", nx, 184)[0]

    def block(self, n: int) -> bytes:
        self.f.seek(self.offset + n * self.bs)
        return self.f.read(self.bs)

    def write(self, n: int, data: bytes) -> None:
        self.f.seek(self.offset + n * self.bs)
        self.f.write(data)

    def write_object(self, n: int, obj: bytearray) -> None:
        struct.pack_into("<Q", obj, 0, fletcher64(bytes(obj)))
        self.write(n, bytes(obj))

    def lookup(self, omap_block: int, oid: int) -> int:
        """Physical block of virtual object ``oid`` in the object map at ``omap_block``."""
        node = self.block(struct.unpack_from("<Q", self.block(omap_block), 48)[0])
        flags, _, count = struct.unpack_from("<HHI", node, 32)
        if not flags & BTNODE_LEAF:
            raise ValueError("object map deeper than one node: not a fresh mkapfs container")
        keys = NODE_HEADER + struct.unpack_from("<H", node, 42)[0]
        vend = self.bs - (INFO_SIZE if flags & BTNODE_ROOT else 0)
        for i in range(count):
            k, v = struct.unpack_from("<HH", node, NODE_HEADER + 4 * i)
            if struct.unpack_from("<Q", node, keys + k)[0] == oid:
                return int(struct.unpack_from("<Q", node, vend - v + 8)[0])
        raise KeyError(oid)


@dataclass
class _Dir:
    oid: int
    children: int = 0


def _key(oid: int, kind: int, rest: bytes = b"") -> bytes:
    return struct.pack("<Q", (kind << 60) | oid) + rest


def _sort_key(key: bytes) -> tuple[int, int, bytes]:
    head = struct.unpack_from("<Q", key)[0]
    rest = key[8:]
    if head >> 60 == DIR_REC:  # by hash, then name
        return head & OID_MASK, head >> 60, struct.pack(">I", struct.unpack_from("<I", rest)[0] >> 10) + rest[4:]
    return head & OID_MASK, head >> 60, rest[::-1] if len(rest) == 8 else rest  # extents: by address


def _xfields(fields: list[tuple[int, int, bytes]]) -> bytes:
    head = struct.pack("<HH", len(fields), sum(-(-len(d) // 8) * 8 for _, _, d in fields))
    head += b"".join(struct.pack("<BBH", t, fl, len(d)) for t, fl, d in fields)
    return head + b"".join(d.ljust(-(-len(d) // 8) * 8, b"\0") for _, _, d in fields)


def _inode(parent: int, oid: int, mode: int, links: int, name: str, times: tuple[int, int, int, int],
           stream: bytes | None) -> bytes:
    modified, accessed, changed, created = times
    value = struct.pack("<QQQQQQQiIIIIIHHQ", parent, oid, created, modified, changed, accessed, 0, links,
                        0, 0, 0, 0, 0, mode, 0, 0)
    fields = [(XF_NAME, 0x02, name.encode() + b"\0")]
    if stream is not None:
        fields.append((XF_DSTREAM, 0x20, stream))
    return value + _xfields(fields)


def _leaf(node: bytes, bs: int) -> list[tuple[bytes, bytes]]:
    flags, _, count = struct.unpack_from("<HHI", node, 32)
    if flags != BTNODE_ROOT | BTNODE_LEAF:
        raise ValueError("file-system tree is more than one node: not a fresh mkapfs volume")
    keys = NODE_HEADER + struct.unpack_from("<H", node, 42)[0]
    vend = bs - INFO_SIZE
    out = []
    for i in range(count):
        ko, kl, vo, vl = struct.unpack_from("<HHHH", node, NODE_HEADER + 8 * i)
        out.append((node[keys + ko:keys + ko + kl], node[vend - vo:vend - vo + vl]))
    return out


def _serialise(node: bytes, records: list[tuple[bytes, bytes]], bs: int) -> bytearray:
    toc = -(-len(records) // 8) * 8 * 8
    keys = b"".join(k for k, _ in records)
    values = b"".join(v for _, v in reversed(records))
    free = bs - NODE_HEADER - toc - INFO_SIZE - len(keys) - len(values)
    if free < 0:
        raise ValueError(f"{len(records)} records do not fit in one {bs}-byte node: add fewer files")
    out = bytearray(node[:32]) + struct.pack("<HHI8H", BTNODE_ROOT | BTNODE_LEAF, 0, len(records),
                                             0, toc, len(keys), free, 0xFFFF, 0, 0xFFFF, 0)
    k_off = v_off = 0
    for k, v in records:
        v_off += len(v)
        out += struct.pack("<HHHH", k_off, len(k), v_off, len(v))
        k_off += len(k)
    out += bytes(NODE_HEADER + toc - len(out)) + keys + bytes(free) + values
    info = bytearray(node[bs - INFO_SIZE:])
    struct.pack_into("<IIQ", info, 16, max(len(k) for k, _ in records), max(len(v) for _, v in records),
                     len(records))
    return out + info


def add_files(image: Path, files: dict[str, bytes], *, offset: int = 0,
              times_ns: tuple[int, int, int, int] = (0, 0, 0, 0)) -> dict[str, int]:
    """Add ``files`` (absolute paths → bytes) to volume 1 of the container at ``offset``.

    ``times_ns`` are the modified, accessed, changed and created times of every new inode.
    Returns each new path's inode number (folders included).
    """
    img = _Image(image, offset)
    try:
        apsb_block = img.lookup(img.omap, img.fs0)
        apsb = bytearray(img.block(apsb_block))
        incompat = struct.unpack_from("<Q", apsb, 56)[0]
        if not incompat & (CASE_INSENSITIVE | NORMALIZATION_INSENSITIVE):
            raise ValueError("only volumes with hashed directory keys are supported (mkapfs without -s)")
        fold = bool(incompat & CASE_INSENSITIVE)
        vomap, root_oid = struct.unpack_from("<QQ", apsb, 128)
        stored_next, files_count, dirs_count = struct.unpack_from("<QQQ", apsb, 176)
        tree_block = img.lookup(vomap, root_oid)
        node = img.block(tree_block)
        records = _leaf(node, img.bs)
        need = sum(-(-len(d) // img.bs) for d in files.values())
        block = img.blocks - need - 16  # free space mkapfs leaves at the end
        if any(img.block(b).strip(b"\0") for b in range(block, block + need)):
            raise ValueError("the blocks at the end of the container are in use")
        dirs = {"": _Dir(ROOT_DIR)}
        inodes: dict[str, int] = {}
        new: list[tuple[bytes, bytes]] = []
        writes: list[tuple[int, bytes]] = []  # file data, written once the node is known to fit
        next_oid: int = max(int(stored_next), FIRST_USER_ID)

        def entry(parent: str, name: str, mode: int, dt: int, stream: bytes | None, links: int) -> int:
            nonlocal next_oid
            oid, next_oid = next_oid, next_oid + 1
            folder = dirs[parent]
            folder.children += 1
            raw = name.encode() + b"\0"
            drec = struct.pack("<I", (name_hash(name, fold) << 10) | len(raw)) + raw
            new.append((_key(folder.oid, DIR_REC, drec), struct.pack("<QQH", oid, times_ns[3], dt)))
            new.append((_key(oid, INODE), _inode(folder.oid, oid, mode, links, name, times_ns, stream)))
            return oid

        for path in sorted(files):
            parts = path.strip("/").split("/")
            for depth in range(1, len(parts)):
                sub, parent = "/".join(parts[:depth]), "/".join(parts[:depth - 1])
                if sub not in dirs:
                    dirs[sub] = _Dir(entry(parent, parts[depth - 1], S_IFDIR, DT_DIR, None, 0))
                    inodes["/" + sub] = dirs[sub].oid
            data = files[path]
            blocks = -(-len(data) // img.bs)
            stream = struct.pack("<QQQQQ", len(data), blocks * img.bs, 0, len(data), 0) if data else None
            oid = entry("/".join(parts[:-1]), parts[-1], S_IFREG, DT_REG, stream, 1)
            inodes["/" + "/".join(parts)] = oid
            if data:
                writes.append((block, data.ljust(blocks * img.bs, b"\0")))
                extent = struct.pack("<QQQ", blocks * img.bs, block, 0)  # length, first block, no crypto
                new.append((_key(oid, FILE_EXTENT, struct.pack("<Q", 0)), extent))
                new.append((_key(oid, DSTREAM_ID), struct.pack("<I", 1)))
                block += blocks
        for i, (k, v) in enumerate(records):  # the existing folders' child counts
            head = struct.unpack_from("<Q", k)[0]
            folder = next((d for d in dirs.values() if d.oid == head & OID_MASK), None)
            if head >> 60 == INODE and folder is not None:
                value = bytearray(v)
                struct.pack_into("<i", value, 56, struct.unpack_from("<i", value, 56)[0] + folder.children)
                records[i] = (k, bytes(value))
        for i, (k, v) in enumerate(new):  # and the new ones'
            head = struct.unpack_from("<Q", k)[0]
            folder = next((d for d in dirs.values() if d.oid == head & OID_MASK), None)
            if head >> 60 == INODE and folder is not None and folder.oid != ROOT_DIR:
                value = bytearray(v)
                struct.pack_into("<i", value, 56, folder.children)
                new[i] = (k, bytes(value))
        tree = _serialise(node, sorted(records + new, key=lambda r: _sort_key(r[0])), img.bs)
        for at, data in writes:
            img.write(at, data)
        img.write_object(tree_block, tree)
        struct.pack_into("<QQQ", apsb, 176, next_oid, files_count + len(files), dirs_count + len(dirs) - 1)
        img.write_object(apsb_block, apsb)
        return inodes
    finally:
        img.f.close()
