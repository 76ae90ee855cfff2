"""Auto-detection picks the right reader for each format; the record type enforces its invariants."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from safehold.formats.hashsets import (
    READERS,
    BadRow,
    HashRecord,
    UnknownHashListFormat,
    detect_format,
    reader_by_name,
)
from safehold.formats.hashsets.base import EMPTY_FILE_REASON, parse_flag

from .hashset_fixtures import (
    EMPTY_MD5,
    EMPTY_SHA1,
    EMPTY_SHA256,
    ICSE_HEADER,
    LEGACY_HEADER,
    legacy_row,
    md5,
    pdq,
    sha1,
    sha256,
    vics_doc,
    vics_media,
    write_nsrl_v3,
    write_vics,
)


def _vics(tmp: Path, name: str, encoding: str = "utf-8", **kw: str) -> Path:
    path: Path = write_vics(tmp / name, vics_doc([vics_media(1)], **kw), encoding=encoding, bom=True)
    return path


FIXTURES: dict[str, tuple[str, Callable[[Path], Path]]] = {
    "vics-2.0": ("vics", lambda t: _vics(t, "set.json")),
    "vics-1.2-utf16": ("vics", lambda t: _vics(t, "old.json", version="1.2", encoding="utf-16-le")),
    "vics-case": ("vics", lambda t: _vics(t, "case.json", shape="case")),
    "caid": ("caid", lambda t: _vics(t, "CAID_export.json", version="1.2")),
    "icse": (
        "icse",
        lambda t: _text(t / "icse.csv", f"{ICSE_HEADER}\n{md5(1)};{sha1(1)};;1;y;n;n;;1;y;Image;n\n"),
    ),
    "nsrl-rds3": ("nsrl-rds3", lambda t: write_nsrl_v3(t / "rds.db", 3)),
    "nsrl-legacy": ("nsrl-legacy", lambda t: _bytes(t / "NSRLFile.txt", LEGACY_HEADER + legacy_row(1))),
    "hashdeep": (
        "hashdeep",
        lambda t: _text(t / "a.txt", f"%%%% HASHDEEP-1.0\n%%%% size,md5,filename\n1,{md5(1)},f\n"),
    ),
    "md5sum": ("md5sum", lambda t: _text(t / "x.md5", f"{md5(1)}  a\n{md5(2)} *b\n")),
    "sha256-bare": ("md5sum", lambda t: _text(t / "list.txt", f"{sha256(1)}\n{sha256(2)}\n")),
    "sha1sum": ("md5sum", lambda t: _text(t / "x.sha1", f"{sha1(1)}  a\n")),
    "pdq-quality": ("pdq", lambda t: _text(t / "list.txt", f"{pdq(1)},100\n{pdq(2)},90\n")),
    "pdq-named": ("pdq", lambda t: _text(t / "benign.pdq", f"{pdq(1)}\n{pdq(2)}\n")),
    "pdq-header": ("pdq", lambda t: _text(t / "te.csv", f"pdq,quality\n{pdq(1)},80\n")),
    "pdq-te-header": ("pdq", lambda t: _text(t / "export.csv", f"hash,quality\n{pdq(1)},80\n{pdq(2)},70\n")),
    "sha256-with-header": ("md5sum", lambda t: _text(t / "l.txt", f"hash\n{sha256(1)}\n{sha256(2)}\n")),
    "pdq-tab": ("pdq", lambda t: _text(t / "p.tsv", f"{pdq(1)}\t80\tname.jpg\n")),
}


def _text(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("case", sorted(FIXTURES))
def test_detect_format_picks_the_reader(tmp_path: Path, case: str) -> None:
    expected, make = FIXTURES[case]
    path = make(tmp_path)
    reader = detect_format(path)
    assert reader.name == expected
    assert all(isinstance(item, HashRecord) for item in reader.read(path)), case
    assert reader.metadata(path).format == expected


def test_unknown_format(tmp_path: Path) -> None:
    path = _text(tmp_path / "notes.txt", "meeting notes\nnothing here\n")
    with pytest.raises(UnknownHashListFormat):
        detect_format(path)
    with pytest.raises(UnknownHashListFormat):
        reader_by_name("nope")


def test_reader_names_are_stable_and_unique() -> None:
    names = [reader.name for reader in READERS]
    assert names == ["nsrl-rds3", "hashdeep", "nsrl-legacy", "icse", "caid", "vics", "vpdq", "pdq", "md5sum"]
    assert all(reader_by_name(name) is reader for name, reader in zip(names, READERS, strict=True))


@pytest.mark.parametrize("field", ["md5", "sha1", "sha256"])
def test_empty_file_hashes_never_become_records(field: str) -> None:
    value = {"md5": EMPTY_MD5, "sha1": EMPTY_SHA1, "sha256": EMPTY_SHA256}[field]
    with pytest.raises(ValueError, match=EMPTY_FILE_REASON):
        HashRecord(**{field: value})  # type: ignore[arg-type]


def test_record_validation() -> None:
    with pytest.raises(ValueError, match="no hash"):
        HashRecord(series="x")
    with pytest.raises(ValueError, match="MD5"):
        HashRecord(md5=md5(1).upper())
    with pytest.raises(ValueError, match="PDQ"):
        HashRecord(pdq=pdq(1)[:-1])
    with pytest.raises(ValueError, match="quality"):
        HashRecord(pdq=pdq(1), pdq_quality=101)
    record = HashRecord(photodna="opaque", extra={"k": "v"})
    assert hash(record) == hash(HashRecord(photodna="opaque", extra={"k": "other"}))  # extra is not hashed


def test_parse_flag() -> None:
    assert [parse_flag(v) for v in ("Y", "yes", "t", "TRUE", True, 1)] == [True] * 6
    assert [parse_flag(v) for v in ("n", "No", "F", "false", False, 0)] == [False] * 6
    assert [parse_flag(v) for v in ("", None, "maybe", 2)] == [None] * 4


@pytest.mark.parametrize("name", [reader.name for reader in READERS])
def test_every_reader_survives_garbage(tmp_path: Path, name: str) -> None:
    import random

    rng = random.Random(name)
    path = tmp_path / "garbage.bin"
    for size in (0, 1, 3, 100, 5000):
        path.write_bytes(bytes(rng.randrange(256) for _ in range(size)) + b'\n;,"' * (size // 50))
        items = list(reader_by_name(name).read(path))
        assert all(isinstance(item, BadRow) for item in items), (name, size, items[:3])
