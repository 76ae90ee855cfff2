"""Writers for benign hash-list fixtures in each format's real layout.

Every digest is computed from made-up strings ("benign-<n>"); nothing here describes real content.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

EMPTY_MD5 = "d41d8cd98f00b204e9800998ecf8427e"
EMPTY_SHA1 = "da39a3ee5e6b4b0d3255bfef95601890afd80709"
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

CTX_20 = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/{variant}/$metadata#Media"
CTX_1X = "http://github.com/ICMEC/ProjectVic/DataModels/{version}.xml#{kind}"

ICSE_HEADER = (
    "MD5;SHA1;PhotoDNA;Image ID;Is distributed;Victim identified;Offender identified;Series name;"
    "Number of submissions;File Available;Media Type;Baseline"
)


def md5(i: int) -> str:
    return hashlib.md5(f"benign-{i}".encode()).hexdigest()


def sha1(i: int) -> str:
    return hashlib.sha1(f"benign-{i}".encode()).hexdigest()


def sha256(i: int) -> str:
    return hashlib.sha256(f"benign-{i}".encode()).hexdigest()


def pdq(i: int) -> str:
    return hashlib.sha256(f"benign-pdq-{i}".encode()).hexdigest()


def photodna(i: int) -> str:
    return codecs.encode(hashlib.sha512(f"benign-pdna-{i}".encode()).digest() * 2, "base64").decode().replace("\n", "")


def vics_media(i: int, **overrides: Any) -> dict[str, Any]:
    """A Media object as VICS writers emit it (string flags, MediaFiles, AlternativeHashes)."""
    media: dict[str, Any] = {
        "MediaID": i,
        "Category": 1 + i % 3,
        "MD5": md5(i).upper(),
        "SHA1": sha1(i).upper(),
        "MediaSize": 1000 + i,
        "DateUpdated": "2019-05-01T10:00:00+05:00Z",
        "VictimIdentified": "false",
        "OffenderIdentified": "false",
        "IsDistributed": "true",
        "IsPrecategorized": "false",
        "Series": f"benign-series-{i % 5}",
        "Tags": "made-up",
        "Comments": "benign test fixture",
        "RelativeFilePath": f"Media\\Images\\{i:06d}.jpg",
        "MimeType": "image/jpeg",
        "PhotoDNA": photodna(i),
        "MediaFiles": [
            {
                "MD5": md5(i),
                "FileName": f"{i:06d}.jpg",
                "FilePath": "C:\\Users\\someone\\Pictures",
                "Created": "/Date(1234567890000)/",
                "Deleted": "false",
                "Unallocated": "false",
            }
        ],
        "AlternativeHashes": [{"HashName": "PDQ", "HashValue": pdq(i)}],
        "Exifs": [],
    }
    media.update(overrides)
    return media


def vics_doc(
    media: list[dict[str, Any]],
    *,
    version: str = "2.0",
    variant: str = "US",
    shape: str = "hashset",
) -> dict[str, Any]:
    """Context key first, then ``value``: the order writers emit and streaming readers rely on."""
    if version.startswith("1."):
        doc: dict[str, Any] = {"odata.metadata": CTX_1X.format(version=version, kind="Media")}
    else:
        doc = {"@odata.context": CTX_20.format(variant=variant)}
    if shape == "case":
        doc["value"] = [
            {
                "CaseID": "00000000-0000-0000-0000-000000000001",
                "CaseNumber": "TEST-1",
                "Contact": {"ContactName": "Test Officer"},
                "SourceApplicationName": "Safehold tests",
                "SourceApplicationVersion": "0.1",
                "TotalMediaFiles": len(media),
                "Media": media,
            }
        ]
    else:
        doc["value"] = media
    return doc


def write_vics(
    path: Path, doc: dict[str, Any], *, encoding: str = "utf-8", bom: bool = False, indent: int | None = None
) -> Path:
    text = json.dumps(doc, indent=indent, ensure_ascii=False)
    data = text.encode(encoding)
    if bom:
        data = {"utf-8": codecs.BOM_UTF8, "utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE}[
            encoding
        ] + data
    path.write_bytes(data)
    return path


NSRL_V3_SCHEMA = """
CREATE TABLE FILE (
 sha256 VARCHAR NOT NULL, sha1 VARCHAR NOT NULL, md5 VARCHAR NOT NULL, crc32 VARCHAR NOT NULL,
 file_name VARCHAR NOT NULL, file_size INTEGER NOT NULL, package_id INTEGER NOT NULL,
 CONSTRAINT PK_FILE__FILE PRIMARY KEY (sha256, sha1, md5, crc32, file_name, file_size, package_id));
