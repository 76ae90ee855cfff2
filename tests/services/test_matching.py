"""Hash sets against ingested benign images: exact, PDQ (incl. rotations), known-good, triage,
set replacement and the VICS export → import round trip. SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pytest
from PIL import Image, ImageOps

from safehold.hashing.pdq import pdq_from_image
from safehold.ingest.executor import InlineExecutor
from safehold.services.authz import Authz
from safehold.services.cases import create_case
from safehold.services.context import ServiceContext
from safehold.services.evidence import add_evidence
from safehold.services.exports import export_vics
from safehold.services.files import iter_files
from safehold.services.hashsets import get_set, import_hashset, remove_set
from safehold.services.ingest import run_ingest
from safehold.services.matching import match_all, match_case
from safehold.services.triage import triage_case
from safehold.testing.images import sample_photo, synthetic_photo


def _jpeg(img: Image.Image, quality: int = 92) -> bytes:
    buf = io.BytesIO()
    img.convert("RGB").save(buf, "JPEG", quality=quality)
    return buf.getvalue()


@pytest.fixture
def seized(tmp_path: Path) -> dict[str, bytes]:
    """A seized folder: two 'known' photos, variants of them, an unrelated photo, a system file."""
    root = tmp_path / "seized"
    (root / "pics").mkdir(parents=True)
    a = sample_photo("astronaut").resize((512, 512))
    b = sample_photo("coffee").resize((600, 400))
    c = sample_photo("chelsea").resize((451, 300))
    files = {
        "pics/a.jpg": _jpeg(a),
        "pics/a_small.jpg": _jpeg(a.resize((300, 300)), 70),  # near-duplicate of a
        "pics/b_rotated.jpg": _jpeg(b.rotate(90, expand=True)),  # b turned on its side
        "pics/b_mirror.png": b"",  # filled below (PNG, mirrored)
        "pics/c.jpg": _jpeg(c),  # never seen before: NEW material
        "pics/noise.jpg": _jpeg(synthetic_photo(7, (400, 300))),
        "system/kernel32.dll": b"MZ benign system file bytes\x00" * 40,
    }
    buf = io.BytesIO()
    ImageOps.mirror(b).save(buf, "PNG")
    files["pics/b_mirror.png"] = buf.getvalue()
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    files["_root"] = str(root).encode()
    files["_b_pdq"] = pdq_from_image(b.convert("RGB")).hash_hex.encode()
    files["_a_pdq"] = pdq_from_image(Image.open(io.BytesIO(files["pics/a.jpg"])).convert("RGB")).hash_hex.encode()
    return files


def _vics(path: Path, media: list[dict]) -> Path:  # type: ignore[type-arg]
    ctx = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata#Media"
    path.write_text(json.dumps({"@odata.context": ctx, "value": media}), encoding="utf-8")
    return path


def _ingest(ctx: ServiceContext, root: Path) -> None:
    create_case(ctx, "op")
    add_evidence(ctx, "op", root, "laptop")
    run_ingest(ctx, Authz.local("test"), "op", executor=InlineExecutor(ctx.settings))


def _by_class(ctx: ServiceContext) -> dict[str, set[str]]:
    t = triage_case(ctx, "op", include_known_good=True)
    return {cls: {loc["locator"].rsplit("/", 1)[-1] for it in items for loc in it["locators"]}
            for cls, items in t["items"].items()}


def test_triage_sorts_known_near_good_and_new(ctx: ServiceContext, seized: dict[str, bytes], tmp_path: Path) -> None:
    _ingest(ctx, Path(seized["_root"].decode()))
    a = seized["pics/a.jpg"]
    known = _vics(tmp_path / "vic.json", [
        {"MediaID": 1, "Category": 1, "MD5": hashlib.md5(a).hexdigest().upper(), "Series": "benign-series-1",
         "VictimIdentified": "true",
         "AlternativeHashes": [{"HashName": "PDQ", "HashValue": seized["_a_pdq"].decode()}]},
        {"MediaID": 2, "Category": 2, "SHA1": "ab" * 20,
         "AlternativeHashes": [{"HashName": "PDQ", "HashValue": seized["_b_pdq"].decode()}]},
        {"MediaID": 3, "Category": 1, "MD5": "not-a-hash"},
    ])
    rep = import_hashset(ctx, known, "VIC test", "known-abuse", source="generated", version="1")
    assert rep.entries == 2 and rep.bad_rows == 1 and rep.bad_samples[0]["position"].startswith("record")
    dll = seized["system/kernel32.dll"]
    nsrl = tmp_path / "NSRLFile.txt"
    nsrl.write_text('"SHA-1","MD5","CRC32","FileName","FileSize","ProductCode","OpSystemCode","SpecialCode"\n'
                    f'"{hashlib.sha1(dll).hexdigest().upper()}","{hashlib.md5(dll).hexdigest().upper()}",'
                    f'"00000000","kernel32.dll",{len(dll)},1,"WIN",""\n', encoding="latin-1")
    import_hashset(ctx, nsrl, "NSRL", "known-good")
    match_all(ctx)

    classes = _by_class(ctx)
    assert classes["known"] == {"a.jpg"}
    assert classes["near_known"] == {"a_small.jpg", "b_rotated.jpg", "b_mirror.png"}
    assert classes["known_good"] == {"kernel32.dll"}
    assert classes["unknown"] == {"c.jpg", "noise.jpg"}
    t = triage_case(ctx, "op")
    assert "known_good" not in t["items"]  # hidden unless asked for
    assert t["known_by_set"] == {"VIC test": {"vics-2.0-us:1": 2, "vics-2.0-us:2": 2}}
    near = {it["locators"][0]["locator"].rsplit("/", 1)[-1]: it["best_distance"] for it in t["items"]["near_known"]}
    assert all(d <= 31 for d in near.values())
    exact_a = [m for it in t["items"]["known"] for m in it["matches"] if m["method"] == "md5"]
    assert exact_a and exact_a[0]["series"] == "benign-series-1" and exact_a[0]["victim_identified"] is True

    # matching again adds nothing; a stricter radius per set drops the far near-duplicates
    assert match_case(ctx, "op").exact_added == 0
    import_hashset(ctx, known, "VIC test", "known-abuse", pdq_threshold=0)
    match_all(ctx)
    assert _by_class(ctx)["near_known"] <= {"b_rotated.jpg", "b_mirror.png", "a_small.jpg"}


def test_replacing_a_set_records_the_diff_and_rematches(ctx: ServiceContext, seized: dict[str, bytes],
                                                       tmp_path: Path) -> None:
    _ingest(ctx, Path(seized["_root"].decode()))
    md5 = {k: hashlib.md5(v).hexdigest() for k, v in seized.items() if k.startswith("pics/")}
    v1 = tmp_path / "v1.md5"
    v1.write_text(f"{md5['pics/a.jpg']}  a.jpg\n{md5['pics/noise.jpg']}  noise.jpg\n")
    v2 = tmp_path / "v2.md5"
    v2.write_text(f"{md5['pics/c.jpg']}  c.jpg\n{md5['pics/noise.jpg']}  noise.jpg\n")
    import_hashset(ctx, v1, "watch", "watch")
    match_all(ctx)
    assert _by_class(ctx)["watch"] == {"a.jpg", "noise.jpg"}
    rep = import_hashset(ctx, v2, "watch", "watch")
    assert rep.replaced and (rep.added, rep.removed) == (1, 1)
    match_all(ctx)
    assert _by_class(ctx)["watch"] == {"c.jpg", "noise.jpg"}
    history = get_set(ctx, "watch").history
    assert [h["status"] for h in history] == ["replaced", "current"]
    remove_set(ctx, "watch")
    assert _by_class(ctx).get("watch", set()) == set()


def test_vics_export_imports_back_losslessly(ctx: ServiceContext, seized: dict[str, bytes], tmp_path: Path) -> None:
    _ingest(ctx, Path(seized["_root"].decode()))
    a = seized["pics/a.jpg"]
    known = _vics(tmp_path / "vic.json", [{"MediaID": 1, "Category": 1, "MD5": hashlib.md5(a).hexdigest()}])
    import_hashset(ctx, known, "VIC", "known-abuse")
    match_all(ctx)
    out = tmp_path / "export.json"
    n = export_vics(ctx, "op", out)
    raw = out.read_text(encoding="utf-8")
    assert raw.startswith('{"@odata.context"') and raw.index('"value"') < raw.index('"Media"')
    doc = json.loads(raw)
    media = doc["value"][0]["Media"]
    images = [f for f in iter_files(ctx, "op", media_type="image")]
    assert n == len(media) == len({f["sha256"] for f in images})

    back = import_hashset(ctx, out, "roundtrip", "watch")
    assert back.bad_rows == 0 and back.entries == n
    from safehold.formats.hashsets.registry import reader_by_name
    records = [r for r in reader_by_name("vics").read(out)]
    got = {(r.md5, r.sha1, r.sha256, r.pdq, r.size, r.category_code) for r in records}  # type: ignore[union-attr]
    want = set()
    for f in images:
        cat = "1" if f["md5"] == hashlib.md5(a).hexdigest() else None
        want.add((f["md5"], f["sha1"], f["sha256"], f["pdq"], f["size"], cat))
    assert got == want
    assert all(m["MediaFiles"] and "FilePath" in m["MediaFiles"][0] for m in media)
    assert "base64" not in raw.lower() and "Thumbnail" not in raw  # hashes and metadata, never imagery
