"""Media type from content, never from the file name (names in evidence lie).

libmagic through python-magic: ~20x faster than pure-Python sniffers and more accurate.
A libmagic handle is not safe to share between threads, so each thread lazily opens its
own (a few milliseconds, once per thread per process; worker processes never inherit one).
"""

from __future__ import annotations

import threading
from typing import Final

import magic

__all__ = [
    "HEAD_BYTES",
    "IMAGE_MIMES",
    "detect_mime",
    "is_image_mime",
    "is_video_mime",
]

#: How much of a file to hand ``detect_mime``: enough for every container we route on
#: (ISO-BMFF brands, TIFF IFDs, RIFF), and it is all libmagic looks at anyway for these.
HEAD_BYTES: Final = 64 * 1024

#: Types ``safehold.extract.image.analyse_image`` decodes. libmagic spells BMP both ways
#: depending on its version.
IMAGE_MIMES: Final = frozenset(
    {
        "image/jpeg",
        "image/png",
        "image/gif",
        "image/bmp",
        "image/x-ms-bmp",
        "image/tiff",
        "image/webp",
        "image/heic",
        "image/heif",
        "image/heic-sequence",
        "image/heif-sequence",
        "image/avif",
    }
)

_VIDEO_APPLICATION_MIMES: Final = frozenset(
    {"application/vnd.rn-realmedia", "application/mxf", "application/x-matroska"}
)

_local = threading.local()


def _handle() -> magic.Magic:
    found = getattr(_local, "magic", None)
    if found is None:
        found = magic.Magic(mime=True)
        _local.magic = found
    return found


def detect_mime(head: bytes) -> str:
    """MIME type of a buffer holding the start of a file (``HEAD_BYTES`` is plenty).

    ``application/x-empty`` for no bytes, ``application/octet-stream`` when unknown.
    """
    if not head:
        return "application/x-empty"
    mime = _handle().from_buffer(bytes(head[:HEAD_BYTES]))
    return mime.split(";", 1)[0].strip().lower() if isinstance(mime, str) else "application/octet-stream"


def is_image_mime(mime: str) -> bool:
    """True for the still-image types we decode and hash with PDQ."""
    return mime.lower() in IMAGE_MIMES


def is_video_mime(mime: str) -> bool:
    """True for types the video extractor (vPDQ) should see."""
    lowered = mime.lower()
    return lowered.startswith("video/") or lowered in _VIDEO_APPLICATION_MIMES
