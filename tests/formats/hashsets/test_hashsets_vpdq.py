"""vPDQ lists: the reference one-video file, Safehold's multi-video export form, bad lines."""

from __future__ import annotations

from pathlib import Path

from safehold.formats.hashsets import BadRow, HashRecord, detect_format
from safehold.hashing.vpdq import frames_from_packed

H1, H2 = "f" * 63 + "0", "0" * 63 + "f"


def test_reference_file_is_one_video(tmp_path: Path) -> None:
    path = tmp_path / "clip.txt"
    path.write_text(f"0,100,{H1},0.000\n30,90,{H2},1.000\n")
    reader = detect_format(path)
    assert reader.name == "vpdq"
    (rec,) = list(reader.read(path))
    assert isinstance(rec, HashRecord) and rec.file_name == "clip.txt" and rec.vpdq is not None
    frames = frames_from_packed(rec.vpdq)
    assert [(f.frame, f.quality, f.pdq, f.timestamp) for f in frames] == [(0, 100, H1, 0.0), (30, 90, H2, 1.0)]


def test_many_videos_and_bad_lines(tmp_path: Path) -> None:
    sha = "a" * 64
    path = tmp_path / "export.txt"
    path.write_text(f"# video VID 0001.mp4 sha256={sha} md5={'b' * 32}\n0,100,{H1},0.000\n1,100,nothex,1.000\n"
                    f"# video empty.mp4\n# video second.mkv\n0,80,{H2},0.000\n")
    items = list(detect_format(path).read(path))
    records = [i for i in items if isinstance(i, HashRecord)]
    bad = [i for i in items if isinstance(i, BadRow)]
    assert [r.file_name for r in records] == ["VID 0001.mp4", "second.mkv"]
    assert records[0].sha256 == sha and records[0].md5 == "b" * 32
    assert [b.position for b in bad] == ["line 3", "line 4"]  # the bad frame; the video with no frames
