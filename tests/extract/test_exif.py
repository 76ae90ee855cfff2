from __future__ import annotations

import io
import random
import struct
from collections.abc import Sequence
from datetime import datetime

import pytest
from PIL import Image
from PIL.TiffImagePlugin import IFDRational

from safehold.extract.exif import Exif, read_exif
from safehold.testing.images import encode, make_exif, synthetic_photo, with_exif

PHOTO = synthetic_photo(40, (160, 120))

# (tag, TIFF type, count, payload) for hand-built EXIF blocks: Pillow refuses to *write*
# the wrong types that hostile or broken files carry, so those are assembled here.
Entry = tuple[int, int, int, bytes]
ASCII, SHORT, LONG, RATIONAL, SRATIONAL = 2, 3, 4, 5, 10


def _ascii(tag: int, text: str) -> Entry:
    raw = text.encode() + b"\x00"
    return (tag, ASCII, len(raw), raw)


def _exif_block(ifd0: Sequence[Entry], exif: Sequence[Entry] = (), gps: Sequence[Entry] = (),
                exif_pointer: int | None = None) -> bytes:
    """A little-endian TIFF EXIF block: IFD0, optional Exif and GPS IFDs, then the data area."""
    def size(entries: Sequence[Entry]) -> int:
        return 2 + 12 * len(entries) + 4 if entries else 0

    ifd0 = list(ifd0)
    n0 = len(ifd0) + bool(exif or exif_pointer is not None) + bool(gps)
    offset_exif = 8 + 2 + 12 * n0 + 4
    offset_gps = offset_exif + size(exif)
    data_at = offset_gps + size(gps)
    if exif or exif_pointer is not None:
        ifd0.append((0x8769, LONG, 1, struct.pack("<I", offset_exif if exif_pointer is None else exif_pointer)))
    if gps:
        ifd0.append((0x8825, LONG, 1, struct.pack("<I", offset_gps)))
    data = bytearray()

    def table(entries: Sequence[Entry]) -> bytes:
        out = bytearray(struct.pack("<H", len(entries)))
        for tag, kind, count, payload in sorted(entries):
            if len(payload) <= 4:
                field = payload.ljust(4, b"\x00")
            else:
                field = struct.pack("<I", data_at + len(data))
                data.extend(payload + b"\x00" * (len(payload) % 2))
            out += struct.pack("<HHI", tag, kind, count) + field
        return bytes(out + b"\x00\x00\x00\x00")

    body = table(ifd0) + (table(exif) if exif else b"") + (table(gps) if gps else b"")
    return b"Exif\x00\x00II*\x00" + struct.pack("<I", 8) + body + bytes(data)


def _jpeg_with(exif: Image.Exif | bytes) -> bytes:
    return encode(PHOTO, "JPEG", exif=exif)


def test_round_trip_all_fields() -> None:
    data = with_exif(
        PHOTO,
        make="Canon",
        model="Canon EOS 5D Mark IV",
        serial="032024001234",
        lens_make="Canon",
        lens_model="EF24-70mm f/2.8L II USM",
        lens_serial="0000c12345",
        owner="J. Doe",
        software="Firmware Version 1.2.3",
        orientation=8,
        datetime_original=datetime(2023, 5, 1, 12, 34, 56),
        offset="+05:30",
        gps=(-33.856784, -151.215297, -12.5),
    )
    exif = read_exif(data)
    assert exif == Exif(
        make="Canon",
        model="Canon EOS 5D Mark IV",
        body_serial="032024001234",
        lens_make="Canon",
        lens_model="EF24-70mm f/2.8L II USM",
        lens_serial="0000c12345",
        owner="J. Doe",
        software="Firmware Version 1.2.3",
        orientation=8,
        datetime_original="2023:05:01 12:34:56",
        datetime_original_iso="2023-05-01T12:34:56+05:30",
        gps_lat=-33.856784,
        gps_lon=-151.215297,
        gps_alt=-12.5,
    )


