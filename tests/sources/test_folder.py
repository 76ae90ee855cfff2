from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import Iterator
from pathlib import Path

import pytest

from safehold.core.errors import ErrorCode, ItemProblem, NotFoundError, SafeholdError
from safehold.sources.base import EvidenceSource
from safehold.sources.factory import kind_for_path, open_source
from safehold.sources.folder import FolderSource, manifest_hash
from safehold.sources.single import SingleFileSource


def make_tree(root: Path) -> None:
    for rel, data in {
        "b.txt": b"bb",
        "a/x.jpg": b"jpeg-ish",
        "a.txt": b"a",
        "A.txt": b"upper",
        "c/d/e.bin": b"\x00\x01",
        "c/empty": b"",
    }.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    (root / "emptydir").mkdir()


def paths(src: FolderSource) -> list[str]:
    return [e.path for e in src.enumerate()]


def test_walk_is_sorted_depth_first_and_stable(tmp_path: Path) -> None:
    make_tree(tmp_path)
    src = FolderSource(tmp_path)
    assert isinstance(src, EvidenceSource)
    expected = ["/A.txt", "/a/x.jpg", "/a.txt", "/b.txt", "/c/d/e.bin", "/c/empty"]
    assert paths(src) == expected
    assert paths(FolderSource(tmp_path)) == expected


def test_entry_fields(tmp_path: Path) -> None:
    make_tree(tmp_path)
    entry = next(e for e in FolderSource(tmp_path).enumerate() if e.path == "/a/x.jpg")
    st = (tmp_path / "a/x.jpg").stat()
    assert (entry.scheme, entry.ref, entry.size, entry.inode) == ("fs", "a/x.jpg", 8, str(st.st_ino))
    assert entry.error is None and not entry.deleted
    assert entry.times.modified is not None and entry.times.modified.timestamp() == pytest.approx(st.st_mtime)
    assert entry.times.modified.tzinfo is not None
    assert pickle.loads(pickle.dumps(entry)) == entry


def test_open_ref_and_local_path(tmp_path: Path) -> None:
    make_tree(tmp_path)
    src = pickle.loads(pickle.dumps(FolderSource(tmp_path)))  # workers get a copy
    with src.open_ref("c/d/e.bin") as f:
        assert f.read() == b"\x00\x01"
        with pytest.raises(OSError):
            f.write(b"x")
    assert src.local_path("a.txt") == tmp_path.resolve() / "a.txt"


@pytest.mark.parametrize("ref", ["../outside", "/etc/passwd", "a/../../x", "a/..", "", "a\x00b"])
def test_refs_that_escape_are_refused(tmp_path: Path, ref: str) -> None:
    make_tree(tmp_path)
    src = FolderSource(tmp_path)
    with pytest.raises(ItemProblem) as info:
        src.open_ref(ref)
    assert info.value.error.code is ErrorCode.UNSAFE_PATH
    with pytest.raises(ItemProblem):
        src.local_path(ref)


def test_symlinks_are_recorded_not_followed(tmp_path: Path) -> None:
    root = tmp_path / "evidence"
    root.mkdir()
    (tmp_path / "secret.txt").write_text("outside")
    (tmp_path / "outdir").mkdir()
    (tmp_path / "outdir" / "f").write_text("outside too")
    (root / "real.txt").write_text("inside")
    (root / "in_link").symlink_to("real.txt")
    (root / "out_link").symlink_to(tmp_path / "secret.txt")
    (root / "out_dir").symlink_to(tmp_path / "outdir")
    (root / "dangling").symlink_to("nowhere")
    entries = {e.path: e for e in FolderSource(root).enumerate()}
    assert sorted(entries) == ["/dangling", "/in_link", "/out_dir", "/out_link", "/real.txt"]
    for name in ("in_link", "out_link", "out_dir", "dangling"):
        e = entries["/" + name]
        assert e.error is not None and e.error.code is ErrorCode.SKIPPED and e.size == 0
        assert "symlink" in e.error.message
    assert "inside the evidence" in entries["/in_link"].error.message  # type: ignore[union-attr]
    assert "real.txt" in entries["/in_link"].error.message  # type: ignore[union-attr]
    assert "out of the evidence" in entries["/out_link"].error.message  # type: ignore[union-attr]
    src = FolderSource(root)
    for ref in ("out_link", "in_link"):
        with pytest.raises(ItemProblem) as info:
            src.open_ref(ref)
        assert info.value.error.code is ErrorCode.SKIPPED
    with pytest.raises(ItemProblem) as info:  # a real file reached through a linked directory
        src.open_ref("out_dir/f")
    assert info.value.error.code is ErrorCode.UNSAFE_PATH
    assert src.local_path("in_link") is None


def test_symlink_loops_end(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "up").symlink_to("..")
    (tmp_path / "d" / "self").symlink_to(".")
    (tmp_path / "x").symlink_to("y")
    (tmp_path / "y").symlink_to("x")
    got = paths(FolderSource(tmp_path))
    assert got == ["/d/self", "/d/up", "/x", "/y"]


