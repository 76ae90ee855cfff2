"""The benign sample case: photos with EXIF and near-duplicates, nested archives, damaged and
hostile files. Used by ``safehold demo``, the end-to-end tests and the benchmarks.

Everything is generated (scikit-image samples and numpy drawings); nothing is downloaded. The
builder returns what it wrote, member by member, so tests compare the ingest against known
hashes rather than against itself.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import py7zr
from PIL import Image

from safehold.testing.images import encode, sample_photo, synthetic_photo, variants, with_exif

__all__ = ["CorpusManifest", "ExpectedFile", "build_demo_evidence"]

_FIXED_TIME = time.mktime((2024, 5, 17, 10, 30, 0, 0, 0, -1))

CAMERAS = [
    ("Canon", "Canon EOS 5D Mark IV", "032021001234", "EF24-70mm f/2.8L II USM"),
    ("NIKON CORPORATION", "NIKON D750", "6012345", "24.0-120.0 mm f/4.0"),
    ("Apple", "iPhone 12", None, "iPhone 12 back dual wide camera 4.2mm f/1.6"),
]


@dataclass(frozen=True, slots=True)
class ExpectedFile:
    """One file the corpus holds: its locator chain below the evidence root, and its bytes' hash."""

    chain: tuple[tuple[str, str], ...]  # (scheme, value) pairs after ("evidence", id)
    sha256: str | None  # None where no hash can be computed (encrypted, bomb)
    error: str | None = None  # ErrorCode value expected, if any


@dataclass(slots=True)
class CorpusManifest:
    root: Path
    files: list[ExpectedFile] = field(default_factory=list)

    def add(self, chain: tuple[tuple[str, str], ...], data: bytes | None, error: str | None = None) -> None:
        self.files.append(ExpectedFile(chain, hashlib.sha256(data).hexdigest() if data is not None else None,
                                       error))


def _jpeg(img: Image.Image, quality: int = 90) -> bytes:
    return encode(img.convert("RGB"), "JPEG", quality=quality)


def _zip(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 5, 17, 10, 30, 0))
            info.compress_type = compression
            zf.writestr(info, data)
    return buf.getvalue()


