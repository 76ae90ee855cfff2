"""Media type from the first bytes (libmagic), and the media kind every later extractor accepts on."""

from __future__ import annotations

from typing import ClassVar

from safehold.extract.filetype import detect_mime, is_image_mime, is_video_mime
from safehold.extractors.base import ContentView, Extractor, Reads, Sink
from safehold.sources.registry import reader_for

__all__ = ["FileTypeExtractor", "media_kind"]


def media_kind(mime: str, head: bytes) -> str:
    """image | video | archive | other. An archive is what a container reader opens."""
    if is_image_mime(mime):
        return "image"
    if is_video_mime(mime):
        return "video"
    return "archive" if reader_for(mime, head, None) is not None else "other"


class FileTypeExtractor(Extractor):
    name: ClassVar[str] = "filetype"
    version: ClassVar[int] = 1
    reads: ClassVar[Reads] = Reads.HEAD
    description: ClassVar[str] = "media type by content (libmagic), never by name; the media kind"
    facts: ClassVar[frozenset[str]] = frozenset({"mime", "media_kind"})

    def run(self, view: ContentView, sink: Sink) -> None:
        head = view.head()
        mime = detect_mime(head)
        sink.facts(mime=mime, media_kind=media_kind(mime, head))
