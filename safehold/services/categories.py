"""Category schemes a case can review in. Decisions are stored as scheme + code, as hash-set
entries are, because the same number means different things in different schemes.

The default is the VICS 2.0 US scheme (see FORMATS.md), whose codes the VICS export writes.
The older VICS 1.x scheme and the UK's CAID grades are offered for units that work in them;
their decisions are kept but not written into a VICS 2.0 US ``Category`` field.
"""

from __future__ import annotations

from dataclasses import dataclass

from safehold.core.errors import SafeholdError
from safehold.formats.exports.vics import VICS_US_SCHEME

__all__ = ["DEFAULT_SCHEME", "SCHEMES", "Category", "label", "scheme"]


@dataclass(frozen=True, slots=True)
class Category:
    code: str  # also the digit key that chooses it in the gallery
    name: str


SCHEMES: dict[str, tuple[Category, ...]] = {
    VICS_US_SCHEME: (
        Category("0", "Non-pertinent"),
        Category("1", "Child abuse material"),
        Category("2", "Child exploitive / age difficult"),
        Category("3", "CGI / animation"),
        Category("4", "Comparison image"),
    ),
    "vics-1.x": (
        Category("0", "Uncategorised"),
        Category("1", "Category 1"),
        Category("2", "Category 2"),
        Category("3", "Category 3"),
        Category("4", "Category 4"),
        Category("5", "Non-pertinent"),
    ),
    "caid-uk": (
        Category("1", "Category A"),
        Category("2", "Category B"),
        Category("3", "Category C"),
        Category("0", "Not indecent"),
    ),
}
DEFAULT_SCHEME = VICS_US_SCHEME


def scheme(name: str) -> tuple[Category, ...]:
    try:
        return SCHEMES[name]
    except KeyError:
        raise SafeholdError(f"unknown category scheme {name!r}; choose from {', '.join(SCHEMES)}") from None


def label(scheme_name: str | None, code: str | None) -> str:
    """A readable name for a stored decision or hash-set category."""
    if code is None:
        return "uncategorised"
    for c in SCHEMES.get(scheme_name or "", ()):
        if c.code == code:
            return f"{code} {c.name}"
    return f"{scheme_name or '?'}:{code}"
