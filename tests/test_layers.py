"""The data flow runs one way (docs/ARCHITECTURE.md): a module never imports a layer above its own.

Read from the source with ``ast`` (imports inside functions count too), so a lazy import that
climbs back up is caught as surely as a top-level one.
"""

from __future__ import annotations

import ast
from pathlib import Path

import safehold

ROOT = Path(safehold.__file__).parent

#: For each layer, the layers it must never import.
FORBIDDEN: dict[str, set[str]] = {
    "core": {"hashing", "sources", "ingest", "extract", "extractors", "store", "match", "link", "services",
             "web", "cli", "formats", "testing", "jobs"},
    "hashing": {"sources", "ingest", "extract", "extractors", "store", "match", "link", "services", "web", "cli",
                "formats", "testing", "jobs"},
    "sources": {"ingest", "extract", "extractors", "store", "match", "link", "services", "web", "cli", "formats",
                "testing", "jobs"},
    "extract": {"ingest", "store", "match", "link", "services", "web", "cli", "formats", "testing", "jobs"},
    "extractors": {"ingest", "store", "match", "link", "services", "web", "cli", "formats", "testing", "jobs"},
    "ingest": {"services", "web", "cli", "formats", "testing", "jobs"},
    "store": {"ingest", "extract", "extractors", "formats", "services", "web", "cli", "testing", "match", "link",
              "jobs"},
    "match": {"ingest", "services", "web", "cli", "formats", "testing", "jobs"},
    "formats": {"ingest", "store", "services", "web", "cli", "testing", "jobs"},
    "services": {"web", "cli", "testing"},
    "web": {"cli", "testing"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return {n.split(".")[1] for n in names if n.startswith("safehold.") and n.count(".") >= 1}


def test_no_layer_imports_a_layer_above_it() -> None:
    bad = []
    for layer, forbidden in FORBIDDEN.items():
        for path in sorted((ROOT / layer).rglob("*.py")):
            climbed = _imports(path) & forbidden
            if climbed:
                bad.append(f"{path.relative_to(ROOT.parent)} imports {sorted(climbed)}")
    assert not bad, "\n".join(bad)


def test_the_layer_table_covers_every_package() -> None:
    packages = {p.name for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert packages - set(FORBIDDEN) <= {"cli", "testing", "jobs", "link"}
