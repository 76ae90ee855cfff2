"""Contact sheets: one JPEG grid of evenly spaced stills per video, for the review screen.

Reviewers see what a video holds without playing it, and the screen blurs the sheet by
default. Sheets are derived files: they live in the data directory under
``derived/contact/<sha256[:2]>/<sha256>.jpg`` (keyed by content, so a video found in many
places has one sheet), never beside the evidence, which is read-only. They are written by the
ingest worker from frames it has decoded anyway, to a temporary name first, so a killed
worker never leaves half a sheet.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from PIL import Image, ImageDraw

__all__ = ["CONTACT_DIR", "contact_sheet_path", "render_contact_sheet", "write_contact_sheet"]

CONTACT_DIR: Final = "contact"
_GAP: Final = 4
_BACKGROUND: Final = (24, 24, 24)


def contact_sheet_path(derived_dir: Path, sha256: str) -> Path:
    """Where the sheet of the content ``sha256`` lives."""
    return derived_dir / CONTACT_DIR / sha256[:2] / f"{sha256}.jpg"


def _clock(seconds: float) -> str:
    whole = int(seconds)
    h, rest = divmod(whole, 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60}:{rest % 60:02d}"


def render_contact_sheet(stills: Sequence[tuple[float, Image.Image]]) -> Image.Image:
    """A near-square grid of the stills, each labelled with its time in the video."""
    if not stills:
        raise ValueError("no stills for a contact sheet")
    cols = math.ceil(math.sqrt(len(stills)))
    rows = math.ceil(len(stills) / cols)
    tile_w = max(img.width for _, img in stills)
    tile_h = max(img.height for _, img in stills)
    sheet = Image.new("RGB", (cols * (tile_w + _GAP) + _GAP, rows * (tile_h + _GAP) + _GAP), _BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    for k, (at, img) in enumerate(stills):
        x = _GAP + (k % cols) * (tile_w + _GAP) + (tile_w - img.width) // 2
        y = _GAP + (k // cols) * (tile_h + _GAP) + (tile_h - img.height) // 2
        sheet.paste(img.convert("RGB"), (x, y))
        label = _clock(at)
        draw.rectangle((x, y, x + 7 * len(label) + 6, y + 14), fill=(0, 0, 0))
        draw.text((x + 3, y + 2), label, fill=(255, 255, 255))
    return sheet


def write_contact_sheet(derived_dir: Path, sha256: str, stills: Sequence[tuple[float, Image.Image]]) -> str:
    """Write the sheet unless it exists; returns its path relative to ``derived_dir``."""
    target = contact_sheet_path(derived_dir, sha256)
    relative = target.relative_to(derived_dir).as_posix()
    if target.exists():
        return relative
    target.parent.mkdir(parents=True, exist_ok=True)
    sheet = render_contact_sheet(stills)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".sheet-", suffix=".jpg")
    try:
        with os.fdopen(fd, "wb") as out:
            sheet.save(out, "JPEG", quality=80)
        Path(tmp).replace(target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return relative
