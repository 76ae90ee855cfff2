"""The extractor contract: what a class must declare, what the host gives it and refuses, and that
the built-ins produce through it what ingest always produced."""

from __future__ import annotations

import hashlib
import io
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import ClassVar

import pytest

from safehold.core.errors import ErrorCode, ItemProblem
from safehold.core.settings import Limits, VideoSettings
from safehold.extractors.base import Accepts, ContentView, Extractor, ExtractorError, Reads, Sink
from safehold.extractors.hashes import HashesExtractor
from safehold.extractors.host import ContentRun, HostEnv, Known
from safehold.extractors.registry import BUILTIN, load_registry
from safehold.testing.images import encode, synthetic_photo


class Words(Extractor):
    """Counts words in text: one artifact per word, at its byte offset."""

    name: ClassVar[str] = "test.words"
    version: ClassVar[int] = 1
    accepts: ClassVar[Accepts] = Accepts(mimes=("text/",))

    def run(self, view: ContentView, sink: Sink) -> None:
        data = view.read()
        pos = 0
        for word in data.split():
            pos = data.index(word, pos)
            sink.artifact("word", word.decode(), offset=pos)
            pos += len(word)


class Broken(Extractor):
    name: ClassVar[str] = "test.broken"
    version: ClassVar[int] = 3

    def run(self, view: ContentView, sink: Sink) -> None:
        raise ValueError("decoder fell over")


class Greedy(Extractor):
    name: ClassVar[str] = "test.greedy"
    version: ClassVar[int] = 1

    def run(self, view: ContentView, sink: Sink) -> None:
        sink.facts(pdq="0" * 64)  # a plugin may not write the built-ins' columns


def _env(tmp_path: Path) -> HostEnv:
    return HostEnv(Limits(), VideoSettings(), tmp_path, None)


def _run(extractors: list[Extractor], data: bytes, tmp_path: Path, local: Path | None = None) -> ContentRun:
    run = ContentRun([*load_registry(plugins=[]).select(("hashes", "filetype")), *extractors], _env(tmp_path),
                     "x", len(data), local)
    f = io.BytesIO(data)
    run.begin(f.read(65536))
    while chunk := f.read(1 << 20):
        run.feed(chunk)
    run.finish()
    return run


@pytest.mark.parametrize("attrs, problem", [
    ({"name": "Bad Name", "version": 1}, "name"),
    ({"name": "ok", "version": 0}, "version"),
    ({"name": "ok", "version": "1"}, "version"),
    ({"name": "ok", "version": 1, "accepts": ("image",)}, "accepts"),
    ({"name": "ok", "version": 1, "reads": Reads.STREAM}, "StreamExtractor"),
])
def test_a_class_that_breaks_the_contract_is_refused(attrs: dict[str, object], problem: str) -> None:
    cls = type("X", (Words,), attrs)
    with pytest.raises(ExtractorError, match=problem):
        cls.check()


def test_accepts_kinds_mimes_and_size() -> None:
    a = Accepts(kinds=frozenset({"other"}), mimes=("text/",), max_size=10)
    assert a.matches("text/plain", "other", 5)
    assert not a.matches("text/plain", "other", 11)
    assert not a.matches("image/png", "other", 5)
    assert not a.matches("text/plain", "image", 5)
    assert Accepts().matches(None, None, None)
    with pytest.raises(ExtractorError):
        Accepts(kinds=frozenset({"pictures"}))


def test_artifacts_carry_provenance_and_offsets(tmp_path: Path) -> None:
    data = b"alpha beta\n  gamma"
    out = _run([Words()], data, tmp_path).out
    assert [(a.value, a.offset) for a in out.artifacts] == [("alpha", 0), ("beta", 6), ("gamma", 13)]
    assert {(a.extractor, a.version, a.kind) for a in out.artifacts} == {("test.words", 1, "word")}
    assert out.facts["sha256"] == hashlib.sha256(data).hexdigest() and out.facts["mime"] == "text/plain"
    assert [r.extractor for r in out.runs] == ["filetype", "hashes", "test.words"]


def test_a_failing_extractor_is_the_contents_error_and_the_others_still_run(tmp_path: Path) -> None:
    out = _run([Broken(), Words(), Greedy()], b"one two", tmp_path).out
    runs = {r.extractor: r for r in out.runs}
    assert runs["test.broken"].version == 3 and "decoder fell over" in (runs["test.broken"].error or "")
    assert "may not set ['pdq']" in (runs["test.greedy"].error or "")
    assert runs["test.words"].error is None and len(out.artifacts) == 2
    assert out.error is not None and out.error.code == ErrorCode.CORRUPT
    assert "pdq" not in out.facts


def test_the_stream_extractor_outside_ingest_equals_its_one_read(tmp_path: Path) -> None:
    data = bytes(range(256)) * 9000
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    ingest = _run([], data, tmp_path).out.facts
    again: dict[str, object] = {}

    class _Sink:
        derived_dir = None

        def facts(self, **values: object) -> None:
            again.update(values)

    HashesExtractor().run(_ViewOver(path), _Sink())  # type: ignore[arg-type]
    assert {k: again[k] for k in ("sha256", "md5", "sha1", "size")} == {
        k: ingest[k] for k in ("sha256", "md5", "sha1", "size")}


class _ViewOver:
    def __init__(self, path: Path) -> None:
        self.path = path

    def open(self) -> io.BufferedReader:
        return self.path.open("rb")


def test_images_keep_their_bytes_in_memory_and_get_pdq(tmp_path: Path) -> None:
    data = encode(synthetic_photo(3), "JPEG")
    run = _run(load_registry(plugins=[]).select(("image",)), data, tmp_path)
    assert run.out.facts["media_kind"] == "image" and run.out.facts["pdq"] and run.out.facts["width"] == 640
    assert run.keep is not None and run.keep.path is None  # kept in memory, never spilled


def test_analyse_mode_refuses_bytes_that_are_not_the_stored_content(tmp_path: Path) -> None:
    run = ContentRun([Words()], _env(tmp_path), "x", 3, known=Known("0" * 64, "text/plain", "other", 3))
    run.begin(b"abc")
    with pytest.raises(ItemProblem, match="evidence changed"):
        run.finish()


def test_registry_reports_broken_and_clashing_plugins_and_keeps_the_rest() -> None:
    group = "safehold.extractors"
    plugins = [
        EntryPoint("words", f"{__name__}:Words", group),
        EntryPoint("missing", "no_such_module_here:X", group),
        EntryPoint("notone", f"{__name__}:_ViewOver", group),
        EntryPoint("clash", "safehold.extractors.image:ImageExtractor", group),
    ]
    reg = load_registry(plugins=plugins)
    assert [x.name for x in reg.extractors] == ["filetype", "hashes", "image", "video", "test.words"]
    problems = {i.name: i.problem for i in reg.infos if i.problem}
    assert set(problems) == {"missing", "notone", "clash"}
    assert "already taken" in (problems["clash"] or "")
    with pytest.raises(ExtractorError, match="no extractor named nope"):
        reg.select(["nope"])


def test_builtins_declare_the_columns_they_fill() -> None:
    owned = [c.facts for c in BUILTIN]
    assert all(owned) and sum(len(f) for f in owned) >= len(set().union(*owned))
