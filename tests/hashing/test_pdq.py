from __future__ import annotations

import io

import numpy as np
import pdqhash
import pytest
from PIL import Image

from safehold.hashing.pdq import (
    DIHEDRAL_ORDER,
    PDQ_MAX_PIXELS,
    PDQ_WORK_SIZE,
    bits_to_hex,
    hex_to_bits,
    pdq_dihedral,
    pdq_distance,
    pdq_from_image,
    pdq_with_dihedral,
    reduction,
)
from safehold.hashing.pdq_linear import axis_operator
from safehold.testing.images import encode, sample_photo, synthetic_photo, variants

# Computed by python-threatexchange 1.2.17 (``pdq_hasher.pdq_from_bytes``) on
# ``encode(sample_photo("astronaut"), "PNG")``: pins bit order and hex form to Meta's tooling.
ASTRONAUT_TX = "2d6b1af3a956c529e79ca3d2526fa834d4196c81cedd04de0a26b855fc99b724"


def _png_image(img: Image.Image) -> Image.Image:
    return Image.open(io.BytesIO(encode(img, "PNG")))


def test_matches_threatexchange_golden_value() -> None:
    result = pdq_from_image(_png_image(sample_photo("astronaut")), work_size=None)
    assert result.hash_hex == ASTRONAUT_TX
    assert result.quality == 100
    # 512 px needs no resizing, so the default fast path gives the same hash.
    assert pdq_from_image(sample_photo("astronaut")).hash_hex == ASTRONAUT_TX


def test_matches_threatexchange() -> None:
    from threatexchange.signal_type.pdq import pdq_hasher  # a dev dependency: never skipped
    for img in (sample_photo("coffee"), synthetic_photo(5, (700, 500)), sample_photo("camera")):
        data = encode(img, "PNG")
        expected_hex, expected_quality = pdq_hasher.pdq_from_bytes(data)
        ours = pdq_from_image(Image.open(io.BytesIO(data)), work_size=None)
        assert (ours.hash_hex, ours.quality) == (expected_hex, expected_quality)


def test_hex_is_bit_vector_big_endian() -> None:
    """Meta's README and threatexchange: the 256 bits as one big-endian number, bit 255 first."""
    bits = np.random.default_rng(0).integers(0, 2, 256)
    as_threatexchange = "%0*x" % (64, int("".join(str(b) for b in bits), 2))  # noqa: UP031
    assert bits_to_hex(bits) == as_threatexchange
    assert np.array_equal(hex_to_bits(as_threatexchange), bits)
    assert bits_to_hex(np.r_[1, np.zeros(255, dtype=int)]) == "8" + "0" * 63


def test_deterministic_lowercase() -> None:
    img = synthetic_photo(11, (500, 400))
    first, second = pdq_from_image(img), pdq_from_image(img.copy())
    assert first == second
    assert len(first.hash_hex) == 64
    assert first.hash_hex == first.hash_hex.lower()


def test_distance() -> None:
    a = ASTRONAUT_TX
    assert pdq_distance(a, a) == 0
    flipped = format(int(a, 16) ^ ((1 << 256) - 1), "064x")
    assert pdq_distance(a, flipped) == 256
    assert pdq_distance(a.upper(), a) == 0
    for bad in ("", a[:-1], a + "0", "g" * 64):
        with pytest.raises(ValueError):
            pdq_distance(a, bad)


@pytest.mark.parametrize("name", ["astronaut", "coffee", "rocket"])
def test_variants_near_unrelated_far(name: str) -> None:
    img = sample_photo(name)
    original = pdq_from_image(img).hash_hex
    found = variants(img)
    for kind in ("resized", "jpeg_q50", "cropped", "watermarked"):
        assert pdq_distance(original, pdq_from_image(found[kind]).hash_hex) <= 31, kind
    # Rotations and mirrors only match through the dihedral hashes.
    dihedral = pdq_dihedral(img)
    for kind in ("rotated90", "flipped"):
        variant = pdq_from_image(found[kind]).hash_hex
        assert pdq_distance(original, variant) > 60
        assert min(pdq_distance(h, variant) for h in dihedral) <= 31, kind
    for other in ("chelsea", "camera", "hubble_deep_field"):
        assert pdq_distance(original, pdq_from_image(sample_photo(other)).hash_hex) > 60
    assert pdq_distance(original, pdq_from_image(synthetic_photo(1)).hash_hex) > 60


