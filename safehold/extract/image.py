"""Image facts for one file: format, stored dimensions, frame count, PDQ, EXIF.

Fast path: a JPEG is decoded with libjpeg's DCT scaling (Pillow ``draft``) to the smallest
1/2, 1/4 or 1/8 scale that keeps both sides at least ``DRAFT_SIZE``, and only its luma (Y)
plane, which is all PDQ reads: libjpeg then skips the chroma planes' inverse DCT, upsampling
and colour conversion. PDQ applies the full-resolution filter to the reduced plane
(``safehold.hashing.pdq_linear``). On a 2-core machine a 12-MP baseline JPEG drops from ~500 ms
(full decode + full-resolution PDQ) to ~20 ms, and stays within a few bits of the
full-resolution hash (0-2 bits on the 12-MP test photos; Meta's bar is 10).

Pixels are hashed as stored: EXIF orientation is recorded, not applied, because Meta's
reference tools and python-threatexchange hash the stored pixels, and hash lists come from
them. Animated images are hashed on their first frame.

Failures: when even the header cannot be read, ``ItemProblem`` is raised. When the header
parses but the pixels do not (a truncated download, a damaged sector), the facts that are
known (format, dimensions, EXIF) are still returned, with ``pdq=None`` and ``error`` set:
an investigator still learns which camera took a photo that no longer opens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from PIL import Image

from safehold.core.errors import ErrorCode, ItemError, ItemProblem
from safehold.core.settings import Limits
from safehold.extract._pillow import describe, open_image
from safehold.extract.exif import Exif, exif_from_image
from safehold.hashing.pdq import PdqResult, pdq_with_dihedral

__all__ = ["DRAFT_MODE", "DRAFT_SIZE", "ImageFacts", "analyse_image"]

#: Smallest (width, height) a JPEG draft decode may produce: 1/4 scale for 12 MP. The 1/8
#: scale measured up to 4 bits from full-resolution hashes where 1/4 gave 2.
DRAFT_SIZE: Final = (640, 640)
#: Mode asked of the JPEG decoder: luma only (colour JPEGs; CMYK ones stay CMYK).
DRAFT_MODE: Final = "L"

_DRAFTABLE: Final = frozenset({"JPEG", "MPO"})


@dataclass(frozen=True, slots=True)
class ImageFacts:
    """What one image file says about itself. ``width``/``height`` are as stored, full size."""

    format: str
    width: int
    height: int
    frames: int = 1
    pdq: str | None = None
    pdq_quality: int | None = None
    pdq_dihedral: tuple[str, ...] = ()  # the 8 rotation/flip hashes (DIHEDRAL_ORDER); first is ``pdq``
    exif: Exif | None = None
    error: ItemError | None = None


def analyse_image(data: bytes, limits: Limits) -> ImageFacts:
    """Facts for one image file's bytes; raises ``ItemProblem`` when nothing can be read.

    Raises EMPTY for no bytes, SKIPPED above ``limits.max_image_bytes``, CORRUPT for an
    unreadable header, BOMB when the declared pixels exceed ``limits.max_image_pixels``
    (checked on the header, before any pixel memory is allocated).
    """
    if not data:
        raise ItemProblem(ErrorCode.EMPTY, "zero-byte file")
    if len(data) > limits.max_image_bytes:
        raise ItemProblem(
            ErrorCode.SKIPPED,
            f"image of {len(data):,} bytes not decoded (limit max_image_bytes={limits.max_image_bytes:,})",
        )
    with open_image(data) as img:
        fmt = img.format or "unknown"
        width, height = img.size
        if width * height > limits.max_image_pixels:
            raise ItemProblem(
                ErrorCode.BOMB,
                f"{fmt} image declares {width}×{height} = {width * height:,} pixels "
                f"(limit max_image_pixels={limits.max_image_pixels:,})",
            )
        exif = exif_from_image(img)
        pdq, dihedral, error = _hash_first_frame(img, fmt)
        frames, frames_error = _frame_count(img)
    return ImageFacts(
        format=fmt,
        width=width,
        height=height,
        frames=frames,
        pdq=pdq.hash_hex if pdq else None,
        pdq_quality=pdq.quality if pdq else None,
        pdq_dihedral=tuple(dihedral),
        exif=exif,
        error=error or frames_error,
    )


def _hash_first_frame(img: Image.Image, fmt: str) -> tuple[PdqResult | None, list[str], ItemError | None]:
    source_size = img.size
    try:
        if fmt in _DRAFTABLE:
            img.draft(DRAFT_MODE, DRAFT_SIZE)
        img.load()
    except Exception as exc:  # decoders raise assorted types on damaged data
        return None, [], ItemError(ErrorCode.CORRUPT, f"pixel data unreadable: {describe(exc)}")
    try:
        pdq, dihedral = pdq_with_dihedral(img, source_size=source_size)
        return pdq, dihedral, None
    except (ValueError, OSError) as exc:  # a mode Pillow cannot convert to RGB
        return None, [], ItemError(ErrorCode.UNSUPPORTED, f"pixels not hashable: {describe(exc)}")


def _frame_count(img: Image.Image) -> tuple[int, ItemError | None]:
    try:
        return max(1, int(getattr(img, "n_frames", 1))), None
    except Exception as exc:  # counting walks every frame header; a damaged one raises
        return 1, ItemError(ErrorCode.CORRUPT, f"frames after the first unreadable: {describe(exc)}")
