"""UK CAID "gold disk" exports: VICS 1.2-model JSON graded with the UK legal categories A, B, C.

Same layout as VICS, so the VICS reader does the work; only the category scheme differs, and it
must, because CAID's codes (letters, or numbers in some exports) mean nothing under VICS rules.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import ClassVar

from safehold.formats.hashsets.base import head_text
from safehold.formats.hashsets.vics import VicsReader

__all__ = ["CaidReader"]

_CONTEXT_RE = re.compile(r'"(?:@odata\.context|odata\.metadata)"\s*:\s*"([^"]*)"')


class CaidReader(VicsReader):
    """VICS JSON read with ``category_scheme="caid"``; the raw category (``A``/``1``...) is kept as text."""

    name: ClassVar[str] = "caid"
    scheme: ClassVar[str | None] = "caid"

    def sniff(self, head: bytes, path: Path) -> bool:
        """VICS JSON that names CAID in its file name or odata context; otherwise pick it by name."""
        if not super().sniff(head, path):
            return False
        context = _CONTEXT_RE.search(head_text(head[:4096]))
        return "caid" in path.name.lower() or bool(context and "caid" in context.group(1).lower())
