"""Project VIC / VICS JSON hash sets and case exports (1.1-1.3 and 2.0), streamed record by record.

Both shapes are read: a hash set (``value`` = [Media]) and a case (``value`` = [{..., Media: [...]}]).
A video's vPDQ fingerprint travels as an ``AlternativeHashes`` entry ``{"HashName": "vPDQ",
"HashValue": "<frame,quality,hash,timestamp lines>"}`` (lines split by newlines or ``;``), which
is what Safehold's export writes; the VICS model names no field of its own for frame hashes.
Categories are kept as raw text under a scheme taken from the odata context, because the same
number means different things in VICS 1.x, 2.0/US, 2.0/UK and CAID.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

from safehold.formats.hashsets._jsonstream import CHUNK_BYTES, JsonBroken, JsonStream
from safehold.formats.hashsets.base import BadRow, HashRecord, ParsedItem, SetMetadata, head_text, parse_flag
from safehold.hashing.vpdq import pack_frames, parse_vpdq_text

__all__ = ["VicsReader", "media_to_item", "parse_vics_date", "scheme_from_context"]

CONTEXT_KEYS = ("@odata.context", "odata.metadata")
_VERSION_RE = re.compile(r"DataModels/(\d+(?:\.\d+)*)\.xml(?:/([A-Za-z]+)/)?", re.IGNORECASE)
_NET_DATE_RE = re.compile(r"/Date\((-?\d+)(?:([+-])(\d{2})(\d{2}))?\)/")
_EXTRA_KEYS = (
    "MediaID",
    "Tags",
    "Comments",
    "MimeType",
    "RelativeFilePath",
    "IsPrecategorized",
    "IsSuspected",
)
_RECORD_KEYS = (
    "Category",
    "MD5",
    "SHA1",
    "SHA256",
    "MediaSize",
    "DateUpdated",
    "VictimIdentified",
    "OffenderIdentified",
    "IsDistributed",
    "Series",
    "PhotoDNA",
    "MediaFiles",
    "AlternativeHashes",
    "Exifs",
)
_MEDIA_KEYS = frozenset(_EXTRA_KEYS + _RECORD_KEYS)
_BY_LOWER = {key.lower(): key for key in _MEDIA_KEYS}
_MAX_EXTRA_CHARS = 2000
_PDQ_SPLIT = re.compile(r"[\s,;]+")
_ALT_KEYS = frozenset(("HashName", "HashValue"))


def scheme_from_context(context: str) -> tuple[str | None, str]:
    """(version, category scheme) from an odata URL: 2.0 carries its variant (US, UK...) in the path."""
    match = _VERSION_RE.search(context)
    if not match:
        return None, "vics"
    version, variant = match.group(1), match.group(2)
    if version.startswith("1."):
        return version, "vics-1.x"
    if variant:
        return version, f"vics-{version}-{variant.lower()}"
    return version, f"vics-{version}"


def parse_vics_date(value: object) -> str | None:
    """ISO-8601 text for a VICS date; tolerates ``...+05:00Z`` and .NET ``/Date(ms)/``; None if unparsable."""
    if not isinstance(value, str) or not value.strip():
        return None
    return _parse_date_text(value.strip())


@lru_cache(maxsize=4096)  # sets are often stamped with a handful of DateUpdated values
def _parse_date_text(text: str) -> str | None:
    net = _NET_DATE_RE.fullmatch(text)
    try:
        if net:
            when = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=int(net.group(1)))
            return when.isoformat()
        if text.endswith("Z") and re.search(r"[+-]\d{2}:?\d{2}Z$", text):
            text = text[:-1]  # "…+05:00Z": the offset already says the zone
        parsed = datetime.fromisoformat(text)
    except (ValueError, OverflowError):
        return None
    return parsed.astimezone(UTC).isoformat() if parsed.tzinfo else parsed.isoformat()


def _hex(value: object) -> str | None:
    if value is None:
        return None
    text = (value if type(value) is str else str(value)).strip().lower()
    return text or None


def _text(value: object) -> str | None:
    if type(value) is str:
        text = value.strip()
    elif value is None or isinstance(value, dict):
        return None
    elif isinstance(value, list):
        text = "; ".join(str(v).strip() for v in value if v is not None and str(v).strip())
    elif isinstance(value, float) and value.is_integer():
        text = str(int(value))
    else:
        text = str(value).strip()
    return text[:_MAX_EXTRA_CHARS] or None


def _size(value: object) -> int | None:
    if type(value) is int:
        return value
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    if not text:
        return None
    try:
        return int(float(text)) if "." in text else int(text)
    except ValueError:
        raise ValueError(f"MediaSize is not a number: {text[:40]!r}") from None


def _alt_value(value: object, whole: bool = False) -> str | None:
    """A HashValue as text; a vPDQ fingerprint (one line a frame) is kept whole, not clipped."""
    if whole and isinstance(value, str):
        return value.strip() or None
    return _text(value)


def _vpdq(alt: Mapping[str, str]) -> bytes | None:
    """``AlternativeHashes`` entry ``vPDQ``: the reference hash-file lines (newline or ``;`` separated)."""
    text = alt.get("vpdq")
    if not text:
        return None
    return pack_frames(parse_vpdq_text(text))


def _alternative_hashes(entries: object) -> dict[str, str]:
    found: dict[str, str] = {}
    if not isinstance(entries, list):
        return found
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        if _ALT_KEYS.issuperset(entry):  # the usual spelling: skip building a lower-cased copy
            name = str(entry.get("HashName") or "").strip().lower()
            value = _alt_value(entry.get("HashValue"), name.replace("-", "") == "vpdq")
            if name and value:
                found.setdefault(name.replace("-", ""), value)
            continue
        lowered = {str(k).lower(): v for k, v in entry.items()}
        name = str(lowered.get("hashname") or "").strip().lower().replace("-", "")
        value = _alt_value(lowered.get("hashvalue"), name == "vpdq")
        if name and value and name not in found:
            found[name] = value
            quality = lowered.get("quality", lowered.get("hashquality"))
            if quality is not None:
                found[name + ":quality"] = str(quality).strip()
    return found


def _pdq(alt: Mapping[str, str]) -> tuple[str | None, int | None]:
    value = alt.get("pdq")
    if value is None:
        return None, None
    quality_text = alt.get("pdq:quality")
    if len(value) != 64:  # "hash,quality" or "hash quality" in one HashValue
        parts = _PDQ_SPLIT.split(value, maxsplit=1)
        value = parts[0]
        quality_text = quality_text or (parts[1] if len(parts) > 1 else None)
    try:
        quality = int(quality_text) if quality_text else None
    except ValueError:
        raise ValueError(f"PDQ quality is not a number: {quality_text!r}") from None
    return value.lower(), quality


def _file_name(media: Mapping[str, Any]) -> str | None:
    files = media.get("MediaFiles")
    if isinstance(files, list):
        for entry in files:
            if isinstance(entry, dict):
                name = _text(entry.get("FileName", entry.get("fileName")))
                if name:
                    return name
    path = _text(media.get("RelativeFilePath"))
    if path is None:
        return None
    return re.split(r"[\\/]", path)[-1] or None


def _canonical(obj: dict[Any, Any]) -> dict[Any, Any]:
    """Media with the model's key spelling; writers differ in case (``Md5``, ``mediaSize``)."""
    if _MEDIA_KEYS.issuperset(obj):
        return obj
    return {_BY_LOWER.get(str(key).lower(), key): value for key, value in obj.items()}


