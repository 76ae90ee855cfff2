"""Videos: container, codecs, size, rate, duration, device metadata, vPDQ and a contact sheet."""

from __future__ import annotations

from typing import Any, ClassVar

from safehold.core.errors import ErrorCode, ItemError
from safehold.extract.contact_sheet import write_contact_sheet
from safehold.extract.video import VideoFacts, analyse_video
from safehold.extractors.base import Accepts, ContentView, Extractor, Sink
from safehold.hashing.vpdq import pack_frames

__all__ = ["VideoExtractor"]


def _facts(video: VideoFacts) -> dict[str, Any]:
    meta: dict[str, Any] = dict(video.metadata)
    if video.bit_rate:
        meta["bit_rate"] = video.bit_rate
    meta["frames_decoded"] = video.decoded
    return {"container": video.container, "duration": video.duration, "frame_rate": video.frame_rate,
            "video_codec": video.video_codec, "audio_codec": video.audio_codec, "width": video.width,
            "height": video.height, "video_meta": meta,
            "vpdq": pack_frames(video.frames) if video.frames else None}


class VideoExtractor(Extractor):
    name: ClassVar[str] = "video"
    version: ClassVar[int] = 1
    accepts: ClassVar[Accepts] = Accepts(kinds=frozenset({"video"}))
    description: ClassVar[str] = "container and codecs, duration, device metadata, vPDQ, contact sheet"
    facts: ClassVar[frozenset[str]] = frozenset(
        {"container", "duration", "frame_rate", "video_codec", "audio_codec", "width", "height", "video_meta",
         "vpdq", "contact_sheet"})

    def run(self, view: ContentView, sink: Sink) -> None:
        # PyAV seeks: a real file when there is one, else the spilled or in-memory copy.
        video = analyse_video(view.local_path or view.open, view.limits, view.video)
        sink.facts(**_facts(video))
        if video.thumbnails and sink.derived_dir is not None and view.sha256 is not None:
            try:
                sheet = write_contact_sheet(sink.derived_dir, view.sha256, video.thumbnails)
            except OSError as exc:  # a full disk costs the sheet, not the file's facts
                sink.error(ItemError(ErrorCode.UNREADABLE, f"contact sheet not written: {exc}"))
            else:
                sink.facts(contact_sheet=sheet)
        if video.error is not None:
            sink.error(video.error)
