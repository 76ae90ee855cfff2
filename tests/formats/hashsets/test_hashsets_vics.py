"""VICS JSON: both version keys, both shapes, encodings, flag/category/date variants, truncation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from safehold.formats.hashsets import BadRow, HashRecord
from safehold.formats.hashsets.base import EMPTY_FILE_REASON
from safehold.formats.hashsets.caid import CaidReader
from safehold.formats.hashsets.vics import VicsReader, parse_vics_date, scheme_from_context

from .hashset_fixtures import (
    EMPTY_MD5,
    md5,
    pdq,
    sha1,
    vics_doc,
    vics_media,
    write_vics,
)


def records(items: list[HashRecord | BadRow]) -> list[HashRecord]:
    return [item for item in items if isinstance(item, HashRecord)]


def bad(items: list[HashRecord | BadRow]) -> list[BadRow]:
    return [item for item in items if isinstance(item, BadRow)]


def test_vics_20_hash_set_fields(tmp_path: Path) -> None:
    path = write_vics(tmp_path / "set.json", vics_doc([vics_media(i) for i in range(3)], variant="US"))
    items = list(VicsReader().read(path))
    assert not bad(items)
    first = records(items)[0]
    assert first.md5 == md5(0) and first.sha1 == sha1(0)  # upper-case input, lower-case out
    assert first.pdq == pdq(0) and first.pdq_quality is None
    assert first.photodna and first.photodna.endswith("=")
    assert first.size == 1000
    assert first.category_scheme == "vics-2.0-us"
    assert first.category_code == "1"
    assert first.series == "benign-series-0"
    assert (first.victim_identified, first.offender_identified, first.distributed) == (False, False, True)
    assert first.file_name == "000000.jpg"
    assert first.extra["MediaID"] == "0"
    assert first.extra["Tags"] == "made-up"
    assert first.extra["RelativeFilePath"] == "Media\\Images\\000000.jpg"
    assert first.extra["MimeType"] == "image/jpeg"
    assert first.extra["DateUpdated"] == "2019-05-01T05:00:00+00:00"  # "+05:00Z" tolerated


@pytest.mark.parametrize(
    ("variant", "scheme"),
    [("Default", "vics-2.0-default"), ("UK", "vics-2.0-uk"), ("CUSTOM", "vics-2.0-custom")],
)
def test_vics_20_variant_names_the_scheme(tmp_path: Path, variant: str, scheme: str) -> None:
    path = write_vics(tmp_path / "set.json", vics_doc([vics_media(1)], variant=variant))
    assert records(list(VicsReader().read(path)))[0].category_scheme == scheme
    meta = VicsReader().metadata(path)
    assert (meta.format, meta.version, meta.category_scheme) == ("vics", "2.0", scheme)


@pytest.mark.parametrize("version", ["1.1", "1.2", "1.3"])
def test_vics_1x_odata_metadata_key(tmp_path: Path, version: str) -> None:
    path = write_vics(tmp_path / "old.json", vics_doc([vics_media(i) for i in range(2)], version=version))
    items = list(VicsReader().read(path))
    assert [r.md5 for r in records(items)] == [md5(0), md5(1)]
    assert {r.category_scheme for r in records(items)} == {"vics-1.x"}
    assert VicsReader().metadata(path).version == version


def test_vics_case_shape(tmp_path: Path) -> None:
    doc = vics_doc([vics_media(i) for i in range(4)], shape="case")
    second_case = dict(doc["value"][0], CaseNumber="TEST-2", Media=[vics_media(10)])
    doc["value"].append(second_case)
    path = write_vics(tmp_path / "case.json", doc, indent=2)
    items = list(VicsReader().read(path))
    assert not bad(items)
    assert [r.md5 for r in records(items)] == [md5(i) for i in (0, 1, 2, 3, 10)]
    meta = VicsReader().metadata(path)
    assert meta.extra["Case.CaseNumber"] == "TEST-1"
    assert meta.extra["Case.SourceApplicationName"] == "Safehold tests"
    assert "Case.MD5" not in VicsReader().metadata(write_vics(tmp_path / "s.json", vics_doc([vics_media(1)]))).extra


def test_vics_case_shape_with_media_before_case_fields(tmp_path: Path) -> None:
    doc = vics_doc([vics_media(i) for i in range(2)], shape="case")
    case = doc["value"][0]
    doc["value"][0] = {"Media": case.pop("Media"), **case}
    path = write_vics(tmp_path / "case.json", doc)
    assert len(records(list(VicsReader().read(path)))) == 2


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [("utf-8", True), ("utf-8", False), ("utf-16-le", True), ("utf-16-be", True), ("utf-16-le", False)],
)
def test_vics_encodings(tmp_path: Path, encoding: str, bom: bool) -> None:
    media = [vics_media(i, Series="Série ünïcode ✓", Comments="日本語") for i in range(5)]
    path = write_vics(tmp_path / "enc.json", vics_doc(media), encoding=encoding, bom=bom)
    got = records(list(VicsReader().read(path)))
    assert len(got) == 5
    assert got[0].series == "Série ünïcode ✓"
    assert got[0].extra["Comments"] == "日本語"


@pytest.mark.parametrize("chunk", [1, 7, 64, 4096])
def test_vics_tiny_read_chunks_give_the_same_records(tmp_path: Path, chunk: int) -> None:
    media = [vics_media(i, Comments="x" * (i * 37)) for i in range(6)]
    path = write_vics(tmp_path / "c.json", vics_doc(media), encoding="utf-16-le", bom=True, indent=1)
    assert list(VicsReader(chunk_bytes=chunk).read(path)) == list(VicsReader().read(path))


def test_vics_flag_and_value_variants(tmp_path: Path) -> None:
    media = [
        vics_media(0, VictimIdentified=True, OffenderIdentified=False, IsDistributed="True"),
        vics_media(1, Category=None, MediaSize="2048", VictimIdentified="FALSE"),
        {k: v for k, v in vics_media(2).items() if k not in ("Category", "VictimIdentified")},
        vics_media(3, Category="2", MediaSize=None, IsDistributed="unknown"),
    ]
    got = records(list(VicsReader().read(write_vics(tmp_path / "f.json", vics_doc(media)))))
    assert (got[0].victim_identified, got[0].offender_identified, got[0].distributed) == (True, False, True)
    assert got[1].category_code is None and got[1].size == 2048 and got[1].victim_identified is False
    assert got[2].category_code is None and got[2].victim_identified is None
    assert got[3].category_code == "2" and got[3].size is None and got[3].distributed is None


def test_vics_dates(tmp_path: Path) -> None:
    media = [
        vics_media(0, DateUpdated="/Date(1234567890000)/"),
        vics_media(1, DateUpdated="not a date"),
        vics_media(2, DateUpdated="2020-01-02T03:04:05.1234567Z"),
        vics_media(3, DateUpdated=None),
    ]
    got = records(list(VicsReader().read(write_vics(tmp_path / "d.json", vics_doc(media)))))
    assert got[0].extra["DateUpdated"] == "2009-02-13T23:31:30+00:00"
    assert "DateUpdated" not in got[1].extra
    assert got[2].extra["DateUpdated"].startswith("2020-01-02T03:04:05.123456")
    assert "DateUpdated" not in got[3].extra
    assert parse_vics_date("/Date(1234567890000+0500)/") == "2009-02-13T23:31:30+00:00"


def test_vics_pdq_quality_and_hash_name_case(tmp_path: Path) -> None:
    media = [
        vics_media(0, AlternativeHashes=[{"HashName": "pdq", "HashValue": pdq(0).upper(), "Quality": 87}]),
        vics_media(1, AlternativeHashes=[{"HashName": "PDQ", "HashValue": f"{pdq(1)},64"}]),
        vics_media(2, AlternativeHashes=[{"HashName": "SHA-256", "HashValue": "AB" * 32}]),
        vics_media(3, AlternativeHashes=None),
    ]
    got = records(list(VicsReader().read(write_vics(tmp_path / "p.json", vics_doc(media)))))
    assert (got[0].pdq, got[0].pdq_quality) == (pdq(0), 87)
    assert (got[1].pdq, got[1].pdq_quality) == (pdq(1), 64)
    assert got[2].pdq is None and got[2].sha256 == "ab" * 32
    assert got[3].pdq is None


def test_vics_key_case_is_tolerated(tmp_path: Path) -> None:
    media = {"md5": md5(5), "Sha1": sha1(5), "mediaSize": 5, "category": 0, "series": "s"}
    got = records(list(VicsReader().read(write_vics(tmp_path / "k.json", vics_doc([media])))))
    assert (got[0].md5, got[0].sha1, got[0].size, got[0].category_code, got[0].series) == (
        md5(5),
        sha1(5),
        5,
        "0",
        "s",
    )


def test_vics_bad_records_are_reported_and_reading_goes_on(tmp_path: Path) -> None:
    media: list[Any] = [
        vics_media(0),
        vics_media(1, MD5="1234", SHA1=None),
        vics_media(2, MD5=EMPTY_MD5.upper(), SHA1=None, PhotoDNA=None, AlternativeHashes=[]),
        {"MediaID": 3},
        "not an object",
        vics_media(5, MediaSize="big"),
        vics_media(6),
    ]
    items = list(VicsReader().read(write_vics(tmp_path / "b.json", vics_doc(media))))
    assert [r.md5 for r in records(items)] == [md5(0), md5(6)]
    problems = {row.position: row.reason for row in bad(items)}
    assert "MD5 is not 32" in problems["record 2"]
    assert problems["record 3"] == EMPTY_FILE_REASON
    assert problems["record 4"] == "no hash in record"
    assert "not an object" in problems["record 5"]
    assert "MediaSize" in problems["record 6"]


def _record_ends(doc: dict[str, Any]) -> tuple[str, list[int]]:
    """Compact JSON text and the offset just past each Media object."""
    text = json.dumps(doc)
    ends, start = [], 0
    for media in doc["value"]:
        piece = json.dumps(media)
        start = text.index(piece, start) + len(piece)
        ends.append(start)
    return text, ends


def test_vics_truncated_at_every_point_yields_complete_records_then_a_bad_row(tmp_path: Path) -> None:
    doc = vics_doc([vics_media(i, Comments="x" * i) for i in range(4)])
    text, ends = _record_ends(doc)
    path = tmp_path / "cut.json"
    for cut in range(0, len(text) - 1, 23):
        path.write_text(text[:cut], encoding="utf-8")
        items = list(VicsReader(chunk_bytes=101).read(path))
        complete = sum(end <= cut for end in ends)
        assert len(records(items)) == complete, cut
        assert isinstance(items[-1], BadRow), cut
        assert "ends early" in items[-1].reason
        assert items[-1].position == f"record {complete + 1}"


def test_vics_malformed_middle_stops_with_position(tmp_path: Path) -> None:
    text = json.dumps(vics_doc([vics_media(i) for i in range(4)]))
    broken = text.replace(f'"SHA1": "{sha1(2).upper()}"', f'"SHA1" "{sha1(2).upper()}"')
    path = tmp_path / "m.json"
    path.write_text(broken, encoding="utf-8")
    items = list(VicsReader().read(path))
    assert [r.md5 for r in records(items)] == [md5(0), md5(1)]
    assert items[-1].position == "record 3"  # type: ignore[union-attr]
    assert "malformed JSON" in items[-1].reason  # type: ignore[union-attr]


def test_vics_trailing_comma_and_whitespace_tolerated(tmp_path: Path) -> None:
    text = json.dumps(vics_doc([vics_media(0), vics_media(1)]))
    path = tmp_path / "t.json"
    path.write_text(text[:-2] + " ,\n ] \n}\n\n", encoding="utf-8")
    items = list(VicsReader().read(path))
    assert len(records(items)) == 2 and not bad(items)


def test_scheme_from_context() -> None:
    assert scheme_from_context("http://x/DataModels/2.0.xml/US/$metadata#Media") == ("2.0", "vics-2.0-us")
    assert scheme_from_context("http://x/DataModels/1.2.xml#Media") == ("1.2", "vics-1.x")
    assert scheme_from_context("urn:unknown") == (None, "vics")


def test_caid_reuses_vics_with_uk_categories(tmp_path: Path) -> None:
    media = [vics_media(0, Category="A"), vics_media(1, Category=2), vics_media(2, Category="C")]
    path = write_vics(tmp_path / "caid_gold.json", vics_doc(media, version="1.2"))
    got = records(list(CaidReader().read(path)))
    assert [(r.category_scheme, r.category_code) for r in got] == [
        ("caid", "A"),
        ("caid", "2"),
        ("caid", "C"),
    ]
    meta = CaidReader().metadata(path)
    assert (meta.format, meta.version, meta.category_scheme) == ("caid", "1.2", "caid")


def test_vics_corrupted_bytes_never_raise(tmp_path: Path) -> None:
    import random

    rng = random.Random(1234)
    clean = json.dumps(vics_doc([vics_media(i) for i in range(5)])).encode()
    path = tmp_path / "fuzz.json"
    for _ in range(300):
        data = bytearray(clean)
        for _ in range(rng.randint(1, 6)):
            data[rng.randrange(len(data))] = rng.choice(b'{}[]",:0x\\\x00\xff ')
        path.write_bytes(bytes(data))
        items = list(VicsReader(chunk_bytes=97).read(path))
        assert all(isinstance(item, HashRecord | BadRow) for item in items)


def test_vics_deep_nesting_and_huge_numbers_are_bad_rows(tmp_path: Path) -> None:
    head = json.dumps(vics_doc([vics_media(0)]))[:-2]
    path = tmp_path / "deep.json"
    path.write_text(head + ", " + "[" * 100_000 + "]" * 100_000 + "]}", encoding="utf-8")
    items = list(VicsReader().read(path))
    assert len(records(items)) == 1 and "nested too deeply" in items[-1].reason  # type: ignore[union-attr]
    path.write_text(head + ', {"MD5": "' + md5(1) + '", "MediaSize": ' + "9" * 5000 + "}]}", encoding="utf-8")
    items = list(VicsReader().read(path))
    assert len(records(items)) == 1 and isinstance(items[-1], BadRow)
