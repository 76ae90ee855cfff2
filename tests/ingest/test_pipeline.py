"""End-to-end ingest of the generated sample evidence, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from safehold.ingest.executor import InlineExecutor, LocalProcessExecutor
from safehold.services.authz import Authz
from safehold.services.cases import create_case
from safehold.services.context import ServiceContext
from safehold.services.evidence import add_evidence, list_evidence
from safehold.services.files import case_summary, iter_files
from safehold.services.ingest import run_ingest
from safehold.testing.corpus import CorpusManifest, build_demo_evidence


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> CorpusManifest:
    return build_demo_evidence(tmp_path_factory.mktemp("evidence") / "laptop")


def tree_fingerprint(root: Path) -> str:
    """Bytes, sizes and times of every file: proves ingest never writes to the evidence."""
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            p = Path(dirpath, name)
            st = p.lstat()
            h.update(f"{p.relative_to(root)}|{st.st_size}|{st.st_mtime_ns}|{st.st_mode}".encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def _chains(ctx: ServiceContext) -> dict[tuple[tuple[str, str], ...], dict]:  # type: ignore[type-arg]
    out = {}
    for f in iter_files(ctx, "c"):
        chain = tuple((s, v) for s, v in f["locator_chain"][1:])
        out[chain] = f
    return out


def test_ingest_finds_every_file_with_expected_hashes(ctx: ServiceContext, corpus: CorpusManifest) -> None:
    before = tree_fingerprint(corpus.root)
    create_case(ctx, "c")
    ev = add_evidence(ctx, "c", corpus.root, "laptop", seized_by="PC Amina", location="Lahore")
    result = run_ingest(ctx, Authz.local("test"), "c", executor=LocalProcessExecutor(ctx.settings, workers=2))
    assert tree_fingerprint(corpus.root) == before, "ingest wrote to the evidence"

    got = _chains(ctx)
    for exp in corpus.files:
        assert exp.chain in got, f"missing {exp.chain}"
        f = got[exp.chain]
        if exp.sha256 is not None and exp.error not in ("corrupt",):
            assert f["sha256"] == exp.sha256, exp.chain
        if exp.error:
            assert f["error"] and f["error"].startswith(exp.error), (exp.chain, f["error"])
    expected_chains = {e.chain for e in corpus.files}
    assert set(got) == expected_chains, set(got) ^ expected_chains

    # every error is counted and the run reports it
    summary = case_summary(ctx, "c")
    assert summary["errors"] == result.errors == sum(1 for f in got.values() if f["error"])
    assert summary["files"] == len(corpus.files)
    assert summary["errors_by_code"]["bomb"] == 1 and summary["errors_by_code"]["encrypted"] == 1

    # the content seen twice (original and its backup copy) is stored once
    orig = got[(("fs", "/DCIM/100CANON/IMG_0001.JPG"),)]
    copy = got[(("fs", "/Backup/copy_of_IMG_0001.JPG"),)]
    assert orig["sha256"] == copy["sha256"]
    assert summary["unique_contents"] < summary["files"]

    # images carry PDQ and EXIF; the nested 7z member is found three layers down
    assert orig["pdq"] and len(orig["pdq"]) == 64 and orig["pdq_quality"] >= 50
    assert orig["exif"]["make"] == "Canon" and orig["exif"]["body_serial"] == "032021001234"
    assert orig["md5"] == hashlib.md5((corpus.root / "DCIM/100CANON/IMG_0001.JPG").read_bytes()).hexdigest()
    deep = [c for c in got if c[-1] == ("7z", "deep/photo_deep.jpg")]
    assert len(deep) == 1 and got[deep[0]]["width"] == 800

    # custody trail: registered → seized details → ingest started → ingested
    actions = [c["action"] for c in list_evidence(ctx, "c")[0].custody]
    assert actions == ["seized", "registered", "ingest-started", "ingested"]
    assert ev.acquisition_method == "manifest-sha256" and len(ev.acquisition_hash) == 64


def test_rerun_of_finished_evidence_does_nothing(ctx: ServiceContext, corpus: CorpusManifest) -> None:
    create_case(ctx, "c")
    add_evidence(ctx, "c", corpus.root, "laptop")
    run_ingest(ctx, Authz.local("test"), "c", executor=InlineExecutor(ctx.settings))
    first = _chains(ctx)
    again = run_ingest(ctx, Authz.local("test"), "c", executor=InlineExecutor(ctx.settings))
    assert [r.skipped for r in again.runs] == [True]
    assert _chains(ctx) == first


def test_single_archive_as_evidence(ctx: ServiceContext, corpus: CorpusManifest) -> None:
    create_case(ctx, "c")
    ev = add_evidence(ctx, "c", corpus.root / "Downloads/holiday.zip", "USB stick image")
    assert ev.acquisition_method == "sha256"
    assert ev.acquisition_hash == hashlib.sha256((corpus.root / "Downloads/holiday.zip").read_bytes()).hexdigest()
    run_ingest(ctx, Authz.local("test"), "c", executor=InlineExecutor(ctx.settings))
    got = _chains(ctx)
    assert (("file", "/holiday.zip"), ("zip", "photos/more.tar.gz"), ("tar", "mid/inner.7z"),
            ("7z", "deep/photo_deep.jpg")) in got
    assert len(got) == 7