CREATE TABLE MFG (manufacturer_id INTEGER NOT NULL, name VARCHAR NOT NULL,
 CONSTRAINT PK_MFG__MFG_ID PRIMARY KEY (manufacturer_id));
CREATE TABLE OS (operating_system_id INTEGER NOT NULL, name VARCHAR NOT NULL, version VARCHAR NOT NULL,
 manufacturer_id INTEGER NOT NULL,
 CONSTRAINT PK_OS__OS_ID PRIMARY KEY (operating_system_id, manufacturer_id));
CREATE TABLE PKG (package_id INTEGER NOT NULL, name VARCHAR NOT NULL, version VARCHAR NOT NULL,
 operating_system_id INTEGER NOT NULL, manufacturer_id INTEGER NOT NULL, language VARCHAR NOT NULL,
 application_type VARCHAR NOT NULL,
 CONSTRAINT PK_PGK__PKG_ID PRIMARY KEY
  (package_id, operating_system_id, manufacturer_id, language, application_type));
CREATE TABLE VERSION (version VARCHAR UNIQUE NOT NULL, build_set VARCHAR NOT NULL,
 build_date TIMESTAMP NOT NULL, release_date TIMESTAMP NOT NULL, description VARCHAR NOT NULL);
CREATE VIEW DISTINCT_HASH AS SELECT DISTINCT sha256, sha1, md5, crc32 FROM FILE;
"""


def write_nsrl_v3(path: Path, count: int, *, extra_rows: tuple[tuple[Any, ...], ...] = (), packages: int = 3) -> Path:
    """An RDS v3 "modern minimal"-shaped database with upper-case hex, as NIST ships it."""
    con = sqlite3.connect(path)
    con.executescript(NSRL_V3_SCHEMA)
    con.execute("INSERT INTO MFG VALUES (1, 'Benign Software Co')")
    con.execute("INSERT INTO OS VALUES (10, 'TestOS', '1.0', 1)")
    con.executemany(
        "INSERT INTO PKG VALUES (?, ?, ?, 10, 1, 'English', 'Utility')",
        [(p, f"Benign Product {p}", f"{p}.0") for p in range(packages)],
    )
    con.execute("INSERT INTO VERSION VALUES ('2026.03.1', 'modern minimal', '2026-03-01', '2026-03-15', 'test set')")
    con.executemany(
        "INSERT INTO FILE VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            (
                sha256(i).upper(),
                sha1(i).upper(),
                md5(i).upper(),
                f"{i & 0xFFFFFFFF:08X}",
                f"file{i}.dll",
                100 + i,
                i % packages,
            )
            for i in range(count)
        ),
    )
    con.executemany("INSERT INTO FILE VALUES (?, ?, ?, ?, ?, ?, ?)", extra_rows)
    con.commit()
    con.close()
    return path


LEGACY_HEADER = b'"SHA-1","MD5","CRC32","FileName","FileSize","ProductCode","OpSystemCode","SpecialCode"\r\n'


def legacy_row(i: int, name: bytes | None = None) -> bytes:
    file_name = name if name is not None else f"file{i}.dll".encode()
    return (
        b'"'
        + sha1(i).upper().encode()
        + b'","'
        + md5(i).upper().encode()
        + b'","0000ABCD","'
        + file_name
        + b'",'
        + str(100 + i).encode()
        + b","
        + str(i % 7).encode()
        + b',"358",""\r\n'
    )
