"""NSRL RDS v3 (SQLite, opened read-only) and legacy RDS 2.x NSRLFile.txt (ISO-8859-1)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from safehold.formats.hashsets import BadRow, HashRecord
from safehold.formats.hashsets.base import EMPTY_FILE_REASON
from safehold.formats.hashsets.nsrl import NsrlLegacyReader, NsrlRds3Reader

from .hashset_fixtures import (
    EMPTY_MD5,
    EMPTY_SHA1,
    EMPTY_SHA256,
    LEGACY_HEADER,
    legacy_row,
    md5,
    sha1,
    sha256,
    write_nsrl_v3,
)


def test_rds3_rows_lowercased_with_product_info(tmp_path: Path) -> None:
    empty = (EMPTY_SHA256.upper(), EMPTY_SHA1.upper(), EMPTY_MD5.upper(), "00000000", "empty.txt", 0, 1)
    path = write_nsrl_v3(tmp_path / "RDS_2026.03.1_modern_minimal.db", 50, extra_rows=(empty,))
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    items = list(NsrlRds3Reader().read(path))
    recs = [item for item in items if isinstance(item, HashRecord)]
    assert len(recs) == 50
    first = recs[1]
    assert (first.sha256, first.sha1, first.md5) == (sha256(1), sha1(1), md5(1))
    assert (first.size, first.file_name, first.category_scheme) == (101, "file1.dll", "nsrl")
    assert dict(first.extra) == {
        "package_id": "1",
        "product": "Benign Product 1",
        "product_version": "1.0",
        "os": "TestOS",
    }
    assert items[-1] == BadRow("row 51", EMPTY_FILE_REASON)
    # Read-only and immutable: the evidence file is untouched and no journal appears beside it.
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_rds3_metadata_from_version_table(tmp_path: Path) -> None:
    meta = NsrlRds3Reader().metadata(write_nsrl_v3(tmp_path / "rds.db", 1))
    assert (meta.format, meta.version, meta.category_scheme) == ("nsrl-rds3", "2026.03.1", "nsrl")
    assert meta.extra["build_set"] == "modern minimal"


def test_rds3_bad_hash_row(tmp_path: Path) -> None:
    broken = ("XYZ", sha1(9).upper(), md5(9).upper(), "0", "f", 1, 0)
    items = list(NsrlRds3Reader().read(write_nsrl_v3(tmp_path / "rds.db", 2, extra_rows=(broken,))))
    assert isinstance(items[2], BadRow) and items[2].position == "row 3" and "SHA-256" in items[2].reason


def test_rds3_without_pkg_table(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "bare.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE FILE (sha256, sha1, md5, crc32, file_name, file_size, package_id)")
    con.execute("INSERT INTO FILE VALUES (?, ?, ?, '0', 'a.dll', 3, 7)", (sha256(1).upper(), sha1(1), md5(1)))
    con.commit()
    con.close()
    recs = list(NsrlRds3Reader().read(path))
    assert recs == [
        HashRecord(
            md5=md5(1),
            sha1=sha1(1),
            sha256=sha256(1),
            size=3,
            category_scheme="nsrl",
            file_name="a.dll",
            extra={"package_id": "7"},
        )
    ]


def test_legacy_latin1_names_codes_and_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "NSRLFile.txt"
    path.write_bytes(
        LEGACY_HEADER
        + legacy_row(0)
        + legacy_row(1, name=b"caf\xe9 \xfcber.dll")  # Latin-1, not valid UTF-8
        + b'"'
        + EMPTY_SHA1.upper().encode()
        + b'","'
        + EMPTY_MD5.upper().encode()
        + b'","0","e",0,1,"358",""\r\n'
        + b'"NOTHEX","'
        + md5(3).encode()
        + b'","0","x",1,1,"358",""\r\n'
        + b'"short","row"\r\n'
        + legacy_row(5)
    )
    items = list(NsrlLegacyReader().read(path))
    recs = [item for item in items if isinstance(item, HashRecord)]
    assert [r.sha1 for r in recs] == [sha1(0), sha1(1), sha1(5)]
    assert recs[1].file_name == "café über.dll"
    assert (recs[0].md5, recs[0].size, recs[0].category_scheme) == (md5(0), 100, "nsrl")
    assert dict(recs[0].extra) == {"ProductCode": "0", "OpSystemCode": "358"}
    problems = {row.position: row.reason for row in items if isinstance(row, BadRow)}
    assert problems["line 4"] == EMPTY_FILE_REASON
    assert "SHA-1" in problems["line 5"]
    assert "2 columns" in problems["line 6"]


def test_legacy_wrong_header(tmp_path: Path) -> None:
    path = tmp_path / "NSRLProd.txt"
    path.write_bytes(b'"ProductCode","ProductName"\r\n1,"x"\r\n')
    assert [type(i) for i in NsrlLegacyReader().read(path)] == [BadRow]
