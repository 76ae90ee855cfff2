"""Helpers shared by the container readers: member-name checks and openers that refuse.

Member names come from hostile archives. They are kept verbatim for the locator (a report must
say exactly what the archive claimed) and are never used to touch the disk, but names that would
escape an extraction folder are flagged so investigators see the attempt.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import BinaryIO

from safehold.core.errors import ErrorCode, ItemError, ItemProblem

__all__ = ["clean_name", "empty_opener", "member_error", "refusing"]

_DRIVE = re.compile(r"^[A-Za-z]:")


def clean_name(name: str) -> str:
    """Make a decoded name storable: undecodable bytes (surrogate escapes) become ``\\xNN``."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return name


def member_error(name: str) -> ItemError | None:
    """UNSAFE_PATH for names that are absolute, climb with '..', or hide a NUL byte."""
    if "\x00" in name:
        return ItemError(ErrorCode.UNSAFE_PATH, f"member name contains a NUL byte: {name!r}")
    if name.startswith(("/", "\\")) or _DRIVE.match(name):
        return ItemError(ErrorCode.UNSAFE_PATH, f"absolute member name: {name!r}")
    if ".." in re.split(r"[/\\]", name):
        return ItemError(ErrorCode.UNSAFE_PATH, f"member name climbs out with '..': {name!r}")
    return None


def refusing(error: ItemError) -> Callable[[], BinaryIO]:
    """An opener for members with nothing readable (encrypted, skipped links, bombs)."""

    def _open() -> BinaryIO:
        raise ItemProblem(error.code, error.message)

    return _open


def empty_opener() -> BinaryIO:
    return io.BytesIO(b"")
