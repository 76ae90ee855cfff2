from __future__ import annotations

import io
import random

import numpy as np
import pytest
from PIL import Image, features

from safehold.core.errors import ErrorCode, ItemProblem
from safehold.core.settings import Limits
from safehold.extract.image import ImageFacts, analyse_image
from safehold.hashing.pdq import pdq_distance, pdq_from_image
from safehold.testing.images import bomb_png, encode, synthetic_photo, with_exif

LIMITS = Limits()
PHOTO = synthetic_photo(21, (360, 240))
REFERENCE = pdq_from_image(PHOTO).hash_hex

FORMATS = [
    ("JPEG", {"quality": 92}, 8),
    ("PNG", {}, 0),
    ("GIF", {}, 24),  # 256-colour palette
    ("BMP", {}, 0),
    ("TIFF", {}, 0),
    ("WEBP", {"quality": 92}, 8),
    ("HEIF", {"quality": 92}, 8),
]
if features.check("avif"):
    FORMATS.append(("AVIF", {"quality": 92}, 10))


def _facts(data: bytes, limits: Limits = LIMITS) -> ImageFacts:
    return analyse_image(data, limits)


def _problem(data: bytes, limits: Limits = LIMITS) -> ItemProblem:
    with pytest.raises(ItemProblem) as caught:
        analyse_image(data, limits)
    return caught.value


@pytest.mark.parametrize(("fmt", "options", "tolerance"), FORMATS, ids=[f[0] for f in FORMATS])
def test_each_format(fmt: str, options: dict[str, int], tolerance: int) -> None:
    facts = _facts(encode(PHOTO, fmt, **options))
    assert facts.format == fmt
    assert (facts.width, facts.height, facts.frames) == (360, 240, 1)
    assert facts.error is None
    assert facts.pdq is not None and facts.pdq_quality is not None and facts.pdq_quality >= 80
    assert pdq_distance(facts.pdq, REFERENCE) <= tolerance


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "HEIF"])
def test_exif_read_in_each_container(fmt: str) -> None:
    facts = _facts(with_exif(PHOTO, fmt, make="Canon", model="EOS R5", serial="0123456789", gps=(-1.5, 2.5)))
    assert facts.exif is not None
    assert (facts.exif.make, facts.exif.body_serial) == ("Canon", "0123456789")
    assert (facts.exif.gps_lat, facts.exif.gps_lon) == (-1.5, 2.5)


@pytest.mark.parametrize("fmt", ["GIF", "WEBP"])
def test_animation_counts_frames_and_hashes_first(fmt: str) -> None:
    frames = [synthetic_photo(seed, (200, 150)) for seed in (30, 31, 32)]
    buffer = io.BytesIO()
    frames[0].save(buffer, fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)
    facts = _facts(buffer.getvalue())
    assert facts.frames == 3
    assert facts.pdq is not None
    first = pdq_from_image(frames[0]).hash_hex
    assert pdq_distance(facts.pdq, first) <= 24
    assert pdq_distance(facts.pdq, pdq_from_image(frames[1]).hash_hex) > 60


def test_multi_picture_jpeg() -> None:
    buffer = io.BytesIO()
    PHOTO.save(buffer, "MPO", save_all=True, append_images=[synthetic_photo(22, (360, 240))])
    facts = _facts(buffer.getvalue())
    assert (facts.format, facts.frames) == ("MPO", 2)
    assert facts.pdq is not None and pdq_distance(facts.pdq, REFERENCE) <= 8


def test_orientation_recorded_not_applied() -> None:
    plain = _facts(encode(PHOTO, "JPEG", quality=95))
    rotated = _facts(with_exif(PHOTO, "JPEG", quality=95, orientation=6))
    assert rotated.exif is not None and rotated.exif.orientation == 6
    assert (rotated.width, rotated.height) == (360, 240)
    assert rotated.pdq == plain.pdq


@pytest.mark.parametrize("mode", ["L", "P", "LA", "RGBA", "I;16"])
def test_png_modes(mode: str) -> None:
    if mode == "I;16":
        img = Image.fromarray(np.asarray(PHOTO.convert("L")).astype(np.uint16) * 257)
    else:
        img = PHOTO.convert(mode)
    facts = _facts(encode(img, "PNG"))
    assert facts.error is None and facts.pdq is not None
    grey_reference = pdq_from_image(PHOTO.convert("L")).hash_hex
    reference = REFERENCE if mode in ("P", "RGBA") else grey_reference
    assert pdq_distance(facts.pdq, reference) <= (16 if mode == "P" else 2)


def test_cmyk_jpeg() -> None:
    facts = _facts(encode(PHOTO.convert("CMYK"), "JPEG", quality=95))
    assert facts.pdq is not None and pdq_distance(facts.pdq, REFERENCE) <= 10


def test_truncated_jpeg_keeps_header_facts() -> None:
    data = with_exif(synthetic_photo(23, (1600, 1200)), make="Nikon", serial="N-42")
    for cut in (len(data) // 2, len(data) - 2):
        facts = _facts(data[:cut])
        assert (facts.format, facts.width, facts.height) == ("JPEG", 1600, 1200)
        assert facts.exif is not None and facts.exif.body_serial == "N-42"
        assert facts.pdq is None and facts.pdq_quality is None
        assert facts.error is not None and facts.error.code is ErrorCode.CORRUPT
        assert "truncated" in facts.error.message


def test_truncated_png() -> None:
    data = encode(synthetic_photo(24, (400, 300)), "PNG")
    facts = _facts(data[: len(data) // 2])
    assert (facts.width, facts.height) == (400, 300)
    assert facts.pdq is None
    assert facts.error is not None and facts.error.code is ErrorCode.CORRUPT


def test_header_too_short_is_corrupt() -> None:
    data = encode(PHOTO, "JPEG")
    assert _problem(data[:40]).error.code is ErrorCode.CORRUPT


def test_bomb_refused_before_allocation() -> None:
    huge = _problem(bomb_png(100_000, 100_000))
    assert huge.error.code is ErrorCode.BOMB
    # Below Pillow's own threshold our per-call limit decides, and names the dimensions.
    small_limit = Limits(max_image_pixels=1_000_000)
    problem = _problem(bomb_png(2_000, 2_000), small_limit)
    assert problem.error.code is ErrorCode.BOMB
    assert "2000×2000" in problem.error.message
    assert _facts(encode(PHOTO, "PNG"), small_limit).pdq == REFERENCE


def test_empty_random_and_text() -> None:
    assert _problem(b"").error.code is ErrorCode.EMPTY
    assert _problem(random.Random(4096).randbytes(4096)).error.code is ErrorCode.CORRUPT
    assert _problem(b"hello, this is not an image\n" * 10).error.code is ErrorCode.CORRUPT
    assert _problem(b"\xff\xd8\xff" + random.Random(2000).randbytes(2000)).error.code is ErrorCode.CORRUPT


def test_unsupported_format_not_opened() -> None:
    """Formats outside the supported list never reach Pillow's rarer parsers."""
    assert _problem(encode(PHOTO, "PPM")).error.code is ErrorCode.CORRUPT


def test_over_byte_limit_skipped() -> None:
    data = encode(PHOTO, "PNG")
    problem = _problem(data, Limits(max_image_bytes=len(data) - 1))
    assert problem.error.code is ErrorCode.SKIPPED