def test_dihedral_order_and_original() -> None:
    img = synthetic_photo(3, (800, 600))
    hashes = pdq_dihedral(img)
    assert len(hashes) == len(DIHEDRAL_ORDER) == 8
    assert hashes[0] == pdq_from_image(img).hash_hex
    rotated = pdq_from_image(img.transpose(Image.Transpose.ROTATE_90)).hash_hex
    assert min(pdq_distance(h, rotated) for h in hashes) <= 8


def test_work_size_close_to_full_resolution() -> None:
    img = synthetic_photo(4, (2400, 1600))
    fast, full = pdq_from_image(img), pdq_from_image(img, work_size=None)
    assert pdq_distance(fast.hash_hex, full.hash_hex) <= 4
    assert reduction((2400, 1600)) == 1600 // PDQ_WORK_SIZE == 2
    assert reduction((3000, 500)) == 1  # the short side is already below the working size
    # a panorama too thin to reduce by its short side is still reduced to bound memory
    assert reduction((150_000, 1_200)) == 4 and PDQ_MAX_PIXELS >= 150_000 * 1_200 / 4**2
    assert reduction((6000, 4000), work_size=None) == 1
    # A JPEG draft decode: the factor the decoder used, from its rounded-up sizes.
    assert reduction((1000, 750), source_size=(4000, 3000)) == 4
    assert reduction((613, 307), source_size=(4900, 2450)) == 8
    assert reduction((800, 600), source_size=(800, 600)) == 1
    with pytest.raises(ValueError, match="not"):
        reduction((896, 672), source_size=(4000, 3000))  # a resize, not a whole factor
    # hashing such an image still works: its pixels are hashed as they are
    resized = synthetic_photo(4, (896, 672))
    assert pdq_from_image(resized, source_size=(4000, 3000)) == pdq_from_image(resized)


@pytest.mark.parametrize(("name", "size"), [("astronaut", (300, 200)), ("coffee", (1001, 777)),
                                            ("page", (555, 999)), ("brick", (1920, 1080)),
                                            ("colorwheel", (640, 480)), ("moon", (127, 65))])
def test_bit_for_bit_the_reference_on_full_resolution_pixels(name: str, size: tuple[int, int]) -> None:
    """The matrix form of the filter against Meta's C++ (``pdqhash``): hash, quality, dihedrals."""
    img = sample_photo(name, size)
    vectors, quality = pdqhash.compute_dihedral(np.ascontiguousarray(np.asarray(img.convert("RGB"))))
    result, dihedral = pdq_with_dihedral(img, work_size=None)
    assert result.quality == int(quality)
    assert dihedral == [bits_to_hex(v) for v in vectors]


def test_reduced_pixels_stay_close_to_the_full_resolution_hash() -> None:
    img = sample_photo("chelsea", (4240, 2832))
    full = pdq_from_image(img, work_size=None).hash_hex
    for factor in (2, 4, 8):
        reduced = img.reduce(factor)
        assert pdq_distance(pdq_from_image(reduced, source_size=img.size).hash_hex, full) <= 4, factor
    assert pdq_distance(pdq_from_image(img).hash_hex, full) <= 4  # reduce chosen by the working size


def test_operator_rows_are_averages() -> None:
    """Each grid sample is a weighted mean: a flat image maps to itself, whatever the block."""
    for full, block in ((1, 1), (63, 1), (896, 1), (4000, 4), (4001, 8)):
        op = axis_operator(full, block)
        assert op.shape == (64, -(-full // block))
        assert np.allclose(op.sum(axis=1), 1.0, atol=1e-5)
        assert (op >= 0).all()


@pytest.mark.parametrize("mode", ["L", "P", "LA", "RGBA", "CMYK", "1"])
def test_modes_hash_like_rgb(mode: str) -> None:
    img = synthetic_photo(8, (400, 300))
    reference = pdq_from_image(img.convert("L") if mode in ("L", "LA", "1") else img).hash_hex
    limit = 16 if mode in ("1", "P") else 2  # dithering and palette quantisation change pixels
    assert pdq_distance(pdq_from_image(img.convert(mode)).hash_hex, reference) <= limit


def test_sixteen_bit_grey_uses_top_byte() -> None:
    grey = synthetic_photo(9, (300, 200)).convert("L")
    wide = Image.fromarray(np.asarray(grey).astype(np.uint16) * 257)
    assert wide.mode == "I;16"
    assert pdq_from_image(wide) == pdq_from_image(grey)
    assert pdq_from_image(wide.convert("I")) == pdq_from_image(grey)


def test_tiny_and_flat_images_do_not_crash() -> None:
    assert pdq_from_image(Image.new("RGB", (1, 1))).quality == 0
    assert pdq_from_image(Image.new("RGB", (200, 100), (90, 90, 90))).quality == 0
