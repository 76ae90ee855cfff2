"""Camera, lens, time and place from EXIF: what links photos to a device and a scene.

Read with Pillow's ``getexif()`` and its Exif (0x8769) and GPS (0x8825) sub-IFDs, which
parse only the header (exifread walks every tag and is several times slower). EXIF in
evidence is often damaged or forged, so every field is validated on its own: a zero
denominator, a wrong type, an out-of-range or oversized value gives ``None`` for that
field and never an exception.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from math import isfinite
from typing import Any, Final

from PIL import Image

from safehold.core.errors import ItemProblem
from safehold.extract._pillow import open_image

__all__ = ["Exif", "exif_from_image", "read_exif"]

_IFD_EXIF: Final = 0x8769
_IFD_GPS: Final = 0x8825
# IFD0
_MAKE, _MODEL, _ORIENTATION, _SOFTWARE = 0x010F, 0x0110, 0x0112, 0x0131
_XMP_TIFF, _DNG_CAMERA_SERIAL = 0x02BC, 0xC62F
# Exif IFD
_DATETIME_ORIGINAL, _OFFSET_TIME_ORIGINAL = 0x9003, 0x9011
_OWNER, _BODY_SERIAL, _LENS_MAKE, _LENS_MODEL, _LENS_SERIAL = 0xA430, 0xA431, 0xA433, 0xA434, 0xA435
_ADOBE_OWNER, _ADOBE_SERIAL = 0xFDE8, 0xFDE9  # written by Photoshop Camera Raw
# GPS IFD
_LAT_REF, _LAT, _LON_REF, _LON, _ALT_REF, _ALT = 1, 2, 3, 4, 5, 6

_MAX_TEXT: Final = 256
_MAX_XMP: Final = 1 << 20
_DATETIME_RE: Final = re.compile(r"(\d{4})[:-](\d{2})[:-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_OFFSET_RE: Final = re.compile(r"([+-])(\d{2}):(\d{2})")


@dataclass(frozen=True, slots=True)
class Exif:
    """The EXIF facts Safehold stores; ``None`` where absent or invalid.

    ``datetime_original`` is kept exactly as stored (it is evidence); ``datetime_original_iso``
    is the parsed form, with the UTC offset when OffsetTimeOriginal is present and valid.
    GPS values are signed decimal degrees (south and west negative) and metres.
    """

    make: str | None = None
    model: str | None = None
    body_serial: str | None = None
    lens_make: str | None = None
    lens_model: str | None = None
    lens_serial: str | None = None
    owner: str | None = None
    software: str | None = None
    orientation: int | None = None
    datetime_original: str | None = None
    datetime_original_iso: str | None = None
    gps_lat: float | None = None
    gps_lon: float | None = None
    gps_alt: float | None = None

    def as_dict(self) -> dict[str, str | int | float]:
        """Present fields only, for JSON storage and reports."""
        return {key: value for key, value in asdict(self).items() if value is not None}


def read_exif(source: bytes | Image.Image) -> Exif | None:
    """EXIF of an image file's bytes or an opened image; ``None`` if it has none usable."""
    if isinstance(source, Image.Image):
        return exif_from_image(source)
    try:
        img = open_image(source)
    except ItemProblem:
        return None
    with img:
        return exif_from_image(img)


def exif_from_image(img: Image.Image) -> Exif | None:
    """Read from the header of an opened image; pixels are not decoded."""
    ifd0 = _safe(img.getexif)
    if ifd0 is None:
        return None
    exif_ifd = _safe(lambda: ifd0.get_ifd(_IFD_EXIF)) or {}
    gps = _safe(lambda: ifd0.get_ifd(_IFD_GPS)) or {}
    xmp = _xmp_packet(img, ifd0)
    stored = _text(_get(exif_ifd, _DATETIME_ORIGINAL))
    facts = Exif(
        make=_text(_get(ifd0, _MAKE)),
        model=_text(_get(ifd0, _MODEL)),
        body_serial=(
            _text(_get(exif_ifd, _BODY_SERIAL))
            or _text(_get(ifd0, _DNG_CAMERA_SERIAL))
            or _text(_get(exif_ifd, _ADOBE_SERIAL))
            or _xmp_value(xmp, "exifEX:BodySerialNumber", "aux:SerialNumber")
        ),
        lens_make=_text(_get(exif_ifd, _LENS_MAKE)),
        lens_model=_text(_get(exif_ifd, _LENS_MODEL)),
        lens_serial=(
            _text(_get(exif_ifd, _LENS_SERIAL))
            or _xmp_value(xmp, "exifEX:LensSerialNumber", "aux:LensSerialNumber")
        ),
        owner=_text(_get(exif_ifd, _OWNER)) or _text(_get(exif_ifd, _ADOBE_OWNER)),
        software=_text(_get(ifd0, _SOFTWARE)),
        orientation=_orientation(_get(ifd0, _ORIENTATION)),
        datetime_original=stored,
        datetime_original_iso=_iso_datetime(stored, _text(_get(exif_ifd, _OFFSET_TIME_ORIGINAL))),
        gps_lat=_coordinate(_get(gps, _LAT), _get(gps, _LAT_REF), "N", "S", 90.0),
        gps_lon=_coordinate(_get(gps, _LON), _get(gps, _LON_REF), "E", "W", 180.0),
        gps_alt=_altitude(_get(gps, _ALT), _get(gps, _ALT_REF)),
    )
    return facts if facts != Exif() else None


