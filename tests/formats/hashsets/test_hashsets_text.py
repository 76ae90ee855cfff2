"""Line formats: hashdeep, md5sum/sha1sum/sha256sum and bare hash lists, PDQ lists."""

from __future__ import annotations

from pathlib import Path

from safehold.formats.hashsets import BadRow, HashRecord
from safehold.formats.hashsets.base import EMPTY_FILE_REASON
from safehold.formats.hashsets.hashdeep import HashdeepReader
from safehold.formats.hashsets.pdq import PdqReader
from safehold.formats.hashsets.plain import PlainReader

from .hashset_fixtures import EMPTY_MD5, EMPTY_SHA256, md5, pdq, sha1, sha256


def write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8"))
    return path


def problems(items: list[HashRecord | BadRow]) -> dict[str, str]:
    return {row.position: row.reason for row in items if isinstance(row, BadRow)}


def recs(items: list[HashRecord | BadRow]) -> list[HashRecord]:
    return [item for item in items if isinstance(item, HashRecord)]


HASHDEEP = f"""%%%% HASHDEEP-1.0
%%%% size,md5,sha256,filename
## Invoked from: /home/tester
## $ hashdeep -r fixtures
##
1001,{md5(1)},{sha256(1)},/home/tester/fixtures/one.jpg
1002,{md5(2).upper()},{sha256(2)},/home/tester/fixtures/a, b, c.png
0,{EMPTY_MD5},{EMPTY_SHA256},/home/tester/fixtures/empty
12,nothex,{sha256(4)},/home/tester/x
not,enough
"""


def test_hashdeep_columns_from_header(tmp_path: Path) -> None:
    items = list(HashdeepReader().read(write(tmp_path / "audit.txt", HASHDEEP)))
    got = recs(items)
    assert [(r.size, r.md5, r.sha256, r.file_name) for r in got] == [
        (1001, md5(1), sha256(1), "one.jpg"),
        (1002, md5(2), sha256(2), "a, b, c.png"),
    ]
    assert got[0].extra == {"path": "/home/tester/fixtures/one.jpg"}
    bad = problems(items)
    assert bad["line 8"] == EMPTY_FILE_REASON
    assert "MD5" in bad["line 9"]
    assert "2 fields" in bad["line 10"]
    assert HashdeepReader().metadata(tmp_path / "audit.txt").version == "1.0"


def test_hashdeep_other_columns_and_new_header_block(tmp_path: Path) -> None:
    text = (
        f"%%%% HASHDEEP-1.0\n%%%% size,sha1,tiger,filename\n5,{sha1(5)},{'0' * 48},C:\\data\\five.bin\n"
        f"%%%% HASHDEEP-1.0\n%%%% md5,filename\n{md5(6)},six.bin\n"
    )
    got = recs(list(HashdeepReader().read(write(tmp_path / "h.txt", text))))
    assert [(r.sha1, r.md5, r.file_name) for r in got] == [
        (sha1(5), None, "five.bin"),
        (None, md5(6), "six.bin"),
    ]


def test_md5sum_family_and_bare_lists(tmp_path: Path) -> None:
    text = (
        "\n".join(
            [
                "# checksums of benign fixtures",
                f"{md5(1)}  photos/one.jpg",
                f"{sha1(2)} *two.bin",
                f"{sha256(3).upper()}  three.bin",
                f"\\{md5(4)}  dir\\\\back\\nslash.txt",
                f"SHA256 (four.bin) = {sha256(4)}",
                f"MD5 ({'five.bin'}) = {md5(5)}",
                md5(6),
                "",
                f"{EMPTY_MD5}  empty",
                "this is not a hash line",
                f"{md5(7)[:30]}  short.bin",
                f"{sha256(8)}",
            ]
        )
        + "\r\n"
    )
    items = list(PlainReader().read(write(tmp_path / "sums.md5", text)))
    got = recs(items)
    assert [(r.md5, r.sha1, r.sha256, r.file_name) for r in got] == [
        (md5(1), None, None, "one.jpg"),
        (None, sha1(2), None, "two.bin"),
        (None, None, sha256(3), "three.bin"),
        (md5(4), None, None, "back\nslash.txt"),  # "\\" unescaped, then read as a Windows separator
        (None, None, sha256(4), "four.bin"),
        (md5(5), None, None, "five.bin"),
        (md5(6), None, None, None),
        (None, None, sha256(8), None),  # 64 hex in a plain list is SHA-256, never PDQ
    ]
    assert got[0].extra == {"path": "photos/one.jpg"}
    assert got[3].extra == {"path": "dir\\back\nslash.txt"}
    bad = problems(items)
    assert bad == {
        "line 10": EMPTY_FILE_REASON,
        "line 11": "not a hash line: 'this is not a hash line'",
        "line 12": "30 hex digits is not MD5, SHA-1 or SHA-256",
    }


def test_pdq_lists_with_and_without_quality(tmp_path: Path) -> None:
    text = (
        "\n".join(
            [
                f"{pdq(1)},100",
                f"{pdq(2).upper()} 87",
                f"{pdq(3)}\t45\tsome photo.jpg",
                f"{pdq(4)}",
                f"{pdq(5)},140",
                f"{pdq(6)},high",
                "zz" * 32,
                "# comment",
                f"{pdq(7)[:60]},50",
            ]
        )
        + "\n"
    )
    items = list(PdqReader().read(write(tmp_path / "hashes.pdq", text)))
    got = recs(items)
    assert [(r.pdq, r.pdq_quality, r.file_name) for r in got] == [
        (pdq(1), 100, None),
        (pdq(2), 87, None),
        (pdq(3), 45, "some photo.jpg"),
        (pdq(4), None, None),
    ]
    assert all(r.md5 is None and r.sha256 is None for r in got)
    bad = problems(items)
    assert set(bad) == {"line 5", "line 6", "line 7", "line 9"}
    assert "quality out of 0..100" in bad["line 5"]
    assert "not a number" in bad["line 6"]


def test_pdq_header_line_tolerated(tmp_path: Path) -> None:
    text = f"hash,quality\n{pdq(1)},90\n{pdq(2)},70\n"
    got = list(PdqReader().read(write(tmp_path / "te.csv", text)))
    assert [(r.pdq, r.pdq_quality) for r in got] == [(pdq(1), 90), (pdq(2), 70)]  # type: ignore[union-attr]
    reordered = f"filename,quality,pdq_hash\na.jpg,90,{pdq(3)}\n"
    got = list(PdqReader().read(write(tmp_path / "te2.csv", reordered)))
    assert [(r.pdq, r.pdq_quality, r.file_name) for r in got] == [(pdq(3), 90, "a.jpg")]  # type: ignore[union-attr]
