from __future__ import annotations

import io
import random
from concurrent.futures import ThreadPoolExecutor

import pytest
from PIL import features

from safehold.extract.filetype import HEAD_BYTES, detect_mime, is_image_mime, is_video_mime
from safehold.testing.images import encode, synthetic_photo

PHOTO = synthetic_photo(50, (120, 90))

EXPECTED = [
    ("JPEG", {"image/jpeg"}),
    ("PNG", {"image/png"}),
    ("GIF", {"image/gif"}),
    ("BMP", {"image/bmp", "image/x-ms-bmp"}),
    ("TIFF", {"image/tiff"}),
    ("WEBP", {"image/webp"}),
    ("HEIF", {"image/heic"}),
]
if features.check("avif"):
    EXPECTED.append(("AVIF", {"image/avif"}))


@pytest.mark.parametrize(("fmt", "mimes"), EXPECTED, ids=[e[0] for e in EXPECTED])
def test_each_image_format(fmt: str, mimes: set[str]) -> None:
    data = encode(PHOTO, fmt)
    mime = detect_mime(data[:HEAD_BYTES])
    assert mime in mimes
    assert is_image_mime(mime)
    assert not is_video_mime(mime)


def test_from_head_only_and_longer_buffers() -> None:
    data = encode(synthetic_photo(51, (1500, 1000)), "PNG")
    assert len(data) > HEAD_BYTES
    assert detect_mime(data[:8192]) == detect_mime(data) == "image/png"


def test_non_images() -> None:
    assert detect_mime(b"") == "application/x-empty"
    # Seeded, not os.urandom: one draw in 65,536 starts with "MZ" and libmagic calls it a DOS
    # executable, which made this test fail at random.
    noise = random.Random(4096).randbytes(4096)
    assert detect_mime(noise) == "application/octet-stream"
    assert detect_mime(b"Shopping list: milk, eggs and bread.\nCall the office.\n") == "text/plain"
    assert detect_mime(encode(PHOTO, "PPM")) == "image/x-portable-pixmap"
    assert not is_image_mime("image/x-portable-pixmap")  # recognised, not decoded by us
    assert not is_image_mime("application/octet-stream")


def test_zip_is_not_an_image() -> None:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.jpg", encode(PHOTO, "JPEG"))
    assert detect_mime(buffer.getvalue()) == "application/zip"


def test_video_predicates() -> None:
    assert is_video_mime("video/mp4")
    assert is_video_mime("VIDEO/X-MATROSKA")
    assert is_video_mime("application/vnd.rn-realmedia")
    assert not is_video_mime("audio/mpeg")
    assert is_image_mime("IMAGE/JPEG")


def test_thread_safe() -> None:
    """Each thread gets its own libmagic handle; answers stay right under contention."""
    samples = [(encode(PHOTO, fmt), mimes) for fmt, mimes in EXPECTED] * 20

    def check(item: tuple[bytes, set[str]]) -> bool:
        return detect_mime(item[0]) in item[1]

    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(check, samples))


def test_signature_fast_path_agrees_with_libmagic() -> None:
    """The shortcut that skips libmagic must give exactly what libmagic would."""
    import bz2
    import gzip
    import lzma

    import magic
    import zstandard

    from safehold.extract.filetype import _by_signature
    from safehold.testing.images import encode, sample_photo

    img = sample_photo("coffee", (200, 150))
    samples = [encode(img, "JPEG"), encode(img, "PNG"), encode(img, "GIF"), encode(img, "WEBP"),
               gzip.compress(b"x" * 100), bz2.compress(b"x" * 100), lzma.compress(b"x" * 100),
               zstandard.ZstdCompressor().compress(b"x" * 100), b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"]
    libmagic = magic.Magic(mime=True)
    for data in samples:
        fast = _by_signature(data)
        assert fast is not None
        assert fast == libmagic.from_buffer(data)
    assert _by_signature(b"plain text") is None