def media_to_item(obj: object, position: str, scheme: str) -> ParsedItem:
    """One Media object as a record, or a BadRow saying what is wrong with it."""
    if not isinstance(obj, dict):
        return BadRow(position, f"Media is not an object: {type(obj).__name__}")
    media = _canonical(obj)
    extra: dict[str, str] = {}
    for key in _EXTRA_KEYS:
        value = media.get(key)
        if value is not None:
            text = value.strip()[:_MAX_EXTRA_CHARS] if type(value) is str else _text(value)
            if text:
                extra[key] = text
    updated = parse_vics_date(media.get("DateUpdated"))
    if updated:
        extra["DateUpdated"] = updated
    try:
        alt = _alternative_hashes(media.get("AlternativeHashes"))
        pdq, pdq_quality = _pdq(alt) if alt else (None, None)
        return HashRecord(
            md5=_hex(media.get("MD5")),
            sha1=_hex(media.get("SHA1")),
            sha256=_hex(media.get("SHA256") or alt.get("sha256")),
            pdq=pdq,
            pdq_quality=pdq_quality,
            vpdq=_vpdq(alt) if alt else None,
            photodna=_text(media.get("PhotoDNA") or alt.get("photodna")),
            size=_size(media.get("MediaSize")),
            category_scheme=scheme,
            category_code=_text(media.get("Category")),
            series=_text(media.get("Series")),
            victim_identified=parse_flag(media.get("VictimIdentified")),
            offender_identified=parse_flag(media.get("OffenderIdentified")),
            distributed=parse_flag(media.get("IsDistributed")),
            file_name=_file_name(media),
            extra=extra,
        )
    except ValueError as err:
        return BadRow(position, str(err))


