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


#: Unambiguous leading bytes of the commonest evidence types, answered without libmagic, which
#: spends milliseconds per file on its soft tests (most of a small-file ingest's CPU time).
#: Only signatures that libmagic itself maps to exactly this type belong here.
_SIGNATURES: Final = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
    (b"Rar!\x1a\x07", "application/x-rar"),
    (b"\x1f\x8b\x08", "application/gzip"),
    (b"BZh", "application/x-bzip2"),
    (b"\xfd7zXZ\x00", "application/x-xz"),
    (b"\x28\xb5\x2f\xfd", "application/zstd"),
)
#: libmagic reads no further than this for our purposes; more only slows its text tests.
MAGIC_BYTES: Final = 8 * 1024


def _by_signature(head: bytes) -> str | None:
    for sig, mime in _SIGNATURES:
        if head.startswith(sig):
            return mime
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def detect_mime(head: bytes) -> str:
    """MIME type of a buffer holding the start of a file (``HEAD_BYTES`` is plenty).

    ``application/x-empty`` for no bytes, ``application/octet-stream`` when unknown.
    """
    if not head:
        return "application/x-empty"
    known = _by_signature(head)
    if known is not None:
        return known
    mime = _handle().from_buffer(bytes(head[:MAGIC_BYTES]))
    return mime.split(";", 1)[0].strip().lower() if isinstance(mime, str) else "application/octet-stream"


def is_image_mime(mime: str) -> bool:
    """True for the still-image types we decode and hash with PDQ."""
    return mime.lower() in IMAGE_MIMES


def is_video_mime(mime: str) -> bool:
    """True for types the video extractor (vPDQ) should see."""
    lowered = mime.lower()
    return lowered.startswith("video/") or lowered in _VIDEO_APPLICATION_MIMES
