"""Locators: where one file instance lives, as a parent chain (like dfVFS path specs).

``evidence:7 / fs:/Users/a/x.zip / zip:photos/1.jpg`` reads: evidence item 7, file-system path
``/Users/a/x.zip`` in it, member ``photos/1.jpg`` of that zip. Every file Safehold records has
one, so a report can always say exactly where a file was. Segment values are kept verbatim
(names in archives can hold anything); ``key()`` is the exact, unambiguous form used for
uniqueness and ``str()`` the readable one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from safehold.core.pickling import compact_pickle

__all__ = ["Locator", "Segment"]


@compact_pickle
@dataclass(frozen=True, slots=True)
class Segment:
    """One step of a chain: ``scheme`` names the layer (evidence, fs, zip, tar, 7z, rar, …)."""

    scheme: str
    value: str

    def __str__(self) -> str:
        return f"{self.scheme}:{self.value}"


@compact_pickle
@dataclass(frozen=True, slots=True)
class Locator:
    segments: tuple[Segment, ...]

    @classmethod
    def root(cls, evidence_id: int) -> Locator:
        return cls((Segment("evidence", str(evidence_id)),))

    def child(self, scheme: str, value: str) -> Locator:
        return Locator((*self.segments, Segment(scheme, value)))

    @property
    def parent(self) -> Locator | None:
        return Locator(self.segments[:-1]) if len(self.segments) > 1 else None

    @property
    def leaf(self) -> Segment:
        return self.segments[-1]

    def key(self) -> str:
        """Exact serialisation (JSON list of [scheme, value]); parse back with ``from_key``."""
        return json.dumps([[s.scheme, s.value] for s in self.segments], ensure_ascii=False,
                          separators=(",", ":"))

    @classmethod
    def from_key(cls, key: str) -> Locator:
        raw = json.loads(key)
        if not isinstance(raw, list) or not raw:
            raise ValueError(f"not a locator key: {key!r}")
        return cls(tuple(Segment(str(s), str(v)) for s, v in raw))

    def __str__(self) -> str:
        return " / ".join(str(s) for s in self.segments)
