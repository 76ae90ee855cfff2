"""Benign test images: scikit-image's bundled samples and numpy drawings, never real evidence.

Used by tests, the demo and benchmarks. Everything is deterministic for given arguments,
so hashes computed from these images can be asserted. scikit-image is a dev/bench
dependency; only ``sample_photo`` needs it.
"""

from __future__ import annotations

import io
import struct
import zlib
from datetime import datetime
from typing import Any, Final

import numpy as np
from PIL import Image, ImageDraw
from PIL.TiffImagePlugin import IFDRational

__all__ = [
    "SAMPLE_NAMES",
    "bomb_png",
    "encode",
    "make_exif",
    "sample_photo",
    "synthetic_photo",
    "variants",
    "with_exif",
]

#: scikit-image samples bundled with the wheel (no download). Greyscale ones (camera, coins,
#: moon, page, text, brick, grass, gravel, horse) come back in mode "L", the others in "RGB".
#: ``brick``, ``grass`` and ``gravel`` are textures with no dominant structure: their PDQ
#: bits sit near the median and flip under any resampling, so avoid them in PDQ-accuracy tests.
SAMPLE_NAMES: Final = (
    "astronaut",
    "coffee",
    "chelsea",
    "cat",
    "rocket",
    "hubble_deep_field",
    "immunohistochemistry",
    "retina",
    "colorwheel",
    "logo",
    "camera",
    "coins",
    "moon",
    "page",
    "text",
    "horse",
    "brick",
    "grass",
    "gravel",
)
_ALIASES: Final = {"hubble": "hubble_deep_field", "ihc": "immunohistochemistry"}


def sample_photo(name: str, size: tuple[int, int] | None = None) -> Image.Image:
    """A scikit-image sample as a Pillow image, resized (bicubic) to ``size`` if given."""
    name = _ALIASES.get(name, name)
    if name not in SAMPLE_NAMES:
        raise ValueError(f"unknown sample {name!r}; choose from {', '.join(SAMPLE_NAMES)}")
    import skimage.data

    array = np.asarray(getattr(skimage.data, name)())
    if array.dtype == np.bool_:
        array = array.astype(np.uint8) * 255
    img = Image.fromarray(array[:, :, :3] if array.ndim == 3 else array)
    if size is not None and size != img.size:
        img = img.resize(size, Image.Resampling.BICUBIC)
    return img


