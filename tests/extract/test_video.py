"""Video facts and vPDQ on benign generated videos: facts, fast against exact mode, the
reference text format, contact sheets, and hostile files that must become recorded errors."""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from safehold.core.errors import ErrorCode, ItemProblem
from safehold.core.locator import Locator
from safehold.core.settings import Limits, VideoSettings
from safehold.extract import video as video_module
from safehold.extract._video_plan import make_plan, split
from safehold.extract.contact_sheet import contact_sheet_path
from safehold.extract.video import VideoFacts, _opener, _probe, analyse_video
from safehold.hashing.pdq import pdq_distance
from safehold.hashing.vpdq import format_reference_lines, frames_from_packed, pack_frames, parse_vpdq_text
from safehold.ingest.analyse import Analyser, Candidate
from safehold.ingest.records import FileRecord
from safehold.testing.videos import (
    audio_only,
    make_video,
    scene_frames,
    truncated,
    unknown_codec_avi,
    write_video,
)

LIMITS = Limits()
FAST = VideoSettings()
EXACT = VideoSettings(exact=True)


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("videos")
    meta = {"creation_time": "2026-05-01T10:20:30Z", "com.apple.quicktime.make": "Apple",
            "com.apple.quicktime.model": "iPhone 12"}
    return {
        "mp4": make_video(d / "a.mp4", seconds=12, seed=1, preset="medium"),  # B-frames: packets get skipped
        "mkv": make_video(d / "b.mkv", seconds=8, seed=2, metadata=meta),
        "hevc": make_video(d / "c.mp4", seconds=5, seed=3, codec="libx265"),
        "mov": write_video(d / "d.mov", scene_frames(6, (320, 240), 10, 4), metadata=meta,
                           container_options={"movflags": "use_metadata_tags"}),
    }


def test_facts_of_an_mp4(videos: dict[str, Path]) -> None:
    f = analyse_video(videos["mp4"], LIMITS, FAST)
    assert f.error is None
    assert (f.container or "").startswith("mov,mp4")
    assert (f.video_codec, f.width, f.height, f.frame_rate) == ("h264", 320, 240, 10.0)
    assert f.duration == pytest.approx(12.0, abs=0.2)
    assert [x.frame for x in f.frames] == list(range(0, 120, 10))  # one frame a second, numbered as vpdq does
    assert [x.timestamp for x in f.frames] == [float(s) for s in range(12)]
    assert all(x.quality >= 50 for x in f.frames)
    assert f.skipped_packets > 0 and f.decoded < 120
    assert 1 <= len(f.thumbnails) <= FAST.contact_frames


@pytest.mark.parametrize("name", ["mkv", "mov"])
def test_device_and_time_metadata(videos: dict[str, Path], name: str) -> None:
    f = analyse_video(videos[name], LIMITS, FAST)
    assert f.metadata.get("make") == "Apple" and f.metadata.get("model") == "iPhone 12"
    assert f.metadata.get("creation_time", "").startswith("2026-05-01")


@pytest.mark.parametrize("name", ["mp4", "mkv", "hevc"])
def test_fast_mode_stays_close_to_exact(videos: dict[str, Path], name: str) -> None:
    fast, exact = analyse_video(videos[name], LIMITS, FAST), analyse_video(videos[name], LIMITS, EXACT)
    assert exact.decoded == round(exact.duration or 0) * 10
    assert [x.frame for x in fast.frames] == [x.frame for x in exact.frames]
    assert max(pdq_distance(a.pdq, b.pdq) for a, b in zip(fast.frames, exact.frames, strict=True)) <= 10