def _safe(read: Callable[[], Any]) -> Any:
    try:
        return read()
    except Exception:  # Pillow's EXIF parser raises assorted types on damaged blocks
        return None


def _get(ifd: Mapping[int, Any], tag: int) -> Any:
    """One tag; Pillow decodes values lazily, so a damaged one can raise on access."""
    try:
        return ifd.get(tag)
    except Exception:
        return None


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if not isinstance(value, str):
        return None
    cleaned = value.replace("\x00", " ").strip()
    if not cleaned or len(cleaned) > _MAX_TEXT:
        return None
    return cleaned


def _real(value: object) -> float | None:
    """An EXIF RATIONAL/SRATIONAL/integer as float; None for x/0, NaN and nonsense."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif hasattr(value, "numerator") and hasattr(value, "denominator"):  # Pillow's IFDRational
        number = _ratio(getattr(value, "numerator", None), getattr(value, "denominator", None))
    elif isinstance(value, tuple) and len(value) == 2:  # (numerator, denominator) pairs
        number = _ratio(*value)
    else:
        return None
    return number if isfinite(number) and abs(number) < 1e9 else None


def _ratio(num: object, den: object) -> float:
    if isinstance(num, int | float) and isinstance(den, int | float) and den != 0:
        return num / den
    return float("nan")


def _ref(value: object) -> str | None:
    text = _text(value)
    return text[0].upper() if text else None


def _coordinate(value: object, ref: object, positive: str, negative: str, limit: float) -> float | None:
    if isinstance(value, int | float) or hasattr(value, "denominator"):
        value = (value,)
    if not isinstance(value, tuple | list) or not 1 <= len(value) <= 3:
        return None
    degrees = 0.0
    for position, part in enumerate(_real(v) for v in value):  # degrees, minutes, seconds
        if part is None or part < 0:
            return None
        degrees += part / 60.0**position
    hemisphere = _ref(ref)
    if degrees > limit or (ref is not None and hemisphere not in (positive, negative)):
        return None  # a reference that is present but unreadable: the sign is unknown
    return round(-degrees if hemisphere == negative else degrees, 7)


def _altitude(value: object, ref: object) -> float | None:
    metres = _real(value)
    if metres is None or abs(metres) > 100_000:
        return None
    if isinstance(ref, bytes):
        below = ref[:1] == b"\x01"
    elif isinstance(ref, int):
        below = ref == 1
    else:
        below = False
    return round(-abs(metres) if below else metres, 3)


def _orientation(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 8 else None


def _iso_datetime(stored: str | None, offset: str | None) -> str | None:
    match = _DATETIME_RE.fullmatch(stored) if stored else None
    if match is None:
        return None
    try:
        year, month, day, hour, minute, second = (int(g) for g in match.groups())
        moment = datetime(year, month, day, hour, minute, second)  # local camera time: naive
    except ValueError:  # 0000:00:00, month 13, …
        return None
    zone = _OFFSET_RE.fullmatch(offset) if offset else None
    if zone is not None:
        sign = -1 if zone[1] == "-" else 1
        delta = timedelta(hours=int(zone[2]), minutes=int(zone[3]))
        if delta <= timedelta(hours=14) and int(zone[3]) < 60:
            moment = moment.replace(tzinfo=timezone(sign * delta))
    return moment.isoformat()


def _xmp_packet(img: Image.Image, ifd0: Mapping[int, Any]) -> bytes:
    """The raw XMP packet if the container carries one (JPEG APP1, PNG iTXt, WebP, TIFF)."""
    for packet in (img.info.get("xmp"), img.info.get("XML:com.adobe.xmp"), _get(ifd0, _XMP_TIFF)):
        if isinstance(packet, str):
            packet = packet.encode("utf-8", errors="replace")
        if isinstance(packet, bytes) and packet:
            return packet[:_MAX_XMP]
    return b""


def _xmp_value(packet: bytes, *names: str) -> str | None:
    """First of ``names`` as an XMP attribute or simple element; no XML parser on hostile input."""
    for name in names:
        key = re.escape(name.encode())
        match = re.search(rb"\b" + key + rb'\s*=\s*"([^"<>]{1,256})"', packet) or re.search(
            rb"<" + key + rb">([^<>]{1,256})</" + key + rb">", packet
        )
        if match:
            return _text(match[1])
    return None
