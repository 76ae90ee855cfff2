"""A whole extractor in one module: e-mail addresses in text files, each with its byte offset.

Installed as its own package, it reaches Safehold through the ``safehold.extractors`` entry point
in its pyproject.toml; ``safehold analyse CASE`` then runs it over evidence ingested before it was
installed. (The real identifier extractor is Safehold's own; this one exists to show the contract.)
"""

from __future__ import annotations

import re
from typing import ClassVar

from safehold.extractors.base import Accepts, ContentView, Extractor, Sink

_EMAIL = re.compile(rb"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")


class EmailExtractor(Extractor):
    name: ClassVar[str] = "example.emails"
    version: ClassVar[int] = 1
    accepts: ClassVar[Accepts] = Accepts(mimes=("text/", "message/"), max_size=16 * 2**20)  # message/: mail
    description: ClassVar[str] = "e-mail addresses in text, with their byte offsets"

    def run(self, view: ContentView, sink: Sink) -> None:
        for m in _EMAIL.finditer(view.read()):
            sink.artifact("email", m.group().decode("ascii").lower(), offset=m.start())