@pytest.fixture(scope="module")
def gop_videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """20 s with a key frame every 2 s and B-frames: ten closed GOPs to share out among decoders."""
    d = tmp_path_factory.mktemp("gops")
    closed265 = {"x265-params": "log-level=error:keyint=20:min-keyint=20:open-gop=0"}
    return {
        "mkv": make_video(d / "a.mkv", seconds=20, seed=5, preset="medium", options={"g": "20"}),
        "mp4": make_video(d / "b.mp4", seconds=20, seed=5, preset="medium", options={"g": "20"}),
        "hevc": make_video(d / "c.mp4", seconds=20, seed=5, preset="medium", codec="libx265", options=closed265),
    }


def _ranges(path: Path, codec: str, parts: int) -> list[tuple[int, int]]:
    infos, problem = _probe(_opener(path), codec)
    plan = make_plan(infos, 10)
    assert problem is None and plan is not None
    return split(plan, parts)


@pytest.mark.parametrize(("name", "codec"), [("mkv", "h264"), ("mp4", "h264"), ("hevc", "hevc")])
def test_parallel_decoders_give_the_same_fingerprint(gop_videos: dict[str, Path], name: str, codec: str) -> None:
    path = gop_videos[name]
    assert len(_ranges(path, codec, 4)) == 4  # the stream really is shared out
    one = analyse_video(path, LIMITS, VideoSettings(decode_threads=1))
    four = analyse_video(path, LIMITS, VideoSettings(decode_threads=4))
    assert one.error is None and four.error is None
    assert [x.frame for x in four.frames] == list(range(0, 200, 10))
    assert four.frames == one.frames
    assert four.decoded == one.decoded and four.skipped_packets == one.skipped_packets
    assert [t for t, _ in four.thumbnails] == [t for t, _ in one.thumbnails]


