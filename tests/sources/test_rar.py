"""RAR fixtures are built by ``rarbuild`` (stored method; no RAR writer exists offline) and
checked with lsar itself before the reader is trusted with them."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from safehold.core.errors import ErrorCode, ItemProblem
from safehold.core.settings import Limits
from safehold.sources.blobs import BytesBlob, PathBlob
from safehold.sources.rar import RarReader

from .helpers import by_path, collect, generator
from .rarbuild import RarFile, rar4, rar5

# lsar/unar come from Debian's unar package (scripts/install.sh); never skipped.

FILES = [
    RarFile("docs", is_dir=True),
    RarFile("docs/a.txt", b"hello world\n"),
    RarFile("b.bin", bytes(range(256)) * 40),
    RarFile("empty", b""),
    RarFile("z.txt", b"last"),
]
EXPECTED = {"docs/a.txt": b"hello world\n", "b.bin": bytes(range(256)) * 40, "empty": b"", "z.txt": b"last"}


def lsar_names(path: Path) -> list[str]:
    out = subprocess.run(["lsar", "-nr", "-j", str(path)], capture_output=True, check=True).stdout
    return [e["XADFileName"] for e in json.loads(out)["lsarContents"]]


@pytest.mark.parametrize("build", [rar5, rar4])
def test_fixtures_are_real_rar(tmp_path: Path, build: object) -> None:
    path = tmp_path / "archive.rar"
    path.write_bytes(build(FILES))  # type: ignore[operator]
    assert lsar_names(path) == ["docs", "docs/a.txt", "b.bin", "empty", "z.txt"]


@pytest.mark.parametrize("build", [rar5, rar4])
def test_listing_and_bytes(tmp_path: Path, build: object) -> None:
    path = tmp_path / "evidence.rar"
    path.write_bytes(build(FILES))  # type: ignore[operator]
    got = collect(RarReader(), PathBlob(path), tmp_path / "scratch")
    assert {g.path: g.data for g in got} == EXPECTED
    assert [g.path for g in got] == list(EXPECTED)
    assert all(g.error is None and g.member.error is None for g in got)
    b = by_path(got)["b.bin"].member
    assert b.size == 10240 and b.compressed_size == 10240
    assert b.times.modified is not None and b.times.modified.timestamp() == 1_600_000_000
    assert list((tmp_path / "scratch").iterdir()) == []


def test_bytes_blob_is_spilled_to_scratch(tmp_path: Path) -> None:
    got = collect(RarReader(), BytesBlob(rar5(FILES)), tmp_path)
    assert {g.path: g.data for g in got} == EXPECTED


def test_sibling_volume_names_are_ignored(tmp_path: Path) -> None:
    """unar would read ``set1.rar``+``set2.rar`` as one set; the reader sees only its blob."""
    (tmp_path / "set1.rar").write_bytes(rar5([RarFile("one.txt", b"1")]))
    (tmp_path / "set2.rar").write_bytes(rar5([RarFile("two.txt", b"2")]))
    got = collect(RarReader(), PathBlob(tmp_path / "set2.rar"), tmp_path / "scratch")
    assert [(g.path, g.data) for g in got] == [("two.txt", b"2")]


def test_links_encrypted_and_unsafe(tmp_path: Path) -> None:
    files = [
        RarFile("real.txt", b"real"),
        RarFile("password.txt", b"names are not messages"),
        RarFile("link", symlink_to="/etc/shadow"),
        RarFile("secret.txt", b"not really encrypted", encrypted=True),
        RarFile("../../evil.txt", b"evil"),
        RarFile("/abs.txt", b"abs"),
        RarFile("after.txt", b"after"),
    ]
    got = by_path(collect(RarReader(), BytesBlob(rar5(files)), tmp_path))
    assert got["real.txt"].data == b"real" and got["after.txt"].data == b"after"
    assert got["password.txt"].data == b"names are not messages"
    link = got["link"]
    assert link.error is not None and link.error.code is ErrorCode.SKIPPED
    assert "/etc/shadow" in link.error.message
    secret = got["secret.txt"]
    assert secret.member.encrypted and secret.error is not None and secret.error.code is ErrorCode.ENCRYPTED
    for name, data in (("../../evil.txt", b"evil"), ("/abs.txt", b"abs")):
        g = got[name]
        assert g.member.error is not None and g.member.error.code is ErrorCode.UNSAFE_PATH and g.data == data
    assert not (tmp_path.parent.parent / "evil.txt").exists()


def test_rar4_encrypted_member(tmp_path: Path) -> None:
    files = [RarFile("a.txt", b"a"), RarFile("s.txt", b"secret", encrypted=True), RarFile("c.txt", b"c")]
    got = by_path(collect(RarReader(), BytesBlob(rar4(files)), tmp_path))
    assert got["s.txt"].member.encrypted and got["a.txt"].data == b"a" and got["c.txt"].data == b"c"


def test_encrypted_headers(tmp_path: Path) -> None:
    with pytest.raises(ItemProblem) as info:
        collect(RarReader(), BytesBlob(rar5([], header_encrypted=True)), tmp_path)
    assert info.value.error.code is ErrorCode.ENCRYPTED


def test_bad_crc_then_the_stream_realigns(tmp_path: Path) -> None:
    data = bytearray(rar5(FILES))
    at = data.find(bytes(range(256)))
    data[at + 10] ^= 0xFF
    got = by_path(collect(RarReader(), BytesBlob(bytes(data)), tmp_path))
    bad = got["b.bin"]
    assert bad.error is not None and bad.error.code is ErrorCode.CORRUPT and "CRC32" in bad.error.message
    assert got["docs/a.txt"].data == b"hello world\n" and got["z.txt"].data == b"last"


@pytest.mark.parametrize("build", [rar5, rar4])
def test_truncated_archive(tmp_path: Path, build: object) -> None:
    data = build(FILES)  # type: ignore[operator]
    cut = data.find(bytes(range(256))) + 100  # inside b.bin
    got: list[str] = []
    with pytest.raises(ItemProblem) as info:
        for m in RarReader().members(BytesBlob(data[:cut]), Limits(), tmp_path):
            got.append(m.path)
            try:
                with m.open() as f:
                    f.read()
            except ItemProblem as exc:
                assert m.path == "b.bin" and exc.error.code is ErrorCode.CORRUPT
    assert info.value.error.code is ErrorCode.CORRUPT and "truncated" in info.value.error.message
    assert got == ["docs/a.txt", "b.bin"]


@pytest.mark.parametrize("data", [rar5(FILES)[:30], b"not a rar at all" * 100])
def test_garbage(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(ItemProblem) as info:
        collect(RarReader(), BytesBlob(data), tmp_path)
    assert info.value.error.code is ErrorCode.CORRUPT


def test_unar_runs_in_batches(tmp_path: Path) -> None:
    files = [RarFile(f"{i}.txt", f"member {i}".encode()) for i in range(7)]
    got = collect(RarReader(batch=2), BytesBlob(rar5(files)), tmp_path)
    assert [g.data for g in got] == [f"member {i}".encode() for i in range(7)]


def test_unread_and_partly_read_members(tmp_path: Path) -> None:
    files = [RarFile(f"{i}.bin", bytes([i]) * 200_000) for i in range(4)]
    out = {}
    for m in RarReader().members(BytesBlob(rar5(files)), Limits(), tmp_path):
        if m.path == "1.bin":
            continue  # never opened: drained
        with m.open() as f:
            out[m.path] = f.read(10) if m.path == "2.bin" else f.read()
    assert out == {"0.bin": bytes(200_000), "2.bin": bytes([2]) * 10, "3.bin": bytes([3]) * 200_000}


def test_limits(tmp_path: Path) -> None:
    files = [RarFile(f"{i}.bin", bytes(3000)) for i in range(4)]
    got = collect(RarReader(), BytesBlob(rar5(files)), tmp_path, Limits(max_member_bytes=2000))
    assert all(g.error is not None and g.error.code is ErrorCode.BOMB for g in got)
    got = collect(RarReader(), BytesBlob(rar5(files)), tmp_path, Limits(max_archive_total_bytes=7000))
    assert [g.error is None for g in got] == [True, True, False, False]  # third crosses, fourth follows
    with pytest.raises(ItemProblem):
        collect(RarReader(), BytesBlob(rar5(files)), tmp_path, Limits(max_members=3))


def test_a_member_stream_reads_once(tmp_path: Path) -> None:
    members = generator(RarReader().members(BytesBlob(rar5(FILES)), Limits(), tmp_path))
    m = next(members)
    with m.open() as f:
        assert f.read() == b"hello world\n"
    with pytest.raises(ItemProblem):
        m.open()
    members.close()
    assert list(tmp_path.iterdir()) == []
