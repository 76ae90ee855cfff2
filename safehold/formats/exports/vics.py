"""VICS 2.0 case writer, streamed: version key first, then ``value`` (streaming readers need it).

Hashes and metadata only; imagery never leaves the review screen. Videos carry their vPDQ
fingerprint as an ``AlternativeHashes`` entry named ``vPDQ`` (the reference's text lines), which
Safehold's VICS reader imports as a listed video. Categories are written only
where they were decided in the VICS US scheme: a number from another scheme means something
else, so it is left out rather than translated by guesswork.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TextIO

__all__ = ["VICS_CASE_CONTEXT", "VICS_US_SCHEME", "VicsMedia", "write_vics_case"]

VICS_CASE_CONTEXT = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata#Cases"
VICS_US_SCHEME = "vics-2.0-us"


@dataclass(slots=True)
class VicsMedia:
    md5: str
    sha1: str
    sha256: str
    size: int
    mime: str | None = None
    pdq: str | None = None
    pdq_quality: int | None = None
    category: int | None = None
    precategorized: bool = False
    series: str | None = None
    victim_identified: bool | None = None
    vpdq: str | None = None  # a video's fingerprint as reference hash-file lines
    files: list[dict[str, Any]] = field(default_factory=list)  # FileName, FilePath, Deleted, times


def _media(i: int, m: VicsMedia) -> dict[str, Any]:
    out: dict[str, Any] = {"MediaID": i}
    if m.category is not None:
        out["Category"] = m.category
    out.update({"MD5": m.md5.upper(), "SHA1": m.sha1.upper(), "MediaSize": m.size})
    if m.mime:
        out["MimeType"] = m.mime
    out["IsPrecategorized"] = "true" if m.precategorized else "false"
    if m.series:
        out["Series"] = m.series
    if m.victim_identified is not None:
        out["VictimIdentified"] = "true" if m.victim_identified else "false"
    alt = [{"HashName": "SHA256", "HashValue": m.sha256}]
    if m.pdq:
        pdq: dict[str, Any] = {"HashName": "PDQ", "HashValue": m.pdq}
        if m.pdq_quality is not None:
            pdq["Quality"] = m.pdq_quality
        alt.append(pdq)
    if m.vpdq:
        alt.append({"HashName": "vPDQ", "HashValue": m.vpdq})
    out["AlternativeHashes"] = alt
    out["MediaFiles"] = [{"MD5": m.md5.upper(), **f} for f in m.files]
    return out


def write_vics_case(
    out: TextIO,
    case_number: str,
    media: Iterable[VicsMedia],
    total_files: int,
    app_version: str,
    case_id: str | None = None,
) -> int:
    """Write one case; returns the number of Media records. Memory stays flat however many."""
    head = {
        "CaseID": case_id or str(uuid.uuid4()),
        "CaseNumber": case_number,
        "SourceApplicationName": "Safehold",
        "SourceApplicationVersion": app_version,
        "TotalMediaFiles": total_files,
    }
    out.write('{"@odata.context": ' + json.dumps(VICS_CASE_CONTEXT) + ', "value": [')
    out.write(json.dumps(head, ensure_ascii=False)[:-1] + ', "Media": [\n')
    n = 0
    for n, m in enumerate(media, start=1):
        if n > 1:
            out.write(",\n")
        out.write(json.dumps(_media(n, m), ensure_ascii=False))
    out.write("\n]}]}\n")
    return n
