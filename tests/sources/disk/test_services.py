"""End to end through the services (SQLite and PostgreSQL): an E01 and a raw GPT image as
evidence, phone extractions (Android tree in a zip, a Cellebrite-style UFDR) as plain files."""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

from safehold.ingest.executor import InlineExecutor, LocalProcessExecutor
from safehold.services.authz import Authz
from safehold.services.cases import create_case
from safehold.services.context import ServiceContext
from safehold.services.evidence import add_evidence
from safehold.services.files import iter_files
from safehold.services.ingest import run_ingest
from safehold.testing.images import encode, synthetic_photo
from tests.sources.disk.build import corrupt_ewf_hash, md5
from tests.sources.disk.conftest import Images


def test_e01_evidence_end_to_end(ctx: ServiceContext, images: Images) -> None:
    create_case(ctx, "c")
    item = add_evidence(ctx, "c", images.mbr_e01, "laptop")
    assert item.source_kind == "disk" and item.acquisition_method == "ewf-stored-md5"
    assert item.acquisition_hash == md5(images.mbr.read_bytes())
    actions = [c["action"] for c in item.custody]
    assert actions == ["registered", "verified"]
    assert item.custody[1]["details"]["examiner"] == "Examiner Test"
    run_ingest(ctx, Authz.local("test"), "c", executor=InlineExecutor(ctx.settings))
    files = {f["locator"]: f for f in iter_files(ctx, "c")}
    eid = item.id
    photo = files[f"evidence:{eid} / partition:1 / fat:/docs/photo1.jpg"]
    assert photo["md5"] == md5(images.layouts["fat"].files["docs/photo1.jpg"]) and not photo["deleted"]
    assert photo["media_type"] == "image" and photo["width"] == 64
    gone = files[f"evidence:{eid} / partition:2 / ext4:/gone2.jpg"]
    assert gone["deleted"] and gone["md5"] == md5(images.layouts["ext4"].deleted["gone2.jpg"])
    ads = files[f"evidence:{eid} / partition:3 / ntfs:/readme.txt:secret"]
    assert ads["md5"] == md5(b"an alternate data stream\n")
    ntfs_gone = files[f"evidence:{eid} / partition:3 / ntfs:/erased3.png"]
    assert ntfs_gone["deleted"] and ntfs_gone["md5"] == md5(images.layouts["ntfs"].deleted["erased3.png"])
    assert len(files) == 16 and all(f["error"] is None for f in files.values())


def test_e01_with_a_bad_hash_is_registered_with_a_failed_verification(
        ctx: ServiceContext, images: Images, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    shutil.copytree(images.fat_e01_multi.parent, bad)
    corrupt_ewf_hash(bad / "fat.E01")
    create_case(ctx, "c")
    item = add_evidence(ctx, "c", bad / "fat.E01", "usb stick")
    failed = [c for c in item.custody if c["action"] == "verification-failed"]
    assert len(failed) == 1 and "MD5" in failed[0]["details"]["reason"]
    assert item.top_file_count == len(list(bad.iterdir()))


def test_raw_image_with_worker_processes(ctx: ServiceContext, images: Images) -> None:
    create_case(ctx, "c")
    item = add_evidence(ctx, "c", images.gpt, "server disk")
    assert item.source_kind == "disk" and item.acquisition_method == "sha256"
    run_ingest(ctx, Authz.local("test"), "c", executor=LocalProcessExecutor(ctx.settings, workers=2))
    files = list(iter_files(ctx, "c"))
    assert len(files) == 11 and all(f["md5"] for f in files)
    chains = {tuple(tuple(s) for s in f["locator_chain"][1:3]) for f in files}
    assert {c[0] for c in chains} == {("partition", "1"), ("partition", "2")}
    assert {c[1][0] for c in chains} == {"ext4", "ntfs"}
    assert sum(f["deleted"] for f in files) == 4


def _phone_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def test_android_extraction_zip_keeps_paths(ctx: ServiceContext, tmp_path: Path) -> None:
    photo = encode(synthetic_photo(5, (48, 32)), "JPEG")
    media = "data/data/com.whatsapp/files/Media/WhatsApp Images/IMG-20240101-WA0001.jpg"
    path = _phone_zip(tmp_path / "android.zip", {
        media: photo,
        "data/data/com.whatsapp/databases/msgstore.db": b"SQLite format 3\0" + bytes(100),
        "sdcard/DCIM/Camera/note.txt": b"benign\n",
    })
    create_case(ctx, "c")
    item = add_evidence(ctx, "c", path, "phone")
    assert item.source_kind == "file"
    run_ingest(ctx, Authz.local("test"), "c", executor=InlineExecutor(ctx.settings))
    files = {f["locator"]: f for f in iter_files(ctx, "c")}
    hit = files[f"evidence:{item.id} / file:/android.zip / zip:{media}"]
    assert hit["md5"] == md5(photo) and hit["media_type"] == "image"
    assert f"evidence:{item.id} / file:/android.zip / zip:data/data/com.whatsapp/databases/msgstore.db" in files


def test_cellebrite_ufdr_is_read_as_a_container(ctx: ServiceContext, tmp_path: Path) -> None:
    photo = encode(synthetic_photo(6, (40, 40)), "PNG")
    report = (b'<?xml version="1.0" encoding="utf-8"?><project xmlns="http://pa.cellebrite.com/report/2.0">'
              b'<decodedData/></project>')
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("report.xml", report)
        z.writestr("files/Image/IMG_0001.png", photo)
        z.writestr("files/Text/notes.txt", b"benign\n")
    path = tmp_path / "extraction.ufdr"
    path.write_bytes(buf.getvalue())
    create_case(ctx, "c")
    item = add_evidence(ctx, "c", path, "iphone")
    assert item.source_kind == "file"
    run_ingest(ctx, Authz.local("test"), "c", executor=InlineExecutor(ctx.settings))
    files = {f["locator"]: f for f in iter_files(ctx, "c")}
    base = f"evidence:{item.id} / file:/extraction.ufdr / zip:"
    assert files[base + "files/Image/IMG_0001.png"]["md5"] == md5(photo)
    assert base + "report.xml" in files and base + "files/Text/notes.txt" in files
