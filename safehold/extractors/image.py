"""Still images: format, dimensions, PDQ with its eight rotations/flips, and EXIF."""

from __future__ import annotations

from typing import ClassVar

from safehold.core.errors import ErrorCode, ItemError
from safehold.extract.image import analyse_image
from safehold.extractors.base import Accepts, ContentView, Extractor, Sink

__all__ = ["ImageExtractor"]


class ImageExtractor(Extractor):
    name: ClassVar[str] = "image"
    version: ClassVar[int] = 1
    accepts: ClassVar[Accepts] = Accepts(kinds=frozenset({"image"}))
    description: ClassVar[str] = "image format, dimensions, PDQ (+8 dihedral hashes), EXIF"
    facts: ClassVar[frozenset[str]] = frozenset(
        {"image_format", "width", "height", "pdq", "pdq_quality", "pdq_dihedral", "exif"})
    in_memory: ClassVar[bool] = True

    def run(self, view: ContentView, sink: Sink) -> None:
        limit = view.limits.max_image_bytes
        if view.size is not None and view.size > limit:
            sink.error(ItemError(ErrorCode.UNSUPPORTED, f"image larger than {limit} bytes: hashed, not decoded"))
            return
        img = analyse_image(view.read(), view.limits)
        sink.facts(image_format=img.format, width=img.width, height=img.height, pdq=img.pdq,
                   pdq_quality=img.pdq_quality, pdq_dihedral="".join(img.pdq_dihedral) or None,
                   exif=img.exif.as_dict() if img.exif is not None else None)
        if img.error is not None:
            sink.error(img.error)