def test_gps_signs_north_east_positive() -> None:
    exif = read_exif(with_exif(PHOTO, gps=(51.5007, 0.1246, 35.0)))
    assert exif is not None
    assert (exif.gps_lat, exif.gps_lon, exif.gps_alt) == (51.5007, 0.1246, 35.0)
    exif = read_exif(with_exif(PHOTO, gps=(40.0, -74.0)))
    assert exif is not None and (exif.gps_lat, exif.gps_lon, exif.gps_alt) == (40.0, -74.0, None)


def test_as_dict_omits_missing() -> None:
    exif = read_exif(with_exif(PHOTO, make="Apple", model="iPhone 15", datetime_original="2024:01:02 03:04:05"))
    assert exif is not None
    assert exif.as_dict() == {
        "make": "Apple",
        "model": "iPhone 15",
        "datetime_original": "2024:01:02 03:04:05",
        "datetime_original_iso": "2024-01-02T03:04:05",
    }


def test_accepts_opened_image_and_none_without_exif() -> None:
    data = with_exif(PHOTO, make="Sony")
    with Image.open(io.BytesIO(data)) as img:
        exif = read_exif(img)
    assert exif is not None and exif.make == "Sony"
    assert read_exif(encode(PHOTO, "JPEG")) is None
    assert read_exif(b"not an image at all") is None
    assert read_exif(b"") is None


def test_serial_fallbacks() -> None:
    exif = make_exif(make="Adobe-processed")
    exif.get_ifd(0x8769)[0xFDE9] = "ADOBE-SN-7"
    found = read_exif(_jpeg_with(exif))
    assert found is not None and found.body_serial == "ADOBE-SN-7"

    dng = make_exif(make="Leica")
    dng[0xC62F] = "DNG-SN-1"
    found = read_exif(_jpeg_with(dng))
    assert found is not None and found.body_serial == "DNG-SN-1"

    xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description '
        b'aux:SerialNumber="XMP-SN-9"><aux:LensSerialNumber>LENS-5</aux:LensSerialNumber>'
        b"</rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    found = read_exif(encode(PHOTO, "JPEG", xmp=xmp))
    assert found is not None and (found.body_serial, found.lens_serial) == ("XMP-SN-9", "LENS-5")


@pytest.mark.parametrize(
    ("stored", "offset", "iso"),
    [
        ("2023:05:01 12:34:56", "-03:00", "2023-05-01T12:34:56-03:00"),
        ("2023:05:01 12:34:56", "garbage", "2023-05-01T12:34:56"),
        ("2023:05:01 12:34:56", "+99:00", "2023-05-01T12:34:56"),
        ("0000:00:00 00:00:00", None, None),
        ("2023:13:45 25:61:61", None, None),
        ("    :  :     :  :  ", None, None),
        ("yesterday", None, None),
    ],
)
def test_datetime_parsing_keeps_stored_text(stored: str, offset: str | None, iso: str | None) -> None:
    exif = read_exif(with_exif(PHOTO, make="X", datetime_original=stored, offset=offset))
    assert exif is not None
    assert exif.datetime_original == (stored.strip() or None)
    assert exif.datetime_original_iso == iso


def _gps_exif(**entries: object) -> Image.Exif:
    exif = make_exif(make="Garbage Inc")
    gps = exif.get_ifd(0x8825)
    for key, value in entries.items():
        gps[int(key[1:])] = value
    return exif


@pytest.mark.parametrize(
    "entries",
    [
        {"t1": "N", "t2": (IFDRational(1, 0), IFDRational(2, 1), IFDRational(3, 1)), "t6": IFDRational(5, 0)},
        {"t1": "N", "t2": (IFDRational(95, 1), IFDRational(0, 1), IFDRational(0, 1))},
        {"t1": "Q", "t2": (IFDRational(10, 1), IFDRational(0, 1), IFDRational(0, 1))},
        {"t1": "N", "t2": (IFDRational(10, 1),) * 4},
        {"t6": IFDRational(10**10, 1)},
    ],
)
def test_bad_gps_values_become_none(entries: dict[str, object]) -> None:
    exif = read_exif(_jpeg_with(_gps_exif(**entries)))
    assert exif is not None and exif.make == "Garbage Inc"
    assert (exif.gps_lat, exif.gps_lon, exif.gps_alt) == (None, None, None)