def test_a_range_whose_seek_cannot_be_trusted_demuxes_from_the_start(
        gop_videos: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    real = video_module._seek
    calls: list[int] = []

    def unknown_positions(container: Any, stream: Any, positions: dict[int, int], infos: Any, lo: int) -> int:
        calls.append(lo)
        return real(container, stream, {}, infos, lo)  # no packet is recognised after the seek

    monkeypatch.setattr(video_module, "_seek", unknown_positions)
    four = analyse_video(gop_videos["mp4"], LIMITS, VideoSettings(decode_threads=4))
    assert len(calls) == 4
    assert four.error is None
    assert four.frames == analyse_video(gop_videos["mp4"], LIMITS, VideoSettings(decode_threads=1)).frames


def test_truncated_video_in_parallel_keeps_the_ranges_before_the_cut(tmp_path: Path,
                                                                     gop_videos: dict[str, Path]) -> None:
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(truncated(gop_videos["mkv"].read_bytes(), 0.6))
    f = analyse_video(cut, LIMITS, VideoSettings(decode_threads=4))
    assert f.error is not None and f.error.code is ErrorCode.CORRUPT and "truncated" in f.error.message
    assert 8 <= len(f.frames) < 20
    assert [x.frame for x in f.frames] == list(range(0, 10 * len(f.frames), 10))  # no hole between ranges


def test_sampling_rate_is_configurable(videos: dict[str, Path]) -> None:
    f = analyse_video(videos["mp4"], LIMITS, VideoSettings(seconds_per_hash=2.5))
    assert [x.frame for x in f.frames] == list(range(0, 120, 25))


def test_reference_text_round_trip(videos: dict[str, Path]) -> None:
    frames = analyse_video(videos["mkv"], LIMITS, EXACT).frames
    text = format_reference_lines(frames)
    first = text.splitlines()[0].split(",")
    assert first[0] == "0" and len(first[2]) == 64 and first[3] == "0.000"
    assert parse_vpdq_text(text) == frames
    assert frames_from_packed(pack_frames(frames)) == frames
    compact = "\n".join(f"{x.pdq},{x.quality},{x.timestamp:.3f}" for x in frames)  # threatexchange's form
    assert [x.pdq for x in parse_vpdq_text(compact)] == [x.pdq for x in frames]
    with pytest.raises(ValueError, match="line 2"):
        parse_vpdq_text(text.splitlines()[0] + "\n1,2,zz,3\n")


# ---------------------------------------------------------------- through the ingest analyser
def _analyse(tmp_path: Path, name: str, data: bytes, limits: Limits = LIMITS) -> FileRecord:
    evidence = tmp_path / "evidence"
    evidence.mkdir(exist_ok=True)
    path = evidence / name
    path.write_bytes(data)
    analyser = Analyser(limits, tmp_path / "scratch", FAST, tmp_path / "data" / "derived")
    cand = Candidate(Locator.root(1).child("fs", name), name, name, len(data), lambda: path.open("rb"),
                     local_path=path)
    records = list(analyser.analyse(cand))
    return records[-1]


def test_contact_sheet_goes_to_the_data_directory(tmp_path: Path, videos: dict[str, Path]) -> None:
    rec = _analyse(tmp_path, "clip.mp4", videos["mp4"].read_bytes())
    c = rec.content
    assert rec.error is None and c is not None and c.media_kind == "video"
    assert c.contact_sheet == f"contact/{c.sha256[:2]}/{c.sha256}.jpg"
    sheet = contact_sheet_path(tmp_path / "data" / "derived", c.sha256)
    with Image.open(sheet) as img:
        assert img.format == "JPEG" and img.width > 320 * 3
    assert sorted(p.name for p in (tmp_path / "evidence").iterdir()) == ["clip.mp4"]  # nothing beside the evidence
    assert c.vpdq is not None and len(frames_from_packed(c.vpdq)) == 12
    assert c.video_meta is not None and c.video_meta["frames_decoded"] > 0


def test_video_inside_a_zip_is_fingerprinted(tmp_path: Path, videos: dict[str, Path]) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("chat/media/VID-0001.mkv", videos["mkv"].read_bytes())
    evidence = tmp_path / "x.zip"
    evidence.write_bytes(buf.getvalue())
    analyser = Analyser(LIMITS, tmp_path / "scratch", FAST, tmp_path / "derived")
    cand = Candidate(Locator.root(1).child("fs", "x.zip"), "x.zip", "x.zip", evidence.stat().st_size,
                     lambda: evidence.open("rb"), local_path=evidence)
    member = next(r for r in analyser.analyse(cand) if r.name == "VID-0001.mkv")
    assert member.error is None and member.content is not None
    assert member.content.vpdq is not None and member.content.duration == pytest.approx(8.0, abs=0.2)
    assert not list((tmp_path / "scratch").rglob("*.spill"))  # the spilled copy is gone


def _video(tmp_path: Path, name: str, data: bytes, limits: Limits = LIMITS) -> tuple[FileRecord, VideoFacts | None]:
    rec = _analyse(tmp_path, name, data, limits)
    try:
        facts = analyse_video(tmp_path / "evidence" / name, limits, FAST)
    except ItemProblem:
        facts = None
    return rec, facts


def test_truncated_stream_keeps_a_partial_fingerprint(tmp_path: Path, videos: dict[str, Path]) -> None:
    rec, facts = _video(tmp_path, "cut.mkv", truncated(videos["mkv"].read_bytes(), 0.6))
    assert rec.error is not None and rec.error.code is ErrorCode.CORRUPT and "truncated" in rec.error.message
    assert rec.content is not None and rec.content.vpdq is not None
    assert facts is not None and 3 <= len(facts.frames) < 8


def test_truncated_mp4_without_index_is_hashed_and_reported(tmp_path: Path, videos: dict[str, Path]) -> None:
    rec, _ = _video(tmp_path, "cut.mp4", truncated(videos["mp4"].read_bytes(), 0.5))
    assert rec.error is not None and rec.error.code is ErrorCode.CORRUPT
    assert rec.content is not None and rec.content.media_kind == "video" and rec.content.vpdq is None


def test_zero_byte_video(tmp_path: Path) -> None:
    rec = _analyse(tmp_path, "empty.mp4", b"")
    assert rec.error is not None and rec.error.code is ErrorCode.EMPTY


def test_audio_only_file(tmp_path: Path) -> None:
    data = audio_only(tmp_path / "voice.mp4").read_bytes()
    rec = _analyse(tmp_path, "voice.mp4", data)
    assert rec.error is not None and rec.error.code is ErrorCode.UNSUPPORTED and "no video stream" in rec.error.message
    assert rec.content is not None and rec.content.audio_codec == "aac" and rec.content.duration


def test_garbage_behind_a_video_signature(tmp_path: Path) -> None:
    data = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(range(256)) * 200
    rec = _analyse(tmp_path, "fake.mp4", data)
    assert rec.content is not None and rec.content.media_kind == "video"
    assert rec.error is not None and rec.error.code is ErrorCode.CORRUPT


def test_unknown_codec(tmp_path: Path) -> None:
    rec = _analyse(tmp_path, "odd.avi", unknown_codec_avi(tmp_path / "src.avi"))
    assert rec.error is not None and rec.error.code is ErrorCode.UNSUPPORTED and "decoder" in rec.error.message


def test_absurd_frame_size(tmp_path: Path) -> None:
    small = write_video(tmp_path / "raw.avi", scene_frames(1, (64, 48)), codec="rawvideo").read_bytes()
    huge = small.replace(struct.pack("<ii", 64, 48), struct.pack("<ii", 40000, 40000))
    rec = _analyse(tmp_path, "huge.avi", huge)
    assert rec.error is not None and rec.content is not None and rec.content.vpdq is None
    # Within FFmpeg's own limits the declared size is checked before any frame is decoded.
    rec = _analyse(tmp_path, "big.mp4", (tmp_path / "raw.avi").read_bytes(), Limits(max_video_pixels=1000))
    assert rec.error is not None and rec.error.code is ErrorCode.BOMB


CONTAINERS = [  # (file name, encoder): the containers seized phones and PCs hold
    ("clip.webm", "libvpx"),
    ("clip.wmv", "wmv2"),
    ("clip.flv", "flv"),
    ("clip.3gp", "mpeg4"),
    ("clip.avi", "mpeg4"),
    ("clip.mov", "libx264"),
]


@pytest.mark.parametrize(("name", "codec"), CONTAINERS, ids=[c[0] for c in CONTAINERS])
def test_each_container(tmp_path: Path, name: str, codec: str) -> None:
    data = write_video(tmp_path / name, scene_frames(4, (176, 144), 10, 5), codec=codec).read_bytes()
    rec = _analyse(tmp_path, name, data)
    c = rec.content
    assert rec.error is None and c is not None and c.media_kind == "video", (c and c.mime, rec.error)
    assert c.vpdq is not None and [f.frame for f in frames_from_packed(c.vpdq)] == [0, 10, 20, 30]
    assert c.duration == pytest.approx(4.0, abs=0.3) and (c.width, c.height) == (176, 144)


def test_audio_longer_than_video_is_not_truncation(tmp_path: Path) -> None:
    import av
    import numpy as np

    path = tmp_path / "dub.mp4"
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=10)
        video.width, video.height, video.pix_fmt = 176, 144, "yuv420p"
        audio = out.add_stream("aac", rate=16000)
        for arr in scene_frames(4, (176, 144), 10, 6):
            for packet in video.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(arr), format="rgb24")):
                out.mux(packet)
        for packet in video.encode():
            out.mux(packet)
        silence = np.zeros((1, 1024), dtype=np.float32)
        for _ in range(8 * 16000 // 1024):
            frame = av.AudioFrame.from_ndarray(silence, format="fltp", layout="mono")
            frame.sample_rate = 16000
            for packet in audio.encode(frame):
                out.mux(packet)
        for packet in audio.encode():
            out.mux(packet)
    f = analyse_video(path, LIMITS, FAST)
    assert (f.duration or 0) > 7 and f.error is None and len(f.frames) == 4
