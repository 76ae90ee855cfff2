"""The command line end to end on the sample evidence (the services are tested on both DBs)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from safehold.cli.app import app
from safehold.testing.corpus import CorpusManifest, build_demo_evidence


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> CorpusManifest:
    return build_demo_evidence(tmp_path_factory.mktemp("ev") / "laptop")


def run(data: Path, *args: str, code: int = 0) -> str:
    res = CliRunner().invoke(app, ["--data-dir", str(data), *args], catch_exceptions=False)
    assert res.exit_code == code, res.output
    return res.output


def test_case_evidence_ingest_files_summary(tmp_path: Path, corpus: CorpusManifest) -> None:
    data = tmp_path / "data"
    case = json.loads(run(data, "case", "new", "FIR 12/2026", "--json"))
    assert case["name"] == "FIR 12/2026" and case["id"] == 1
    assert run(data, "case", "new", "FIR 13/2026").strip() == "2"
    run(data, "case", "new", "FIR 12/2026", code=1)  # duplicate name: one clear line, exit 1

    ev = json.loads(run(data, "evidence", "add", "1", str(corpus.root), "--label", "Exhibit A",
                        "--seized-by", "SI Amina", "--seized-at", "2026-06-01T09:00:00",
                        "--location", "Lahore", "--json"))
    assert ev["acquisition_method"] == "manifest-sha256" and [c["action"] for c in ev["custody"]] == [
        "seized", "registered"]

    out = run(data, "ingest", "FIR 12/2026", "--executor", "inline", "--quiet", code=3)  # damaged files
    assert "with errors" in out

    lines = [json.loads(x) for x in run(data, "files", "1", "--json").splitlines()]
    assert len(lines) == len(corpus.files)
    keys = {"locator", "path", "size", "md5", "sha1", "sha256", "mime", "pdq", "pdq_quality", "exif", "error"}
    assert keys <= set(lines[0])
    img = next(x for x in lines if x["locator"].endswith("/DCIM/100CANON/IMG_0001.JPG"))
    raw = (corpus.root / "DCIM/100CANON/IMG_0001.JPG").read_bytes()
    assert img["sha1"] == hashlib.sha1(raw).hexdigest() and img["mime"] == "image/jpeg"

    errors = [json.loads(x) for x in run(data, "files", "1", "--errors", "--json").splitlines()]
    assert errors and all(e["error"] for e in errors)
    images = [json.loads(x) for x in run(data, "files", "1", "--type", "image", "--json").splitlines()]
    assert images and all(x["mime"].startswith("image/") for x in images)

    summary = json.loads(run(data, "summary", "1", "--json"))
    assert summary["files"] == len(corpus.files) and summary["errors"] == len(errors)
    assert "errors" in run(data, "summary", "FIR 12/2026")

    out = run(data, "ingest", "1", "--quiet", code=3)
    assert "already ingested, nothing to do" in out
    listing = run(data, "evidence", "list", "1")
    assert "ingested" in listing and "ingest-started" in listing


def test_hashset_match_triage_export(tmp_path: Path, corpus: CorpusManifest) -> None:
    data = tmp_path / "data"
    run(data, "case", "new", "op")
    run(data, "evidence", "add", "op", str(corpus.root), "--label", "A")
    run(data, "ingest", "op", "--executor", "inline", "--quiet", code=3)
    known = hashlib.md5((corpus.root / "DCIM/100CANON/IMG_0003.JPG").read_bytes()).hexdigest()
    lst = tmp_path / "known.md5"
    lst.write_text(f"{known}  IMG_0003.JPG\n{'0' * 31}1  other.jpg\n")
    out = run(data, "hashset", "import", str(lst), "--name", "unit list", "--kind", "known-abuse",
              "--source", "test", "--version", "2026-11")
    assert "imported set 1" in out and "1 new exact matches" in out
    assert "unit list" in run(data, "hashset", "list")
    shown = json.loads(run(data, "hashset", "show", "unit list", "--json"))
    assert shown["version"] == "2026-11" and shown["history"][0]["entries"] == 2

    t = json.loads(run(data, "triage", "op", "--json"))
    assert t["counts"]["known"] == 1 and t["counts"]["unknown"] > 5
    assert t["items"]["known"][0]["locators"][0]["locator"].endswith("IMG_0003.JPG")
    assert "unknown images/videos (NEW)" in run(data, "triage", "op")
    assert "0 new exact matches" in run(data, "match", "op")
    run(data, "match", code=2)

    out_file = tmp_path / "case.json"
    run(data, "export", "vics", "op", "-o", str(out_file))
    assert json.loads(out_file.read_text())["value"][0]["SourceApplicationName"] == "Safehold"
    assert "removed set 1" in run(data, "hashset", "remove", "1")


def test_console_script_main_is_not_re_run_by_workers(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """multiprocessing re-runs a main *script* in each worker; a '.__main__' spec is skipped."""
    import sys
    import types
    from multiprocessing import spawn

    from safehold.cli.entry import _main_is_a_module

    script = types.ModuleType("__main__")
    script.__file__ = "/usr/local/bin/safehold"
    script.__spec__ = None
    monkeypatch.setitem(sys.modules, "__main__", script)
    assert "init_main_from_path" in spawn.get_preparation_data("w")
    _main_is_a_module()
    data = spawn.get_preparation_data("w")
    assert "init_main_from_path" not in data
    assert data["init_main_from_name"] == "safehold.cli.__main__"


def test_an_unexpected_failure_prints_one_line_and_keeps_the_traceback_in_the_data_dir(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import safehold.cli.cases as cases_cli

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the store said something unexpected")

    monkeypatch.setattr(cases_cli, "list_cases", broken)
    res = CliRunner().invoke(app, ["--data-dir", str(tmp_path / "data"), "case", "list"], catch_exceptions=False)
    assert res.exit_code == 70
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "RuntimeError: the store said something unexpected" in lines[0]
    assert "Traceback" not in res.output
    reports = list((tmp_path / "data" / "logs").glob("error-*.log"))
    assert len(reports) == 1 and "Traceback" in reports[0].read_text() and str(reports[0]) in lines[0]
