"""Container and stream metadata of a video, as investigators use it: when, on what device, where.

Phones write these as container tags: Apple's QuickTime keys (``com.apple.quicktime.make``,
``…model``, ``…creationdate``, ``…location.ISO6709``), Android's (``com.android.manufacturer``,
``com.android.model``, ``location``), and the generic ``creation_time`` that most muxers set
(often the encode time, not the shooting time: both are kept, under their own names).
"""

from __future__ import annotations

from typing import Any, Final

__all__ = ["container_facts"]

#: Our name ← tag names in order of preference (lower-cased; FFmpeg keeps the writer's case).
_WANTED: Final = {
    "creation_time": ("creation_time", "date"),
    "shot_at": ("com.apple.quicktime.creationdate",),
    "make": ("com.apple.quicktime.make", "com.android.manufacturer", "make", "manufacturer"),
    "model": ("com.apple.quicktime.model", "com.android.model", "model"),
    "software": ("com.apple.quicktime.software", "com.android.version", "software"),
    "location": ("com.apple.quicktime.location.iso6709", "location", "location-eng"),
    "encoder": ("encoder", "encoded_by"),
    "title": ("title",),
    "comment": ("comment",),
}
_MAX_VALUE: Final = 300


def _lowered(tags: Any) -> dict[str, str]:
    try:
        items = dict(tags or {}).items()
    except (TypeError, ValueError):
        return {}
    return {str(k).lower(): str(v) for k, v in items if v is not None and str(v).strip()}


def container_facts(container: Any, stream: Any | None) -> dict[str, str]:
    """Selected tags of the container, then of the video stream (first found wins), plus rotation."""
    sources = [_lowered(getattr(container, "metadata", None))]
    if stream is not None:
        sources.append(_lowered(getattr(stream, "metadata", None)))
    out: dict[str, str] = {}
    for name, keys in _WANTED.items():
        for tags in sources:
            value = next((tags[k] for k in keys if k in tags), None)
            if value is not None:
                out[name] = value.strip().replace("\x00", "")[:_MAX_VALUE]
                break
    if stream is not None:
        rotate = _lowered(getattr(stream, "metadata", None)).get("rotate")
        if rotate:
            out["rotation"] = rotate[:10]
    return out