def synthetic_photo(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A photo-like RGB drawing: smooth gradient, overlapping shapes, mild grain."""
    rng = np.random.default_rng(seed)
    width, height = size
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.empty((height, width, 3), dtype=np.float32)
    for channel in range(3):
        fx, fy, phase = rng.uniform(0.5, 3.0), rng.uniform(0.5, 3.0), rng.uniform(0, 2 * np.pi)
        wave = np.sin(2 * np.pi * (fx * xs / width + fy * ys / height) + phase)
        base[:, :, channel] = 128 + 90 * wave
    img = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    scale = min(width, height)
    for _ in range(12):
        x0, y0 = rng.uniform(0, width), rng.uniform(0, height)
        w, h = rng.uniform(0.05, 0.35) * scale, rng.uniform(0.05, 0.35) * scale
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        box = (x0 - w / 2, y0 - h / 2, x0 + w / 2, y0 + h / 2)
        if rng.random() < 0.5:
            draw.ellipse(box, fill=colour)
        else:
            draw.rectangle(box, fill=colour)
    grain = rng.normal(0, 6, (height, width, 3))
    return Image.fromarray(np.clip(np.asarray(img, dtype=np.float32) + grain, 0, 255).astype(np.uint8))


def encode(img: Image.Image, fmt: str = "JPEG", **options: Any) -> bytes:
    """Encode with Pillow; "HEIF" registers pillow-heif first."""
    if fmt.upper() in ("HEIF", "HEIC"):
        from safehold.extract._pillow import ensure_heif

        ensure_heif()
        fmt = "HEIF"
    if fmt.upper() == "JPEG" and img.mode not in ("RGB", "L", "CMYK"):
        img = img.convert("RGB")
    buffer = io.BytesIO()
    img.save(buffer, fmt, **options)
    return buffer.getvalue()


def _dms(value: float) -> tuple[IFDRational, IFDRational, IFDRational]:
    value = abs(value)
    degrees = int(value)
    minutes_full = (value - degrees) * 60
    minutes = int(minutes_full)
    seconds = round((minutes_full - minutes) * 60 * 10000)
    return IFDRational(degrees, 1), IFDRational(minutes, 1), IFDRational(seconds, 10000)


def make_exif(
    *,
    make: str | None = None,
    model: str | None = None,
    serial: str | None = None,
    lens_make: str | None = None,
    lens_model: str | None = None,
    lens_serial: str | None = None,
    owner: str | None = None,
    software: str | None = None,
    orientation: int | None = None,
    datetime_original: datetime | str | None = None,
    offset: str | None = None,
    gps: tuple[float, float, float] | tuple[float, float] | None = None,
) -> Image.Exif:
    """An EXIF block with IFD0, the Exif IFD and the GPS IFD filled as cameras write them."""
    exif = Image.Exif()
    for tag, value in ((0x010F, make), (0x0110, model), (0x0131, software), (0x0112, orientation)):
        if value is not None:
            exif[tag] = value
    sub = exif.get_ifd(0x8769)
    if isinstance(datetime_original, datetime):
        datetime_original = datetime_original.strftime("%Y:%m:%d %H:%M:%S")
    fields = (
        (0xA431, serial),
        (0xA433, lens_make),
        (0xA434, lens_model),
        (0xA435, lens_serial),
        (0xA430, owner),
        (0x9003, datetime_original),
        (0x9011, offset),
    )
    for tag, text in fields:
        if text is not None:
            sub[tag] = text
    if gps is not None:
        gps_ifd = exif.get_ifd(0x8825)
        gps_ifd[0] = b"\x02\x03\x00\x00"  # GPSVersionID 2.3
        gps_ifd[1], gps_ifd[2] = ("S" if gps[0] < 0 else "N"), _dms(gps[0])
        gps_ifd[3], gps_ifd[4] = ("W" if gps[1] < 0 else "E"), _dms(gps[1])
        if len(gps) == 3:
            gps_ifd[5] = b"\x01" if gps[2] < 0 else b"\x00"
            gps_ifd[6] = IFDRational(round(abs(gps[2]) * 100), 100)
    return exif


def with_exif(img: Image.Image, fmt: str = "JPEG", quality: int = 90, **fields: Any) -> bytes:
    """``img`` encoded with an EXIF block built by ``make_exif(**fields)``."""
    options: dict[str, Any] = {"exif": make_exif(**fields)}
    if fmt.upper() in ("JPEG", "WEBP", "HEIF", "HEIC"):
        options["quality"] = quality
    return encode(img, fmt, **options)


def variants(img: Image.Image, seed: int = 0) -> dict[str, Image.Image]:
    """Near-duplicates of ``img`` as they turn up across devices and platforms.

    ``cropped`` trims 0.75% from each edge (3% of the area) and ``watermarked`` lays a
    half-transparent caption box over a corner: PDQ is not crop-robust, and larger edits
    leave the 31-bit match radius. PDQ matches the first four directly; ``rotated90`` and
    ``flipped`` need the dihedral hashes (``safehold.hashing.pdq.pdq_dihedral``).
    """
    rgb = img.convert("RGB")
    width, height = rgb.size
    rng = np.random.default_rng(seed)
    dx, dy = round(width * 0.0075), round(height * 0.0075)
    return {
        "resized": rgb.resize((max(1, width // 2), max(1, height // 2)), Image.Resampling.LANCZOS),
        "jpeg_q50": Image.open(io.BytesIO(encode(rgb, "JPEG", quality=50))).convert("RGB"),
        "cropped": rgb.crop((dx, dy, width - dx, height - dy)),
        "watermarked": _watermarked(rgb, rng),
        "rotated90": rgb.transpose(Image.Transpose.ROTATE_90),
        "flipped": rgb.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
    }


def _watermarked(rgb: Image.Image, rng: np.random.Generator) -> Image.Image:
    width, height = rgb.size
    overlay = Image.new("RGBA", rgb.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    box_w, box_h = int(width * 0.25), int(height * 0.06)
    corner = int(rng.integers(0, 2))  # bottom-left or bottom-right, as apps place captions
    x0 = width // 40 if corner == 0 else width - box_w - width // 40
    y0 = height - box_h - height // 40
    draw.rectangle((x0, y0, x0 + box_w, y0 + box_h), fill=(0, 0, 0, 128))
    draw.text((x0 + 4, y0 + 2), "shared via app", fill=(255, 255, 255, 255))
    return Image.alpha_composite(rgb.convert("RGBA"), overlay).convert("RGB")


def bomb_png(width: int, height: int) -> bytes:
    """A tiny, valid-looking PNG that *declares* ``width`` x ``height`` RGB pixels.

    Only the header is real (a few hundred bytes of compressed zeros follow), so it tests
    pixel limits without allocating the image.
    """

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" * 4096)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