@pytest.mark.parametrize(
    "gps",
    [
        [_ascii(1, "N"), _ascii(2, "fifty-one degrees"), _ascii(6, "high")],
        [_ascii(1, "N"), (2, SRATIONAL, 3, struct.pack("<6i", -10, 1, 0, 1, 0, 1))],
        [_ascii(1, "N"), (2, RATIONAL, 3, struct.pack("<6I", 0, 0, 0, 0, 0, 0))],
        [_ascii(1, "N"), (2, SHORT, 1, struct.pack("<H", 45))],  # bare number: accepted below
        [(1, SHORT, 1, struct.pack("<H", 78)), (2, RATIONAL, 3, struct.pack("<6I", 10, 1, 0, 1, 0, 1))],
        [(5, SHORT, 1, struct.pack("<H", 1)), (6, ASCII, 4, b"abc\x00")],
    ],
)
def test_wrong_gps_types(gps: list[Entry]) -> None:
    exif = read_exif(_jpeg_with(_exif_block([_ascii(0x010F, "Garbage Inc")], gps=gps)))
    assert exif is not None and exif.make == "Garbage Inc"
    bare_degrees = gps[1][1] == SHORT
    assert exif.gps_lat == (45.0 if bare_degrees else None)
    assert (exif.gps_lon, exif.gps_alt) == (None, None)


def test_wrong_types_and_huge_strings() -> None:
    block = _exif_block(
        [
            _ascii(0x010F, "A" * 10_000),  # make: absurdly long
            (0x0110, SHORT, 1, struct.pack("<H", 5)),  # model: a number
            (0x0112, SHORT, 1, struct.pack("<H", 99)),  # orientation out of range
            (0x0131, ASCII, 6, b"\x00\x00  \x00\x00"),  # software: only padding
        ],
        exif=[_ascii(0xA431, "  SN 1\x00"), (0x9003, LONG, 1, struct.pack("<I", 7))],
    )
    assert read_exif(_jpeg_with(block)) == Exif(body_serial="SN 1")


def _noise(seed: int, n: int) -> bytes:
    """Seeded, so that a failure here can be reproduced (os.urandom made each run different)."""
    return random.Random(seed).randbytes(n)


@pytest.mark.parametrize(
    "block",
    [
        b"Exif\x00\x00" + _noise(1, 300),
        b"Exif\x00\x00II*\x00" + _noise(2, 300),
        b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\xff\xff" + _noise(3, 64),
        b"Exif\x00\x00" + make_exif(make="Cut", serial="X", gps=(1.0, 2.0, 3.0)).tobytes()[6:60],
    ],
    ids=["random", "random-le", "huge-count", "truncated"],
)
@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
def test_garbage_blocks_never_raise(block: bytes) -> None:
    result = read_exif(_jpeg_with(block))
    assert result is None or isinstance(result, Exif)


def test_pointer_loop_does_not_hang() -> None:
    """An Exif IFD pointer that points back at IFD0."""
    block = _exif_block([_ascii(0x010F, "Loop")], exif_pointer=8)
    result = read_exif(_jpeg_with(block))
    assert result is not None and result.make == "Loop"


def test_hand_built_block_reads_like_pillows() -> None:
    block = _exif_block(
        [_ascii(0x010F, "Hand"), _ascii(0x0110, "Built")],
        exif=[_ascii(0xA431, "HB-1")],
        gps=[_ascii(1, "S"), (2, RATIONAL, 3, struct.pack("<6I", 12, 1, 30, 1, 0, 1)), _ascii(3, "E"),
             (4, RATIONAL, 3, struct.pack("<6I", 100, 1, 15, 1, 0, 1))],
    )
    assert read_exif(_jpeg_with(block)) == Exif(
        make="Hand", model="Built", body_serial="HB-1", gps_lat=-12.5, gps_lon=100.25
    )
