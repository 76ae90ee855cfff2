"""The NSRL bulk path (``read_columns``) agrees with the per-record path (``read``) on every row:
same good rows, same bad rows with the same positions and reasons."""

from __future__ import annotations

from pathlib import Path

from safehold.formats.hashsets import BadRow, HashRecord
from safehold.formats.hashsets.base import EMPTY_FILE_REASON
from safehold.formats.hashsets.nsrl import ColumnReader, HashColumns, NsrlLegacyReader, NsrlRds3Reader

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


def _flatten(items: list[HashColumns | BadRow]) -> tuple[list[HashRecord], list[BadRow]]:
    recs: list[HashRecord] = []
    bad: list[BadRow] = []
    for item in items:
        if isinstance(item, BadRow):
            bad.append(item)
            continue
        for i in range(len(item)):
            recs.append(HashRecord(md5=item.md5[i], sha1=item.sha1[i], sha256=item.sha256[i], size=item.size[i],
                                   category_scheme=item.category_scheme, file_name=item.file_name[i],
                                   extra=item.extra[i]))
    return recs, bad


def _split(items: list[HashRecord | BadRow]) -> tuple[list[HashRecord], list[BadRow]]:
    return [i for i in items if isinstance(i, HashRecord)], [i for i in items if isinstance(i, BadRow)]


def test_rds3_columns_match_records_clean_and_dirty(tmp_path: Path) -> None:
    empty = (EMPTY_SHA256.upper(), EMPTY_SHA1.upper(), EMPTY_MD5.upper(), "0", "empty.txt", 0, 1)
    broken = ("XYZ", sha1(900).upper(), md5(900).upper(), "0", "f", 1, 0)
    padded = (f" {sha256(901).upper()} ", sha1(901).upper(), md5(901).upper(), "0", "", 5, 2)
    negative = (sha256(902).upper(), sha1(902).upper(), md5(902).upper(), "0", "n.dll", -1, 2)
    path = write_nsrl_v3(tmp_path / "rds.db", 30, extra_rows=(empty, broken, padded, negative))
    reader = NsrlRds3Reader()
    assert isinstance(reader, ColumnReader)
    assert reader.size_hint(path) == 34
    recs, bad = _flatten(list(reader.read_columns(path)))
    want_recs, want_bad = _split(list(reader.read(path)))
    assert recs == want_recs and bad == want_bad
    assert bad[0] == BadRow("row 31", EMPTY_FILE_REASON)
    assert bad[1].position == "row 32" and "SHA-256" in bad[1].reason
    assert bad[2].position == "row 34" and "negative" in bad[2].reason
    assert recs[30].sha256 == sha256(901) and recs[30].file_name is None  # stripped, like read()


def test_rds3_clean_batch_takes_the_column_path(tmp_path: Path) -> None:
    path = write_nsrl_v3(tmp_path / "rds.db", 25)
    items = list(NsrlRds3Reader().read_columns(path))
    assert len(items) == 1 and isinstance(items[0], HashColumns)
    batch = items[0]
    assert batch.sha256[3] == sha256(3) and batch.md5[3] == md5(3) and batch.size[3] == 103
    assert dict(batch.extra[3]) == {"package_id": "0", "product": "Benign Product 0", "product_version": "0.0",
                                    "os": "TestOS"}
    assert batch.extra[3] is batch.extra[6]  # one mapping per package, shared


def test_legacy_columns_match_records(tmp_path: Path) -> None:
    path = tmp_path / "NSRLFile.txt"
    clean = tmp_path / "clean.txt"
    clean.write_bytes(LEGACY_HEADER + b"".join(legacy_row(i) for i in range(40)))
    path.write_bytes(
        LEGACY_HEADER + legacy_row(0) + legacy_row(1, name=b"caf\xe9.dll")
        + b'"' + EMPTY_SHA1.upper().encode() + b'","' + EMPTY_MD5.upper().encode() + b'","0","e",0,1,"358",""\r\n'
        + b'"NOTHEX","' + md5(3).encode() + b'","0","x",1,1,"358",""\r\n'
        + b'"short","row"\r\n' + b"\r\n" + legacy_row(5)
    )
    reader = NsrlLegacyReader()
    for p in (path, clean):
        recs, bad = _flatten(list(reader.read_columns(p)))
        want_recs, want_bad = _split(list(reader.read(p)))
        assert recs == want_recs and bad == want_bad
    recs, bad = _flatten(list(reader.read_columns(path)))
    assert [r.sha1 for r in recs] == [sha1(0), sha1(1), sha1(5)]
    assert {b.position: b.reason for b in bad}["line 4"] == EMPTY_FILE_REASON
    assert "2 columns" in {b.position: b.reason for b in bad}["line 6"]
