"""Errors. Per-item problems are data (``ItemError``), not exceptions that end a run."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "AuthError",
    "ConfigError",
    "ErrorCode",
    "ForbiddenError",
    "ItemError",
    "ItemProblem",
    "NotFoundError",
    "SafeholdError",
    "TooManyAttemptsError",
]


class SafeholdError(Exception):
    """Base for errors that stop one command (bad arguments, missing case)."""


class NotFoundError(SafeholdError):
    """A case, evidence item or other record does not exist."""


class AuthError(SafeholdError):
    """Not signed in, or the credentials or session are not valid."""


class ForbiddenError(SafeholdError):
    """Signed in, but this user may not do this (role or case membership)."""


class TooManyAttemptsError(AuthError):
    """Sign-in refused for a while after repeated failures from one user and address."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ConfigError(SafeholdError):
    """Settings or environment are unusable."""


class ErrorCode(StrEnum):
    """Stable codes stored with each per-file error; the summary counts by code."""

    UNREADABLE = "unreadable"  # OS error reading the bytes
    EMPTY = "empty"  # zero-byte file
    CORRUPT = "corrupt"  # truncated or malformed content (image, archive)
    ENCRYPTED = "encrypted"  # password-protected archive or member
    BOMB = "bomb"  # decompression limits exceeded (ratio, total size, pixels)
    UNSAFE_PATH = "unsafe_path"  # traversal or absolute member name (recorded, never followed)
    DEPTH = "depth"  # nesting deeper than the configured limit
    SKIPPED = "skipped"  # devices, FIFOs, sockets, links out of the evidence root
    UNSUPPORTED = "unsupported"  # recognised but not handled format
    WORKER_CRASH = "worker_crash"  # the process handling this file died
    INTERNAL = "internal"  # a bug in Safehold; recorded so the run goes on


@dataclass(frozen=True, slots=True)
class ItemError:
    """A problem recorded against one file; the run goes on."""

    code: ErrorCode
    message: str

    def __str__(self) -> str:
        return f"{self.code.value}: {self.message}"


class ItemProblem(Exception):
    """Raised inside a plugin to record ``error`` on the current item and move on."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.error = ItemError(code, message)
