"""Known-video matching end to end on benign generated videos: listed videos (vPDQ list and VICS
with frame hashes), a listed image seen as a still, links between videos across cases, triage,
and the vPDQ export/import round trip. Segment times are checked against how variants were cut.
SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from safehold.core.settings import Limits, VideoSettings
from safehold.extract.video import analyse_video
from safehold.hashing.pdq import pdq_from_image
from safehold.hashing.vpdq import format_reference_lines
from safehold.ingest.executor import InlineExecutor
from safehold.services.authz import Authz
from safehold.services.cases import create_case
from safehold.services.context import ServiceContext
from safehold.services.evidence import add_evidence
from safehold.services.exports import export_vics, export_vpdq
from safehold.services.files import iter_files
from safehold.services.hashsets import import_hashset
from safehold.services.ingest import run_ingest
from safehold.services.matching import match_case
from safehold.services.triage import triage_case
from safehold.testing.videos import Edit, concatenate, edit_video, make_video, scene_frames

SECONDS = 20


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("clips")
    known = make_video(d / "known.mp4", SECONDS, seed=11)
    other = make_video(d / "other.mp4", SECONDS, seed=12)
    seized = d / "seized"
    seized.mkdir()
    edit_video(known, seized / "trimmed.mp4", Edit(start=6.5, end=14.5))
    edit_video(known, seized / "reencoded_small.mkv", Edit(size=(224, 168), fps=15, crf=32))
    edit_video(known, seized / "cropped_watermarked.mp4", Edit(crop=0.01, watermark=True))
    concatenate(seized / "compilation.mp4", [(other, 0, 5), (known, 12, 18)])
    make_video(seized / "unrelated.mp4", 12, seed=13)
    second = d / "second"
    second.mkdir()
    edit_video(known, second / "copy.mov", Edit(start=2.0, end=10.0))
    return {"known": known, "other": other, "seized": seized, "second": second, "dir": d}


def _ingest(ctx: ServiceContext, case: str, root: Path) -> None:
    create_case(ctx, case)
    add_evidence(ctx, case, root, "phone")
    run_ingest(ctx, Authz.local("test"), case, executor=InlineExecutor(ctx.settings))


def _by_name(triage: dict, cls: str) -> dict[str, dict]:  # type: ignore[type-arg]
    return {loc["locator"].rsplit("/", 1)[-1]: it for it in triage["items"][cls] for loc in it["locators"]}


def test_known_video_matching_down_to_the_segment(ctx: ServiceContext, clips: dict[str, Path], tmp_path: Path) -> None:
    exact = analyse_video(clips["known"], Limits(), VideoSettings(exact=True)).frames
    listed = tmp_path / "known.vpdq.txt"
    listed.write_text(format_reference_lines(exact))  # the reference tool's output for the known video
    report = import_hashset(ctx, listed, "Known videos", "known-abuse")
    assert report.format == "vpdq" and report.entries == 1 and report.bad_rows == 0

    _ingest(ctx, "op", clips["seized"])
    files = {f["name"]: f for f in iter_files(ctx, "op", media_type="video")}
    assert files["trimmed.mp4"]["video"]["duration"] == pytest.approx(8.0, abs=0.3)
    assert files["trimmed.mp4"]["video"]["contact_sheet"].startswith("contact/")
    m = match_case(ctx, "op")
    assert m.videos == 5 and m.video_matches == 4

    near = _by_name(triage_case(ctx, "op"), "near_known")
    assert set(near) == {"trimmed.mp4", "reencoded_small.mkv", "cropped_watermarked.mp4", "compilation.mp4"}
    assert "unrelated.mp4" in _by_name(triage_case(ctx, "op"), "unknown")

    def detail(name: str) -> dict:  # type: ignore[type-arg]
        return next(x["detail"] for x in near[name]["matches"] if x["method"] == "vpdq")

    trimmed = detail("trimmed.mp4")
    assert trimmed["query_share"] >= 80 and 25 <= trimmed["target_share"] <= 55
    (seg,) = trimmed["segments"]
    assert seg["query_start"] <= 1.0 and seg["query_end"] >= 6.0  # 0:00-0:08 of the copy ...
    assert 5.5 <= seg["target_start"] <= 7.5 and 12.5 <= seg["target_end"] <= 14.5  # ... is 0:06.5-0:14.5
    assert detail("reencoded_small.mkv")["query_share"] >= 80
    assert detail("cropped_watermarked.mp4")["query_share"] >= 60
    (clip,) = detail("compilation.mp4")["segments"]  # the other video's 5 s are not part of it
    assert 4.5 <= clip["query_start"] <= 6.5 and 10.0 <= clip["query_end"] <= 11.5
    assert 11.0 <= clip["target_start"] <= 13.0 and 16.0 <= clip["target_end"] <= 18.0


def test_vics_frame_hashes_listed_stills_and_links_across_cases(ctx: ServiceContext, clips: dict[str, Path],
                                                                tmp_path: Path) -> None:
    _ingest(ctx, "op", clips["seized"])
    _ingest(ctx, "op2", clips["second"])
    vics = tmp_path / "cases.json"
    export_vics(ctx, "op2", vics)  # the second case's video, with its vPDQ, as a VICS case file
    media = json.loads(vics.read_text())["value"][0]["Media"]
    assert any(a["HashName"] == "vPDQ" for a in media[0]["AlternativeHashes"])
    for a in media[0]["AlternativeHashes"]:  # keep only the fingerprint: a near copy, not an exact one
        if a["HashName"] == "vPDQ":
            media[0] = {"MediaID": 1, "Category": 1, "AlternativeHashes": [a]}
    vics.write_text(json.dumps({"@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml"
                                "/US/$metadata#Media", "value": media}))
    assert import_hashset(ctx, vics, "VIC", "known-abuse").entries == 1
    # A still of a known image series: frame 4 s of the known video, listed as an image PDQ.
    still = next(f for i, f in enumerate(scene_frames(SECONDS, seed=11)) if i == 40)
    from PIL import Image

    pdq = pdq_from_image(Image.fromarray(np.asarray(still))).hash_hex
    (tmp_path / "stills.pdq.txt").write_text(f"{pdq},100,still.jpg\n")
    import_hashset(ctx, tmp_path / "stills.pdq.txt", "Stills", "known-abuse", fmt="pdq")

    m = match_case(ctx, "op")
    assert m.video_links >= 3 and m.video_frame_matches >= 1
    near = _by_name(triage_case(ctx, "op"), "near_known")
    assert "trimmed.mp4" in near and "unrelated.mp4" not in near
    # The listed video is 0:02-0:10 of the known one: the trimmed copy (0:06.5-0:14.5) overlaps it;
    # the listed still (0:04) is not in the trimmed copy but is in the full-length re-encode.
    assert {x["method"] for x in near["trimmed.mp4"]["matches"]} == {"vpdq"}
    frame_hit = next(x for x in near["reencoded_small.mkv"]["matches"] if x["method"] == "vpdq-frame")
    assert any(3.0 <= t <= 5.0 for t in frame_hit["detail"]["times"])
    links = near["trimmed.mp4"]["related_videos"]
    assert len(links) >= 2 and all(link["segments"] for link in links)
    assert "unrelated.mp4" in _by_name(triage_case(ctx, "op"), "unknown")


def test_vpdq_export_imports_back(ctx: ServiceContext, clips: dict[str, Path], tmp_path: Path) -> None:
    _ingest(ctx, "op2", clips["second"])
    out = tmp_path / "op2.vpdq.txt"
    assert export_vpdq(ctx, "op2", out) == 1
    assert out.read_text().startswith("# video copy.mov sha256=")
    report = import_hashset(ctx, out, "Exported", "watch")
    assert report.format == "vpdq" and report.entries == 1
    match_case(ctx, "op2")
    items = triage_case(ctx, "op2")["items"]["watch"]
    assert {m["method"] for m in items[0]["matches"]} >= {"sha256", "vpdq"}
