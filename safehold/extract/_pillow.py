"""Opening untrusted image bytes with Pillow: which formats, HEIF registration, error mapping.

Shared by ``image`` and ``exif`` so both accept the same formats and refuse the same files.
"""

from __future__ import annotations

import io
import threading
from typing import Final

from PIL import Image, UnidentifiedImageError

from safehold.core.errors import ErrorCode, ItemProblem

__all__ = ["SUPPORTED_FORMATS", "describe", "ensure_heif", "looks_like_heif", "open_image"]

#: Pillow format names we decode. Restricting ``Image.open`` to these keeps Pillow's rarer
#: plugins (and their parsers) away from hostile evidence. The JPEG plugin also yields
#: "MPO", Pillow's name for the multi-picture JPEGs many phones and cameras write.
SUPPORTED_FORMATS: Final = ("JPEG", "PNG", "GIF", "BMP", "TIFF", "WEBP", "HEIF", "AVIF")

_heif_lock = threading.Lock()
_heif_ready = False


def ensure_heif() -> None:
    """Register pillow-heif's opener once, on first need, not as an import side effect."""
    global _heif_ready
    if _heif_ready:
        return
    with _heif_lock:
        if not _heif_ready:
            import pillow_heif

            pillow_heif.register_heif_opener()
            _heif_ready = True


def _registered() -> list[str]:
    """The supported formats this Pillow build has (``Image.open`` rejects unknown names)."""
    Image.init()
    return [name for name in SUPPORTED_FORMATS if name in Image.OPEN]


def looks_like_heif(head: bytes) -> bool:
    """ISO base media file with an image brand (HEIC, HEIF, AVIF all start this way)."""
    return len(head) >= 12 and head[4:8] == b"ftyp"


def open_image(data: bytes) -> Image.Image:
    """Open (header only; pixels are decoded later) or raise ``ItemProblem``.

    Pillow's own decompression-bomb refusal happens inside ``Image.open`` at twice its
    process-wide ``MAX_IMAGE_PIXELS``; it is reported as BOMB like our per-call limit.
    """
    if looks_like_heif(data):
        ensure_heif()
    try:
        return Image.open(io.BytesIO(data), formats=_registered())
    except Image.DecompressionBombError as exc:
        raise ItemProblem(ErrorCode.BOMB, f"image refused by decoder: {exc}") from exc
    except UnidentifiedImageError as exc:
        raise ItemProblem(ErrorCode.CORRUPT, "not a readable image (no supported format recognised)") from exc
    except Exception as exc:  # plugins raise arbitrary types on malformed headers
        raise ItemProblem(ErrorCode.CORRUPT, f"image header unreadable: {describe(exc)}") from exc


def describe(exc: BaseException) -> str:
    """Exception type and text, for error messages investigators read."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
