"""Thumbnails and previews, made once from the evidence and cached in the data directory.

Every picture is stored in two separate files: blurred (what the gallery and item pages show)
and clear (served only during a logged, time-limited reveal; see ``services.reveal``). The blur
is strong on purpose: a Gaussian whose radius is a twentieth of the picture's longest side
leaves shapes and colours to orient by and removes detail, which is what spares reviewers
needless exposure. Grayscale is a per-user option on top of the blur.

Videos are shown through the contact sheet another part of Safehold writes to
``derived/contact/<sha[:2]>/<sha>.jpg``; without one, and for anything that cannot be decoded,
a neutral placeholder is served. This module does no access control: its callers do.
"""

from __future__ import annotations

import io
import os
import tempfile
from enum import StrEnum
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageOps

from safehold.extract._pillow import SUPPORTED_FORMATS, ensure_heif
from safehold.extract.contact_sheet import contact_sheet_path as sheet_path
from safehold.services.context import ServiceContext
from safehold.services.reopen import RefCache, read_content

__all__ = ["Size", "Variant", "contact_sheet_path", "picture", "placeholder"]

BLUR_FRACTION = 20  # radius = longest side / 20


class Size(StrEnum):
    THUMB = "thumb"
    PREVIEW = "preview"


class Variant(StrEnum):
    BLUR = "blur"
    BLUR_GRAY = "blur-gray"
    CLEAR = "clear"


def _px(ctx: ServiceContext, size: Size) -> int:
    return ctx.settings.web.thumb_px if size is Size.THUMB else ctx.settings.web.preview_px


def contact_sheet_path(ctx: ServiceContext, sha256: str) -> Path:
    return sheet_path(ctx.settings.derived_dir, sha256)


def _cache_path(ctx: ServiceContext, sha256: str, size: Size, variant: Variant) -> Path:
    return ctx.settings.derived_dir / "thumbs" / sha256[:2] / f"{sha256}.{size.value}.{variant.value}.jpg"


def _jpeg(img: Image.Image, quality: int = 82) -> bytes:
    buf = io.BytesIO()
    (img if img.mode in ("L", "RGB") else img.convert("RGB")).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def _store(path: Path, data: bytes) -> None:
    """Atomic: a reader never sees half a file, and two writers of the same bytes are harmless."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    Path(tmp).replace(path)


def blur(img: Image.Image, grayscale: bool = False) -> Image.Image:
    img = img.convert("L" if grayscale else "RGB")
    return img.filter(ImageFilter.GaussianBlur(radius=max(img.size) / BLUR_FRACTION))


def _decode(ctx: ServiceContext, data: bytes, px: int) -> Image.Image | None:
    ensure_heif()
    limits = ctx.settings.limits
    try:
        with Image.open(io.BytesIO(data), formats=SUPPORTED_FORMATS) as im:  # hostile bytes: few parsers
            if im.width * im.height > limits.max_image_pixels:
                return None
            im.draft("RGB", (px, px))  # JPEG: decode at reduced scale, far cheaper for camera photos
            img = ImageOps.exif_transpose(im).convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError, SyntaxError):
        return None
    img.thumbnail((px, px), Image.Resampling.LANCZOS)
    return img


def _source_image(ctx: ServiceContext, refs: RefCache, case_id: int, sha256: str, media_type: str | None,
                  px: int) -> Image.Image | None:
    if media_type == "video":
        sheet = contact_sheet_path(ctx, sha256)
        return _decode(ctx, sheet.read_bytes(), px) if sheet.is_file() else None
    if media_type != "image":
        return None
    data = read_content(ctx, refs, case_id, sha256, ctx.settings.limits.max_image_bytes)
    return _decode(ctx, data, px) if data is not None else None


def picture(ctx: ServiceContext, refs: RefCache, case_id: int, sha256: str, media_type: str | None,
            size: Size, variant: Variant) -> bytes:
    """JPEG bytes of the requested variant, from the cache or made now (all variants at once)."""
    want = _cache_path(ctx, sha256, size, variant)
    try:
        return want.read_bytes()
    except FileNotFoundError:
        pass
    img = _source_image(ctx, refs, case_id, sha256, media_type, _px(ctx, size))
    if img is None:  # not cached: evidence may come back (a disk re-attached)
        return placeholder(media_type, _px(ctx, size))
    made = {Variant.CLEAR: _jpeg(img, 88), Variant.BLUR: _jpeg(blur(img)), Variant.BLUR_GRAY: _jpeg(blur(img, True))}
    for v, data in made.items():
        _store(_cache_path(ctx, sha256, size, v), data)
    return made[variant]


def placeholder(media_type: str | None, px: int) -> bytes:
    """A neutral tile: grey, with a play triangle for videos and a frame for anything else."""
    side = max(32, px // 2)
    img = Image.new("RGB", (side, side), (88, 92, 98))
    d = ImageDraw.Draw(img)
    c, r = side // 2, side // 6
    if media_type == "video":
        d.polygon([(c - r, c - r), (c - r, c + r), (c + r, c)], fill=(200, 200, 200))
    else:
        d.rectangle((c - r, c - r, c + r, c + r), outline=(200, 200, 200), width=max(1, side // 64))
    return _jpeg(img)
