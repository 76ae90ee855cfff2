"""Re-analysis of evidence ingested earlier: new and newer extractors only, through locator chains
(members of an archive inside a disk image included), nothing when nothing is new; SQLite and
PostgreSQL."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import ClassVar

from sqlalchemy import select

from safehold.extractors.base import Accepts, ContentView, Extractor, Sink
from safehold.extractors.registry import BUILTIN, Registry, load_registry
from safehold.ingest.executor import InlineExecutor
from safehold.services.analyse import run_analyse
from safehold.services.artifacts import list_artifacts
from safehold.services.audit import list_audit
from safehold.services.authz import Authz
from safehold.services.cases import create_case
from safehold.services.context import ServiceContext
from safehold.services.evidence import add_evidence
from safehold.services.ingest import run_ingest
from safehold.store.artifact_models import Artifact, ExtractorLedger
from tests.sources.disk.build import Layout, fat_image

OPERATOR = Authz.local("test:officer")


class Tokens(Extractor):
    """Tokens with an @ in text files."""

    name: ClassVar[str] = "test.tokens"
    version: ClassVar[int] = 1
    accepts: ClassVar[Accepts] = Accepts(mimes=("text/",))

    def run(self, view: ContentView, sink: Sink) -> None:
        data = view.read()
        for token in data.split():
            if b"@" in token:
                sink.artifact("token", token.decode(), offset=data.index(token))


class TokensV2(Tokens):
    version: ClassVar[int] = 2

    def run(self, view: ContentView, sink: Sink) -> None:
        for n, line in enumerate(view.read().splitlines(), 1):
            if b"@" in line:
                sink.artifact("token-line", line.decode(), where=f"line {n}")


def _registry(*extra: type[Extractor]) -> Registry:
    return load_registry(builtin=(*BUILTIN, *extra), plugins=[])


def _zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


def _case(ctx: ServiceContext, tmp_path: Path) -> int:
    inner = _zip({"notes/a.txt": b"write to amina@example.org today\n", "notes/b.txt": b"nothing here\n"})
    layout = Layout({"docs/contacts.txt": b"bilal@example.net\nsaima@example.com\n",
                     "docs/archive.zip": inner, "docs/empty.txt": b""})
    image = fat_image(tmp_path / "disk.img", layout)
    case = create_case(ctx, OPERATOR, "analyse")
    add_evidence(ctx, OPERATOR, case.id, image, "Exhibit D: FAT image")
    run_ingest(ctx, OPERATOR, case.id, executor=InlineExecutor(ctx.settings))
    return case.id


def test_a_new_extractor_reaches_old_evidence_inside_an_archive_inside_a_disk_image(
        ctx: ServiceContext, tmp_path: Path) -> None:
    case_id = _case(ctx, tmp_path)
    operator = OPERATOR
    report = run_analyse(ctx, operator, case_id, workers=1, registry=_registry(Tokens))
    assert report.planned == 3 and report.analysed == 3 and report.unreachable == 0  # the built-ins were current
    assert report.by_extractor == {"test.tokens": 3}
    found = {(a.value, a.offset, a.locators[0]) for a in list_artifacts(ctx, operator, case_id)}
    assert found == {
        ("amina@example.org", 9, "evidence:1 / fat:/docs/archive.zip / zip:notes/a.txt"),
        ("bilal@example.net", 0, "evidence:1 / fat:/docs/contacts.txt"),
        ("saima@example.com", 18, "evidence:1 / fat:/docs/contacts.txt"),
    }
    again = run_analyse(ctx, operator, case_id, workers=1, registry=_registry(Tokens))
    assert again.planned == 0 and again.analysed == 0  # nothing new: nothing read
    actions = [e["action"] for e in list_audit(ctx, operator, case_id=case_id).events]
    assert actions.count("analyse-start") == 2 and actions.count("analyse-finish") == 2  # the no-op run too


def test_a_newer_version_supersedes_the_older_ones_findings(ctx: ServiceContext, tmp_path: Path) -> None:
    case_id = _case(ctx, tmp_path)
    operator = OPERATOR
    run_analyse(ctx, operator, case_id, workers=1, registry=_registry(Tokens))
    report = run_analyse(ctx, operator, case_id, ["test.tokens"], workers=1, registry=_registry(TokensV2))
    assert report.analysed == 3 and report.extractors == ["test.tokens"]
    with ctx.db.session() as s:
        rows = s.execute(select(Artifact.kind, Artifact.version, Artifact.value, Artifact.place)).all()
        versions = set(s.scalars(select(ExtractorLedger.version).where(ExtractorLedger.extractor == "test.tokens")))
    assert versions == {2}
    assert {(k, v, p) for k, v, _, p in rows} == {("token-line", 2, "line 1"), ("token-line", 2, "line 2")}
    listed = list(list_artifacts(ctx, operator, case_id, kind="token-line"))
    assert {a.where for a in listed} == {"line 1", "line 2"} and all(a.offset is None for a in listed)


def test_contents_that_moved_away_are_reported_and_tried_again(ctx: ServiceContext, tmp_path: Path) -> None:
    case_id = _case(ctx, tmp_path)
    (tmp_path / "disk.img").rename(tmp_path / "moved.img")
    operator = OPERATOR
    report = run_analyse(ctx, operator, case_id, workers=1, registry=_registry(Tokens))
    assert report.analysed == 0 and report.unreachable == 3 and report.problems
    (tmp_path / "moved.img").rename(tmp_path / "disk.img")
    assert run_analyse(ctx, operator, case_id, workers=1, registry=_registry(Tokens)).analysed == 3


def test_a_reviewer_may_not_run_analyse(ctx: ServiceContext, tmp_path: Path) -> None:
    import pytest

    from safehold.core.errors import ForbiddenError
    from safehold.services.authz import Role

    case_id = _case(ctx, tmp_path)
    reviewer = Authz(7, "rita", Role.REVIEWER, frozenset({case_id}))
    with pytest.raises(ForbiddenError):
        run_analyse(ctx, reviewer, case_id, workers=1, registry=_registry(Tokens))


class Hostile(Extractor):
    """What a careless plugin does with binary evidence: NULs, undecodable bytes, bad detail."""

    name: ClassVar[str] = "test.hostile"
    version: ClassVar[int] = 1
    accepts: ClassVar[Accepts] = Accepts(mimes=("text/",))

    def run(self, view: ContentView, sink: Sink) -> None:
        raw = view.read()
        sink.artifact("raw", raw.decode("utf-8", "surrogateescape") + "\x00\udcff", offset=0,
                      where="line\x001", data={"bytes\x00": ["\udcfe", 1, None]})
        if b"@" in raw:
            sink.artifact("bad", "x", data={"a set": {1}})  # not JSON: this extractor's error, not the batch's


def test_hostile_text_from_an_extractor_is_stored_escaped_and_bad_detail_is_its_error(
        ctx: ServiceContext, tmp_path: Path) -> None:
    case_id = _case(ctx, tmp_path)
    report = run_analyse(ctx, OPERATOR, case_id, workers=1, registry=_registry(Hostile))
    assert report.analysed == 3 and report.errors == 2 and report.unreachable == 0  # two hold an "@"
    raw = [a for a in list_artifacts(ctx, OPERATOR, case_id) if a.kind == "raw"]
    assert len(raw) == 3
    assert all(a.value.endswith("\\x00\\xff") and a.where == "line\\x001" for a in raw)
    assert all(a.data == {"bytes\\x00": ["\\xfe", 1, None]} for a in raw)
    with ctx.db.session() as s:
        errors = set(s.scalars(select(ExtractorLedger.error).where(ExtractorLedger.extractor == "test.hostile")))
    failed = errors - {None}
    assert len(failed) == 1 and "not plain JSON" in (failed.pop() or "")
