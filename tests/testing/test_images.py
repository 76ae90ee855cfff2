from __future__ import annotations

import hashlib
import io

import numpy as np
import pytest
from PIL import Image

from safehold.testing.images import (
    SAMPLE_NAMES,
    bomb_png,
    encode,
    make_exif,
    sample_photo,
    synthetic_photo,
    variants,
    with_exif,
)


def _digest(img: Image.Image) -> str:
    return hashlib.sha256(img.tobytes()).hexdigest()


def test_synthetic_is_deterministic_per_seed() -> None:
    assert _digest(synthetic_photo(7, (320, 200))) == _digest(synthetic_photo(7, (320, 200)))
    assert _digest(synthetic_photo(7, (320, 200))) != _digest(synthetic_photo(8, (320, 200)))
    img = synthetic_photo(7, (321, 203))
    assert (img.mode, img.size) == ("RGB", (321, 203))
    assert np.asarray(img).std() > 20  # photo-like contrast, not a flat field


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_every_sample_loads_offline(name: str) -> None:
    img = sample_photo(name)
    assert img.mode in ("RGB", "L")
    assert min(img.size) >= 100


def test_sample_resize_and_alias() -> None:
    img = sample_photo("astronaut", (300, 200))
    assert (img.mode, img.size) == ("RGB", (300, 200))
    assert sample_photo("camera").mode == "L"
    assert sample_photo("hubble").size == sample_photo("hubble_deep_field").size
    with pytest.raises(ValueError):
        sample_photo("no-such-sample")


def test_variants_are_deterministic_and_shaped() -> None:
    img = synthetic_photo(3, (400, 300))
    first, second = variants(img), variants(img)
    assert set(first) == {"resized", "jpeg_q50", "cropped", "watermarked", "rotated90", "flipped"}
    assert all(_digest(first[k]) == _digest(second[k]) for k in first)
    assert first["resized"].size == (200, 150)
    assert first["rotated90"].size == (300, 400)
    assert first["cropped"].size == (394, 296)
    assert first["watermarked"].size == img.size and _digest(first["watermarked"]) != _digest(img)


def test_with_exif_writes_sub_ifds() -> None:
    data = with_exif(synthetic_photo(4), make="Canon", serial="SN9", gps=(-10.25, 20.5, 100.0))
    with Image.open(io.BytesIO(data)) as img:
        assert img.format == "JPEG"
        exif = img.getexif()
        assert exif[0x010F] == "Canon"
        assert exif.get_ifd(0x8769)[0xA431] == "SN9"
        gps = exif.get_ifd(0x8825)
        assert (gps[1], gps[3]) == ("S", "E")
        assert [float(v) for v in gps[2]] == [10.0, 15.0, 0.0]
    assert make_exif().tobytes().startswith(b"Exif")


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "HEIF", "TIFF"])
def test_encode_formats(fmt: str) -> None:
    data = encode(synthetic_photo(5, (64, 48)), fmt)
    with Image.open(io.BytesIO(data)) as img:
        assert img.size == (64, 48)


def test_bomb_png_declares_without_allocating() -> None:
    data = bomb_png(3000, 2000)
    assert len(data) < 1000
    with Image.open(io.BytesIO(data)) as img:
        assert (img.format, img.size) == ("PNG", (3000, 2000))
    with pytest.raises(Image.DecompressionBombError):
        Image.open(io.BytesIO(bomb_png(100_000, 100_000)))
