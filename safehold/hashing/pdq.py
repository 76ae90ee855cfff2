"""PDQ perceptual hashes of still images, in Meta's hex form.

Hex form: the 256 bits big-endian, bit 255 first — what Meta's C++ ``Hash256::format`` prints,
what python-threatexchange's ``PdqSignal`` stores, and what shared hash lists carry.

Stills are hashed by ``pdq_linear`` (the reference's filter as matrix products, bit-for-bit
``pdqhash`` on full-resolution pixels). Speed: the reference filters at full resolution (~0.3 s
for 12 MP). A JPEG decoded at reduced size (Pillow ``draft``, see ``extract.image``) and any
image whose short side is at least twice ``PDQ_WORK_SIZE`` (box-averaged by an integer factor
with Pillow's ``reduce``) are hashed by applying the full-resolution filter to the block means,
which stays within a few bits of the full-resolution hash (Meta's bar is 10 at quality >= 80).
Pass ``work_size=None`` to hash every pixel. Video frames still go through ``pdqhash`` (see
``hashing.vpdq``), whose exact mode must reproduce the reference ``vpdq`` byte for byte.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
from PIL import Image

from safehold.hashing.pdq_linear import LUMA_WEIGHTS, pdq_bits_of_luma

__all__ = [
    "DIHEDRAL_ORDER",
    "PDQ_HEX_LEN",
    "PDQ_MAX_PIXELS",
    "PDQ_NAME",
    "PDQ_WORK_SIZE",
    "PdqResult",
    "bits_to_hex",
    "hex_to_bits",
    "pdq_dihedral",
    "pdq_distance",
    "pdq_from_image",
    "pdq_with_dihedral",
    "reduction",
    "rgb_array",
]

#: Stable hasher name (storage key).
PDQ_NAME: Final = "pdq"
PDQ_HEX_LEN: Final = 64
#: Images whose short side is at least twice this are box-averaged by an integer factor first,
#: never below it (JPEGs get the same from their draft decode, ``extract.image.DRAFT_SIZE``).
PDQ_WORK_SIZE: Final = 640
#: Most pixels hashed at once (a float32 luma plane of 64 MB): a long thin panorama whose short
#: side is below twice ``PDQ_WORK_SIZE`` is still reduced, so memory stays bounded.
PDQ_MAX_PIXELS: Final = 16_000_000

#: Order of ``pdq_dihedral``'s hashes (``pdqhash.compute_dihedral``'s order).
DIHEDRAL_ORDER: Final = (
    "original",
    "rotate90",
    "rotate180",
    "rotate270",
    "flip_x",
    "flip_y",
    "flip_plus1",
    "flip_minus1",
)

_HEX_RE: Final = re.compile(r"[0-9a-fA-F]{64}")


@dataclass(frozen=True, slots=True)
class PdqResult:
    """A PDQ hash (64 lowercase hex chars) and its quality, 0 to 100.

    Meta advises ignoring matches on hashes with quality below 50 (flat, featureless images).
    """

    hash_hex: str
    quality: int


def bits_to_hex(bits: npt.ArrayLike) -> str:
    """Pack a 256-element 0/1 vector (bit 255 first, as ``pdqhash`` returns it) to hex."""
    arr = np.asarray(bits)
    if arr.shape != (256,):
        raise ValueError(f"expected 256 bits, got shape {arr.shape}")
    return np.packbits(arr.astype(np.uint8) != 0).tobytes().hex()


def hex_to_bits(hash_hex: str) -> npt.NDArray[np.uint8]:
    """Inverse of ``bits_to_hex``."""
    return np.unpackbits(np.frombuffer(bytes.fromhex(_checked(hash_hex)), dtype=np.uint8))


def pdq_distance(a_hex: str, b_hex: str) -> int:
    """Hamming distance between two PDQ hashes (Meta's match threshold is ≤ 31)."""
    return (int(_checked(a_hex), 16) ^ int(_checked(b_hex), 16)).bit_count()


def _checked(hash_hex: str) -> str:
    if not _HEX_RE.fullmatch(hash_hex):
        raise ValueError(f"not a PDQ hash (64 hex characters): {hash_hex[:80]!r}")
    return hash_hex


def reduction(size: tuple[int, int], source_size: tuple[int, int] | None = None,
              work_size: int | None = PDQ_WORK_SIZE) -> int:
    """The integer factor by which ``size`` is (``source_size`` given: was) reduced for hashing.

    With ``source_size`` (a JPEG draft decode), the factor the decoder used: 1, 2, 4 or 8, found
    from the rounded-up sizes it produces. Otherwise the factor ``reduce`` should apply: the
    largest that keeps the short side at ``work_size`` or more, or more if needed to stay within
    ``PDQ_MAX_PIXELS`` (1 when ``work_size`` is None).
    Raises ``ValueError`` when ``size`` is no whole-factor reduction of ``source_size``.
    """
    if source_size is not None and source_size != size:
        for factor in (2, 4, 8):
            if tuple(-(-side // factor) for side in source_size) == size:
                return factor
        raise ValueError(f"{size} is not {source_size} reduced by 2, 4 or 8")
    if work_size is None:
        return 1
    budget = math.ceil(math.sqrt(size[0] * size[1] / PDQ_MAX_PIXELS))
    return max(1, min(size) // work_size, budget)


def rgb_array(img: Image.Image) -> npt.NDArray[np.uint8]:
    """8-bit RGB pixels of ``img`` as stored (no EXIF rotation, alpha dropped).

    Alpha is dropped rather than composited because that is what python-threatexchange and
    Meta's C++ tool do, so our hashes match theirs for the same file. 16-bit and 32-bit
    greyscale keep their top 8 bits (``convert`` would clip them to white instead).
    """
    mode = img.mode
    if mode.startswith("I;16") or mode in ("I", "F"):
        raw = np.asarray(img)
        if mode == "F":
            peak = float(np.nanmax(raw)) if raw.size else 0.0
            grey = np.nan_to_num(raw * 255.0 if peak <= 1.0 else raw, nan=0.0)
            luma = np.clip(grey, 0, 255).astype(np.uint8)
        else:
            wide = raw.astype(np.int64)
            shift = 8 if mode.startswith("I;16") or wide.max(initial=0) > 255 else 0
            luma = (np.clip(wide, 0, 65535) >> shift).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(luma[:, :, np.newaxis], 3, axis=2))
    if mode != "RGB":
        img = img.convert("RGB")
    return np.ascontiguousarray(np.asarray(img), dtype=np.uint8)


def _luma(img: Image.Image) -> npt.NDArray[np.float32]:
    """The reference's luma of ``img``: a greyscale plane as is, anything else through RGB."""
    if img.mode == "L":
        return np.asarray(img, dtype=np.float32)
    return rgb_array(img) @ LUMA_WEIGHTS


def _hashes(img: Image.Image, work_size: int | None,
            source_size: tuple[int, int] | None) -> tuple[list[str], int]:
    full = source_size or img.size
    try:
        factor = reduction(img.size, source_size, work_size)
    except ValueError:  # not a whole-factor reduction of the source: hash the pixels as they are
        full, factor = img.size, 1
    if source_size is None and factor > 1:
        if img.mode not in ("RGB", "L"):
            img = Image.fromarray(rgb_array(img))
        img = img.reduce(factor)
    vectors, quality = pdq_bits_of_luma(_luma(img), full, factor)
    return [bits_to_hex(v) for v in vectors], quality


def pdq_from_image(
    img: Image.Image,
    *,
    work_size: int | None = PDQ_WORK_SIZE,
    source_size: tuple[int, int] | None = None,
) -> PdqResult:
    """PDQ of the pixels as stored (EXIF orientation is not applied, as in Meta's tools).
    ``source_size``: the full-resolution size of an image decoded reduced (JPEG draft)."""
    hexes, quality = _hashes(img, work_size, source_size)
    return PdqResult(hexes[0], quality)


def pdq_dihedral(
    img: Image.Image,
    *,
    work_size: int | None = PDQ_WORK_SIZE,
    source_size: tuple[int, int] | None = None,
) -> list[str]:
    """The eight rotation/flip hashes in ``DIHEDRAL_ORDER``, from one filtering pass.

    Lets a query match a copy that was rotated or mirrored, which plain PDQ does not.
    """
    return _hashes(img, work_size, source_size)[0]


def pdq_with_dihedral(
    img: Image.Image,
    *,
    work_size: int | None = PDQ_WORK_SIZE,
    source_size: tuple[int, int] | None = None,
) -> tuple[PdqResult, list[str]]:
    """PDQ and its eight dihedral hashes from one pass (the DCT's sign flips and transposes).

    Ingest stores all eight so that a rotated or mirrored copy of a listed image matches
    without decoding the evidence again; the first is the plain PDQ hash.
    """
    hexes, quality = _hashes(img, work_size, source_size)
    return PdqResult(hexes[0], quality), hexes