class _Walk:
    """State of one pass over a file: the scheme seen so far and the record count for positions."""

    def __init__(self, stream: JsonStream, scheme: str | None) -> None:
        self.stream = stream
        self.fixed_scheme = scheme
        self.scheme = scheme or "vics"
        self.version: str | None = None
        self.top: dict[str, str] = {}
        self.count = 0
        self.media_shape = False  # set once the first element of ``value`` is a bare Media

    def _item(self, obj: object) -> Iterator[ParsedItem]:
        if isinstance(obj, dict) and isinstance(obj.get("Media"), list):  # a case decoded whole
            for media in obj["Media"]:
                yield from self._item(media)
            return
        self.count += 1
        yield media_to_item(obj, f"record {self.count}", self.scheme)

    def _element(self) -> Iterator[ParsedItem]:
        stream = self.stream
        if self.media_shape or stream.peek() != "{":
            yield from self._item(stream.value())
            return
        stream.take("{")
        fields: dict[str, Any] = {}
        is_case = False
        while stream.next_member("}"):
            key = stream.key()
            if key.lower() == "media" and stream.peek() == "[":
                is_case = True
                stream.take("[")
                while stream.next_member("]"):
                    yield from self._item(stream.value())
            else:
                fields[key] = stream.value()
        if not is_case:
            self.media_shape = True
            yield from self._item(fields)

    def _case_header(self) -> None:
        """Scalar fields of a first case (CaseNumber, SourceApplicationName...) into ``top``."""
        stream = self.stream
        if not stream.next_member("]") or stream.peek() != "{":
            return
        stream.take("{")
        fields: dict[str, str] = {}
        while stream.next_member("}"):
            key = stream.key()
            if key.lower() == "media":
                self.top.update(fields)
                return
            value = stream.value()
            if isinstance(value, str | int | float) and not isinstance(value, bool):
                fields[f"Case.{key}"] = str(value)

    def run(self, stop_at_value: bool = False) -> Iterator[ParsedItem]:
        stream = self.stream
        try:
            stream.take("{")
            while stream.next_member("}"):
                key = stream.key()
                if key.lower() == "value" and stream.peek() == "[":
                    stream.take("[")
                    if stop_at_value:
                        self._case_header()
                        return
                    while stream.next_member("]"):
                        yield from self._element()
                    continue
                value = stream.value()
                if key in CONTEXT_KEYS and isinstance(value, str):
                    self.top[key] = value
                    self.version, scheme = scheme_from_context(value)
                    self.scheme = self.fixed_scheme or scheme
                elif isinstance(value, str | int | float) and not isinstance(value, bool):
                    self.top[key] = str(value)
        except JsonBroken as err:
            yield BadRow(f"record {self.count + 1}", str(err))


class VicsReader:
    """VICS JSON; ``category_scheme`` names the data model version and variant (``vics-2.0-us``)."""

    name: ClassVar[str] = "vics"
    scheme: ClassVar[str | None] = None  # None: from the file's odata context

    def __init__(self, chunk_bytes: int = CHUNK_BYTES) -> None:
        self.chunk_bytes = chunk_bytes

    def sniff(self, head: bytes, path: Path) -> bool:
        text = head_text(head[:8192]).lstrip("\ufeff \t\r\n")
        if not text.startswith("{"):
            return False
        return any(key in text[:2048] for key in CONTEXT_KEYS) or ('"value"' in text and '"MD5"' in text)

    def read(self, path: Path) -> Iterator[ParsedItem]:
        with path.open("rb") as raw:
            yield from _Walk(JsonStream(raw, self.chunk_bytes), self.scheme).run()

    def metadata(self, path: Path) -> SetMetadata:
        with path.open("rb") as raw:
            walk = _Walk(JsonStream(raw, chunk_bytes=64 << 10), self.scheme)
            for _ in walk.run(stop_at_value=True):
                pass
        return SetMetadata(format=self.name, version=walk.version, category_scheme=walk.scheme, extra=walk.top)