def _tar_gz(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in members.items():
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mtime = int(_FIXED_TIME)
            tf.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def _seven_zip(members: dict[str, bytes], password: str | None = None) -> bytes:
    buf = io.BytesIO()
    with py7zr.SevenZipFile(buf, "w", password=password, header_encryption=False) as z:
        for name, data in members.items():
            z.writef(io.BytesIO(data), name)
    return buf.getvalue()


def _write(root: Path, rel: str, data: bytes) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def build_demo_evidence(root: Path, photos: int = 9) -> CorpusManifest:
    """Write the sample evidence folder under ``root`` (created) and return what it holds."""
    root.mkdir(parents=True, exist_ok=True)
    m = CorpusManifest(root)

    def put(rel: str, data: bytes, error: str | None = None) -> None:
        _write(root, rel, data)
        m.add((("fs", "/" + rel),), data, error)

    # Camera roll: real photos (scikit-image samples) with EXIF from three cameras.
    names = ["astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "retina", "cat", "hubble",
             "page"]
    originals: list[Image.Image] = []
    for i in range(photos):
        img = sample_photo(names[i % len(names)]) if i < len(names) else synthetic_photo(i, (1200, 900))
        originals.append(img)
        make, model, serial, lens = CAMERAS[i % len(CAMERAS)]
        data = with_exif(img, make=make, model=model, serial=serial, lens_model=lens,
                         datetime_original=f"2024:05:{10 + i:02d} 14:{i:02d}:00",
                         gps=(33.6844 + i / 100, 73.0479 - i / 100, 540.0) if i % 2 == 0 else None)
        put(f"DCIM/100CANON/IMG_{i + 1:04d}.JPG", data)

    # A phone clip, and a trimmed, watermarked copy of it shared onwards: vPDQ links the two.
    from safehold.testing.videos import Edit, edit_video, make_video  # PyAV: only when a corpus is built

    clip_rel, copy_rel = "DCIM/100CANON/MVI_0010.MP4", "Videos/shared/clip_0010.mp4"
    for rel in (clip_rel, copy_rel):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
    clip = make_video(root / clip_rel, seconds=8, seed=3)
    m.add((("fs", "/" + clip_rel),), clip.read_bytes())
    shared = edit_video(clip, root / copy_rel, Edit(start=2.0, end=7.0, watermark=True))
    m.add((("fs", "/" + copy_rel),), shared.read_bytes())

    # Near-duplicates of the first two photos, as they circulate (resized, re-encoded, cropped…).
    for base_index in (0, 1):
        for vname, vimg in variants(originals[base_index]).items():
            put(f"Pictures/shared/{names[base_index]}_{vname}.jpg", _jpeg(vimg, 85))

    # The same photo in every still format the pipeline decodes; an exact copy elsewhere.
    small = originals[2].copy()
    small.thumbnail((640, 640))
    for fmt, ext in [("PNG", "png"), ("GIF", "gif"), ("BMP", "bmp"), ("TIFF", "tif"), ("WEBP", "webp"),
                     ("HEIF", "heic")]:
        put(f"Pictures/formats/chelsea.{ext}", encode(small, fmt))
    put("Backup/copy_of_IMG_0001.JPG", (root / "DCIM/100CANON/IMG_0001.JPG").read_bytes())

    put("Documents/notes.txt", b"Shopping list: milk, eggs, bread.\n")

    # Nested archives: zip ⊃ tar.gz ⊃ 7z ⊃ jpg, each layer also holding a direct file.
    deep_jpg = _jpeg(synthetic_photo(101, (800, 600)))
    mid_png = encode(synthetic_photo(102, (640, 480)), "PNG")
    top_jpg = _jpeg(synthetic_photo(103, (1024, 768)))
    inner7z = _seven_zip({"deep/photo_deep.jpg": deep_jpg})
    tgz = _tar_gz({"mid/photo_mid.png": mid_png, "mid/inner.7z": inner7z})
    holiday = _zip({"photos/photo_top.jpg": top_jpg, "photos/more.tar.gz": tgz, "readme.txt": b"holiday\n"})
    z = ("fs", "/Downloads/holiday.zip")
    _write(root, "Downloads/holiday.zip", holiday)
    m.add((z,), holiday)
    m.add((z, ("zip", "photos/photo_top.jpg")), top_jpg)
    m.add((z, ("zip", "readme.txt")), b"holiday\n")
    m.add((z, ("zip", "photos/more.tar.gz")), tgz)
    t = (z, ("zip", "photos/more.tar.gz"))
    m.add((*t, ("tar", "mid/photo_mid.png")), mid_png)
    m.add((*t, ("tar", "mid/inner.7z")), inner7z)
    m.add((*t, ("tar", "mid/inner.7z"), ("7z", "deep/photo_deep.jpg")), deep_jpg)

    # Damaged and hostile files: each must become an error on that file, never a failed run.
    good = (root / "DCIM/100CANON/IMG_0002.JPG").read_bytes()
    put("damaged/truncated.jpg", good[: len(good) // 3], "corrupt")
    put("damaged/empty.jpg", b"", "empty")
    put("damaged/not_really.jpg", b"this is a text file with a .jpg name\n")
    broken_zip = _zip({"a.txt": b"a" * 1000, "b.txt": b"b" * 1000})
    put("damaged/truncated.zip", broken_zip[: len(broken_zip) - 40], "corrupt")
    secret = _seven_zip({"secret.jpg": top_jpg}, password="demo-password")  # noqa: S106 - a benign sample
    put("damaged/encrypted.7z", secret)
    m.add((("fs", "/damaged/encrypted.7z"), ("7z", "secret.jpg")), None, "encrypted")
    bomb = _zip({"zeros.bin": bytes(64 * 2**20)})
    put("damaged/bomb.zip", bomb)
    m.add((("fs", "/damaged/bomb.zip"), ("zip", "zeros.bin")), None, "bomb")
    escape = _zip({"../../etc/cron.d/evil": b"* * * * * root true\n", "/abs/name.txt": b"absolute\n"})
    put("damaged/traversal.zip", escape)
    m.add((("fs", "/damaged/traversal.zip"), ("zip", "../../etc/cron.d/evil")), b"* * * * * root true\n",
          "unsafe_path")
    m.add((("fs", "/damaged/traversal.zip"), ("zip", "/abs/name.txt")), b"absolute\n", "unsafe_path")
    return m
