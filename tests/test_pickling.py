"""Records sent between processes survive the compact pickling unchanged, nested ones included."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime

from safehold.core.errors import ErrorCode, ItemError
from safehold.core.hashrecords import VPDQ_FRAME_BYTES
from safehold.core.locator import Locator
from safehold.core.records import ArtifactRecord, ContentFacts, ExtractorRun, FileRecord, FileTimes, TopEntry
from safehold.hashing.vpdq import FRAME_DTYPE


def test_records_round_trip_through_pickle() -> None:
    facts = ContentFacts("a" * 64, "b" * 32, "c" * 40, 7, mime="text/plain", media_kind="other",
                         exif={"make": "Canon"}, vpdq=b"\x01" * VPDQ_FRAME_BYTES)
    facts.runs = [ExtractorRun("hashes", 1), ExtractorRun("test.x", 2, "corrupt: no")]
    facts.artifacts = [ArtifactRecord("test.x", 2, "email", "a@b.org", offset=3, data={"k": [1]})]
    rec = FileRecord(Locator.root(3).child("fs", "/x.zip").child("zip", "a/b.txt"), "b.txt", "a/b.txt", 7,
                     FileTimes(modified=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)), deleted=True, inode="12",
                     parent_sha256="d" * 64, content=facts, error=ItemError(ErrorCode.CORRUPT, "x"), depth=1)
    top = TopEntry("fs", "/x.zip", "x.zip", 10, FileTimes(), prefix=(("partition", "1"),))
    for obj in (rec, top):
        back = pickle.loads(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))
        assert back == obj and type(back) is type(obj)


def test_the_vpdq_frame_size_in_core_matches_the_dtype() -> None:
    assert FRAME_DTYPE.itemsize == VPDQ_FRAME_BYTES
