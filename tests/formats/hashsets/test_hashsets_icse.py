"""Interpol ICSE CSV: ';'-delimited, y/n flags, columns found by header name."""

from __future__ import annotations

from pathlib import Path

from safehold.formats.hashsets import BadRow, HashRecord
from safehold.formats.hashsets.base import EMPTY_FILE_REASON
from safehold.formats.hashsets.icse import IcseReader

from .hashset_fixtures import EMPTY_MD5, ICSE_HEADER, md5, photodna, sha1


def icse_row(i: int, flags: tuple[str, str, str] = ("y", "n", "n"), series: str = "") -> str:
    dist, victim, offender = flags
    return (
        f"{md5(i).upper()};{sha1(i).upper()};{photodna(i)};IMG-{i:05d};{dist};{victim};{offender};"
        f"{series};{i + 1};y;Image;n"
    )


def write(path: Path, lines: list[str], encoding: str = "utf-8", bom: bool = False) -> Path:
    data = "\r\n".join(lines).encode(encoding) + b"\r\n"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


def test_icse_full_header_and_flags(tmp_path: Path) -> None:
    lines = [
        ICSE_HEADER,
        icse_row(0, ("y", "n", "N"), "benign series"),
        icse_row(1, ("Yes", "NO", "t"), ""),
        icse_row(2, ("TRUE", "f", "false"), ""),
        icse_row(3, ("", "", ""), ""),
    ]
    items = list(IcseReader().read(write(tmp_path / "icse.csv", lines, bom=True)))
    assert all(isinstance(item, HashRecord) for item in items)
    recs = [item for item in items if isinstance(item, HashRecord)]
    first = recs[0]
    assert (first.md5, first.sha1, first.photodna) == (md5(0), sha1(0), photodna(0))
    assert (first.distributed, first.victim_identified, first.offender_identified) == (True, False, False)
    assert first.series == "benign series"
    assert first.category_scheme == "icse"
    assert first.extra["Image ID"] == "IMG-00000"
    assert first.extra["Number of submissions"] == "1"
    assert first.extra["Media Type"] == "Image"
    assert first.extra["Baseline"] == "n"
    assert (recs[1].distributed, recs[1].victim_identified, recs[1].offender_identified) == (
        True,
        False,
        True,
    )
    assert (recs[2].distributed, recs[2].victim_identified, recs[2].offender_identified) == (
        True,
        False,
        False,
    )
    assert (recs[3].distributed, recs[3].victim_identified, recs[3].offender_identified) == (None, None, None)


def test_icse_missing_columns_tolerated(tmp_path: Path) -> None:
    lines = ["SHA1;Victim identified", f"{sha1(4)};y", f"{sha1(5)};n"]
    recs = list(IcseReader().read(write(tmp_path / "short.csv", lines)))
    assert [(r.sha1, r.victim_identified) for r in recs] == [(sha1(4), True), (sha1(5), False)]  # type: ignore[union-attr]


def test_icse_bad_rows_have_line_numbers(tmp_path: Path) -> None:
    lines = [
        ICSE_HEADER,
        icse_row(0),
        "abc123;;;IMG-x;y;n;n;;1;y;Image;n",
        icse_row(2, ("maybe", "n", "n")),
        f"{EMPTY_MD5};;;IMG-e;y;n;n;;1;y;Image;n",
        ";;;IMG-none;y;n;n;;1;y;Image;n",
        "",
        icse_row(7),
    ]
    items = list(IcseReader().read(write(tmp_path / "bad.csv", lines)))
    assert [i.md5 for i in items if isinstance(i, HashRecord)] == [md5(0), md5(7)]
    problems = {row.position: row.reason for row in items if isinstance(row, BadRow)}
    assert "MD5 is not 32" in problems["line 3"]
    assert "not y/n" in problems["line 4"]
    assert problems["line 5"] == EMPTY_FILE_REASON
    assert problems["line 6"] == "no hash in record"


def test_icse_header_without_hash_column(tmp_path: Path) -> None:
    items = list(IcseReader().read(write(tmp_path / "x.csv", ["Image ID;Series name", "1;a"])))
    assert items == [BadRow("line 1", "header has no MD5, SHA1 or PhotoDNA column")]


def test_icse_cp1252_series_name_and_utf16(tmp_path: Path) -> None:
    raw = (ICSE_HEADER + "\r\n").encode() + icse_row(1, series="S\xe9rie").encode("cp1252") + b"\r\n"
    path = tmp_path / "cp.csv"
    path.write_bytes(raw)
    assert next(iter(IcseReader().read(path))).series == "Série"  # type: ignore[union-attr]
    utf16 = tmp_path / "u16.csv"
    utf16.write_bytes(
        b"\xff\xfe" + ("\r\n".join([ICSE_HEADER, icse_row(2, series="Série")]) + "\r\n").encode("utf-16-le")
    )
    recs = list(IcseReader().read(utf16))
    assert [(r.md5, r.series) for r in recs] == [(md5(2), "Série")]  # type: ignore[union-attr]


def test_icse_oversized_field_is_a_bad_row_and_reading_goes_on(tmp_path: Path) -> None:
    lines = [ICSE_HEADER, icse_row(0), f'{md5(1)};;"{"x" * 200_000}";1;y;n;n;;1;y;Image;n', icse_row(2)]
    items = list(IcseReader().read(write(tmp_path / "big.csv", lines)))
    assert [i.md5 for i in items if isinstance(i, HashRecord)] == [md5(0), md5(2)]
    assert [i.position for i in items if isinstance(i, BadRow)] == ["line 3"]
