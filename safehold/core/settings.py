"""Settings from the environment (``SAFEHOLD_*``) and command-line flags; no I/O at import."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Limits", "Settings", "VideoSettings", "WebSettings"]


class Limits(BaseModel):
    """Defences against hostile evidence. Exceeding one records an error on that item only."""

    max_depth: int = Field(8, description="archive nesting depth (0: do not open archives)")
    max_ratio: float = Field(200.0, description="uncompressed/compressed ratio of one member")
    max_member_bytes: int = Field(64 * 2**30, description="uncompressed size of one archive member")
    max_archive_total_bytes: int = Field(256 * 2**30, description="uncompressed total of one archive")
    max_members: int = Field(2_000_000, description="members listed from one archive")
    max_image_pixels: int = Field(200_000_000, description="decoded pixels of one image")
    max_image_bytes: int = Field(512 * 2**20, description="images larger than this are hashed, not decoded")
    spill_memory_bytes: int = Field(32 * 2**20, description="nested archives below this stay in memory")
    max_video_pixels: int = Field(8192 * 8192, description="pixels of one video frame (8K UHD is 33M)")
    max_video_errors: int = Field(50, description="damaged packets skipped in one video before decoding stops")


class VideoSettings(BaseModel):
    """How videos are fingerprinted and previewed."""

    seconds_per_hash: float = Field(1.0, gt=0, description="vPDQ samples one frame per this many seconds")
    exact: bool = Field(False, description="decode every frame at full size, as Meta's reference vpdq does")
    contact_frames: int = Field(16, ge=0, le=100, description="frames on a contact sheet (0: none)")
    decode_threads: int = Field(0, ge=0, le=64, description="decoders working on one video's GOPs at once "
                                                            "(fast mode; 0: one per usable CPU, at most 8)")


class WebSettings(BaseModel):
    """The review server (``safehold serve``)."""

    secure_cookies: bool = Field(True, description="Secure flag on cookies; off only for plain http on loopback")
    session_hours: float = Field(10.0, description="a sign-in lasts at most this long")
    idle_minutes: float = Field(30.0, description="a sign-in unused this long ends")
    login_max_failures: int = Field(5, description="failed sign-ins per user name and address in the window")
    login_window_seconds: int = Field(900, description="the window for counting failed sign-ins")
    login_max_failures_per_address: int = Field(
        20, description="failed sign-ins from one address, any user names, in the window (password spraying)")
    reveal_seconds: int = Field(30, description="how long one reveal shows an item unblurred")
    reveal_video_seconds: int = Field(180, description="how long one reveal of a video lasts (it plays muted)")
    cluster_radius: int = Field(31, description="PDQ distance within which items share a near-duplicate cluster")
    thumb_px: int = Field(256, description="longest side of gallery thumbnails")
    preview_px: int = Field(1024, description="longest side of item previews")
    page_size: int = Field(60, description="gallery items per page")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SAFEHOLD_", env_nested_delimiter="__")

    data_dir: Path = Field(default_factory=lambda: Path.cwd() / "safehold-data")
    database_url: str | None = None
    workers: int = Field(default_factory=lambda: os.cpu_count() or 1)
    # Small enough that modest evidence still spreads over every core; recorded per evidence item.
    batch_files: int = 128
    batch_bytes: int = 32 * 2**20
    # The writer groups worker results into one transaction per this many seconds or records:
    # a commit per chunk cost more than the inserts on small files. 0 commits every chunk.
    commit_seconds: float = 0.5
    commit_records: int = 4096
    limits: Limits = Field(default_factory=lambda: Limits())
    video: VideoSettings = Field(default_factory=lambda: VideoSettings())
    web: WebSettings = Field(default_factory=lambda: WebSettings())

    @property
    def db_url(self) -> str:
        """PostgreSQL (or any SQLAlchemy URL) when given; otherwise SQLite in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'safehold.db'}"

    @property
    def tmp_dir(self) -> Path:
        """Scratch space for spilled archive members: inside the data directory, never the evidence."""
        return self.data_dir / "tmp"

    @property
    def derived_dir(self) -> Path:
        """Files made from evidence (thumbnails, contact sheets): in the data directory, never beside the evidence."""
        return self.data_dir / "derived"
