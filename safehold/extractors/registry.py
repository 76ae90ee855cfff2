"""Which extractors exist: an explicit tuple of built-ins, then installed plugins.

Third-party packages add extractors through the entry-point group ``safehold.extractors``; each
entry point names an ``Extractor`` subclass::

    [project.entry-points."safehold.extractors"]
    emails = "my_package.emails:EmailExtractor"

Nothing is discovered by import side effects. A plugin that fails to load, breaks the contract
or reuses a name is left out and reported (``safehold extractors`` lists it with its problem),
never half-loaded: its name is its storage key, and two meanings for one key would corrupt the
ledger.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from safehold.extractors.base import Extractor, ExtractorError, Reads
from safehold.extractors.filetype import FileTypeExtractor
from safehold.extractors.hashes import HashesExtractor
from safehold.extractors.image import ImageExtractor
from safehold.extractors.video import VideoExtractor

__all__ = ["BUILTIN", "ENTRY_POINT_GROUP", "ExtractorInfo", "Registry", "installed", "load_registry"]

ENTRY_POINT_GROUP = "safehold.extractors"

#: Run in this order: the hashes and the type come first, since every later extractor's
#: ``accepts`` is decided on the type.
BUILTIN: tuple[type[Extractor], ...] = (HashesExtractor, FileTypeExtractor, ImageExtractor, VideoExtractor)

_PHASE = {Reads.HEAD: 0, Reads.STREAM: 1, Reads.CONTENT: 2}


@dataclass(frozen=True, slots=True)
class ExtractorInfo:
    """One line of ``safehold extractors``: a loaded extractor, or a plugin that could not be."""

    name: str
    version: int | None
    reads: str | None
    accepts: dict[str, Any] | None
    description: str
    origin: str  # "builtin" or "plugin: DIST VERSION (entry point)"
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class Registry:
    extractors: tuple[Extractor, ...]
    infos: tuple[ExtractorInfo, ...]

    def get(self, name: str) -> Extractor | None:
        return next((x for x in self.extractors if x.name == name), None)

    def select(self, names: Sequence[str]) -> tuple[Extractor, ...]:
        """The named extractors in run order; an unknown name is refused with the known ones."""
        unknown = sorted(set(names) - {x.name for x in self.extractors})
        if unknown:
            known = ", ".join(x.name for x in self.extractors)
            raise ExtractorError(f"no extractor named {', '.join(unknown)} (registered: {known})")
        return tuple(x for x in self.extractors if x.name in set(names)) if names else self.extractors


def _origin(ep: EntryPoint) -> str:
    dist = ep.dist
    where = f"{dist.name} {dist.version}" if dist is not None else "unknown package"
    return f"plugin: {where} ({ep.name} = {ep.value})"


def _load_plugin(ep: EntryPoint) -> type[Extractor]:
    try:
        cls = ep.load()
    except Exception as exc:  # a broken plugin is reported, never fatal
        raise ExtractorError(f"could not load: {type(exc).__name__}: {exc}") from None
    if not (isinstance(cls, type) and issubclass(cls, Extractor)):
        raise ExtractorError(f"{ep.value} is not an Extractor subclass")
    cls.check()
    return cls


def _info(cls: type[Extractor], origin: str) -> ExtractorInfo:
    return ExtractorInfo(cls.name, cls.version, cls.reads.value, cls.accepts.describe(), cls.description, origin)


def _plugins() -> Iterable[EntryPoint]:
    return sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: (ep.name, ep.value))


def load_registry(builtin: Sequence[type[Extractor]] = BUILTIN,
                  plugins: Iterable[EntryPoint] | None = None) -> Registry:
    """Built-ins, then every installed plugin that loads and keeps the contract."""
    classes: list[type[Extractor]] = []
    infos: list[ExtractorInfo] = []
    for cls in builtin:
        cls.check()
        classes.append(cls)
        infos.append(_info(cls, "builtin"))
    for ep in _plugins() if plugins is None else plugins:
        try:
            cls = _load_plugin(ep)
            if cls.name in {c.name for c in classes}:
                raise ExtractorError(f"name {cls.name!r} is already taken")
            if cls.reads is Reads.HEAD:
                raise ExtractorError("the type is the built-in filetype's to decide (reads = HEAD)")
            if cls.facts:
                raise ExtractorError("plugins emit artifacts; the content's columns belong to the built-ins")
            cls()  # the constructor takes no arguments: plugins get all they need through run()
        except Exception as exc:
            infos.append(ExtractorInfo(ep.name, None, None, None, "", _origin(ep), problem=str(exc)))
            continue
        classes.append(cls)
        infos.append(_info(cls, _origin(ep)))
    ordered = sorted(classes, key=lambda c: _PHASE[c.reads])  # stable: the order above within a phase
    return Registry(tuple(c() for c in ordered), tuple(infos))


@cache
def installed() -> Registry:
    """This process's registry, loaded once: scanning the installed packages' entry points reads
    every distribution's metadata (~1 ms each), too much to repeat for every batch of files."""
    return load_registry()
