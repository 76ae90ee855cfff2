"""Settings from the environment (``SAFEHOLD_*``) and command-line flags; no I/O at import."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Limits", "Settings"]


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


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SAFEHOLD_", env_nested_delimiter="__")

    data_dir: Path = Field(default_factory=lambda: Path.cwd() / "safehold-data")
    database_url: str | None = None
    workers: int = Field(default_factory=lambda: os.cpu_count() or 1)
    # Small enough that modest evidence still spreads over every core; recorded per evidence item.
    batch_files: int = 128
    batch_bytes: int = 32 * 2**20
    limits: Limits = Field(default_factory=lambda: Limits())

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