def test_evidence_root_behind_a_symlink(tmp_path: Path) -> None:
    make_tree(tmp_path / "real")
    (tmp_path / "mnt").symlink_to(tmp_path / "real")
    src = FolderSource(tmp_path / "mnt")
    assert "/a.txt" in paths(src)
    with src.open_ref("a.txt") as f:
        assert f.read() == b"a"


def test_fifo_is_skipped_and_never_blocks(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("a")
    os.mkfifo(tmp_path / "pipe")
    entries = {e.path: e for e in FolderSource(tmp_path).enumerate()}
    pipe = entries["/pipe"]
    assert pipe.size == 0 and pipe.error is not None
    assert pipe.error.code is ErrorCode.SKIPPED and "FIFO" in pipe.error.message
    src = FolderSource(tmp_path)
    with pytest.raises(ItemProblem) as info:
        src.open_ref("pipe")  # would block forever without O_NONBLOCK
    assert info.value.error.code is ErrorCode.SKIPPED
    assert src.local_path("pipe") is None


def test_unreadable_directory_is_an_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_tree(tmp_path)
    real_scandir = os.scandir
    locked = str(tmp_path / "c")

    def scandir(path: str) -> Iterator[os.DirEntry[str]]:
        if os.fspath(path) == locked:
            raise PermissionError(13, "Permission denied", path)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    entries = list(FolderSource(tmp_path).enumerate())
    assert [e.path for e in entries] == ["/A.txt", "/a/x.jpg", "/a.txt", "/b.txt", "/c"]
    c = entries[-1]
    assert c.error is not None and c.error.code is ErrorCode.UNREADABLE
    assert "Permission denied" in c.error.message


def test_unreadable_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def scandir(path: str) -> Iterator[os.DirEntry[str]]:
        raise PermissionError(13, "Permission denied", path)

    src = FolderSource(tmp_path)
    monkeypatch.setattr(os, "scandir", scandir)
    [entry] = list(src.enumerate())
    assert entry.path == "/" and entry.error is not None and entry.error.code is ErrorCode.UNREADABLE


def test_walk_is_lazy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Directories are listed as the walk reaches them, not up front (memory stays bounded)."""
    for d in ("a", "b", "c"):
        (tmp_path / d).mkdir()
        for i in range(3):
            (tmp_path / d / f"{i}.txt").write_text(d)
    listed: list[str] = []
    real_scandir = os.scandir

    def scandir(path: str) -> Iterator[os.DirEntry[str]]:
        listed.append(os.path.basename(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    walk = FolderSource(tmp_path).enumerate()
    assert next(walk).path == "/a/0.txt"
    assert listed == [tmp_path.name, "a"]
    assert len(list(walk)) == 8


def test_many_files_in_one_directory(tmp_path: Path) -> None:
    names = [f"f{i:05d}" for i in range(1500)]
    for n in reversed(names):
        (tmp_path / n).write_bytes(b"")
    assert paths(FolderSource(tmp_path)) == ["/" + n for n in names]


def test_undecodable_name(tmp_path: Path) -> None:
    raw = os.path.join(os.fsencode(tmp_path), b"caf\xe9.txt")
    with open(raw, "wb") as f:
        f.write(b"bytes")
    [entry] = list(FolderSource(tmp_path).enumerate())
    assert entry.path == "/caf\\xe9.txt"  # storable text for investigators
    with FolderSource(tmp_path).open_ref(entry.ref) as f:  # the ref still reaches the file
        assert f.read() == b"bytes"


def test_manifest_hash(tmp_path: Path) -> None:
    make_tree(tmp_path)
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "link").symlink_to("a.txt")
    digest, count, total = manifest_hash(tmp_path)
    assert (count, total) == (6, 2 + 8 + 1 + 5 + 2 + 0)
    expected = hashlib.sha256()
    for rel in ("A.txt", "a/x.jpg", "a.txt", "b.txt", "c/d/e.bin", "c/empty"):
        st = (tmp_path / rel).stat()
        expected.update(f"{rel}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
    assert digest == expected.hexdigest()
    assert manifest_hash(tmp_path) == (digest, count, total)
    os.utime(tmp_path / "a.txt", ns=(0, 1_000_000_000))
    assert manifest_hash(tmp_path)[0] != digest
    with pytest.raises(NotFoundError):
        manifest_hash(tmp_path / "missing")


def test_missing_root(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        FolderSource(tmp_path / "missing")


def test_single_file_source_and_factory(tmp_path: Path) -> None:
    f = tmp_path / "phone.zip"
    f.write_bytes(b"PK\x05\x06" + bytes(18))
    assert kind_for_path(f) == "file" and kind_for_path(tmp_path) == "folder"
    src = open_source("file", f)
    assert isinstance(src, SingleFileSource)
    [entry] = list(src.enumerate())
    assert (entry.path, entry.ref, entry.size) == ("/phone.zip", "phone.zip", 22)
    with src.open_ref(entry.ref) as fp:
        assert fp.read(2) == b"PK"
    assert src.local_path(entry.ref) == f.resolve()
    with pytest.raises(ItemProblem):
        src.open_ref("../etc/passwd")
    assert isinstance(open_source("folder", tmp_path), FolderSource)
    with pytest.raises(SafeholdError):
        kind_for_path(tmp_path / "missing")
    with pytest.raises(SafeholdError):
        open_source("e01", f)
