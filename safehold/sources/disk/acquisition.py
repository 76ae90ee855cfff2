"""What ``add_evidence`` records for a disk image: acquisition hash, and for EWF a verification.

* Raw (single or split), VHD/VHDX, VMDK, QCOW2, DMG: SHA-256 over the image file bytes as
  acquired (split segments concatenated in order: the SHA-256 of the media).
* EWF: the MD5 stored by the acquiring tool is the acquisition hash; the media data is re-hashed
  (as ``ewfverify`` does) and the result, with the acquisition metadata (examiner, case and
  evidence numbers, date, description, notes), becomes a ``verified`` or
  ``verification-failed`` custody event. A mismatch never stops registration.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from safehold.sources.disk.ewf import ewf_segments, verify
from safehold.sources.disk.image import raw_segments
from safehold.sources.disk.signatures import container_kind, sniff_file

__all__ = ["DiskAcquisition", "acquire_disk"]


@dataclass(slots=True)
class DiskAcquisition:
    digest: str
    method: str
    size: int  # bytes of the image files as acquired
    segments: int
    container: str
    custody: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (action, details)

    @property
    def warning(self) -> str | None:
        for action, details in self.custody:
            if action == "verification-failed":
                return str(details.get("reason", "verification failed"))
        return None


def _sha256_files(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for p in paths:
        with open(p, "rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
    return h.hexdigest()


def _ewf(path: Path) -> DiskAcquisition:
    try:
        v = verify(path)
    except OSError as exc:  # libewf cannot open it: still registered, by its file bytes
        digest = _sha256_files([path])
        return DiskAcquisition(digest, "sha256", path.stat().st_size, 1, "ewf",
                               [("verification-failed", {"reason": f"cannot open EWF image: {exc}"})])
    segments = ewf_segments(path)
    size = sum(p.stat().st_size for p in segments)
    details: dict[str, Any] = {"stored": v.stored, "computed": v.computed, "media_size": v.media_size,
                               "segments": len(segments), **v.metadata}
    if "md5" in v.stored:
        digest, method = v.stored["md5"], "ewf-stored-md5"
    elif "md5" in v.computed:
        digest, method = v.computed["md5"], "ewf-media-md5"
    else:
        digest, method = _sha256_files(segments), "sha256-segments"
    if v.ok:
        action = "verified"
    else:
        action = "verification-failed"
        if v.error is not None:
            details["reason"] = v.error
        elif not v.stored:
            details["reason"] = "the image stores no hash to verify against"
        else:
            details["reason"] = "stored " + ", ".join(
                f"{k.upper()} {v.stored[k]} != computed {v.computed[k]}" for k in v.mismatched)
    return DiskAcquisition(digest, method, size, len(segments), "ewf", [(action, details)])


def acquire_disk(path: Path) -> DiskAcquisition:
    head, tail = sniff_file(path)
    kind = container_kind(head, tail, path.name) or "raw"
    if kind == "ewf":
        return _ewf(path)
    segments = raw_segments(path) if kind == "raw" else [path]
    size = sum(p.stat().st_size for p in segments)
    method = "sha256" if len(segments) == 1 else "sha256-segments"
    return DiskAcquisition(_sha256_files(segments), method, size, len(segments), kind)
