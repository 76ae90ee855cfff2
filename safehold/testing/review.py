"""A small benign case ready for review in the browser: ingested photos with near-duplicates,
a known-content list that makes some of them *known* (exact) and *near-known* (PDQ), a damaged
file for the errors queue, and one account per role. Used by the web tests and the browser
end-to-end test; everything is generated, nothing is downloaded.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from safehold.ingest.executor import InlineExecutor
from safehold.services.accounts import add_user, grant_case
from safehold.services.authz import Authz
from safehold.services.cases import create_case
from safehold.services.context import ServiceContext
from safehold.services.evidence import add_evidence
from safehold.services.hashsets import import_hashset
from safehold.services.ingest import run_ingest
from safehold.services.jobs import run_jobs
from safehold.testing.images import encode, sample_photo, synthetic_photo, with_exif
from safehold.testing.videos import make_video

__all__ = ["PASSWORD", "ReviewCase", "build_review_case"]

PASSWORD = "correct horse battery staple"  # noqa: S105 - test accounts on a generated case
VICS_CONTEXT = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata#Media"


@dataclass(slots=True)
class ReviewCase:
    case_id: int
    other_case_id: int
    files: dict[str, str] = field(default_factory=dict)  # relative path (a zip member: "x.zip:member") -> sha256
    users: dict[str, str] = field(default_factory=dict)  # name -> role

    def sha(self, rel: str) -> str:
        return self.files[rel]


def _photos(scratch: Path) -> dict[str, bytes]:
    a = sample_photo("astronaut").resize((512, 512))
    b = sample_photo("coffee").resize((600, 400))
    c = sample_photo("chelsea").resize((451, 300))
    d = sample_photo("rocket").resize((427, 320))
    files = {
        "DCIM/a.jpg": encode(a, "JPEG", quality=90),
        "DCIM/a_small.jpg": encode(a.resize((300, 300)), "JPEG", quality=75),  # near-duplicate of a
        "DCIM/a_q50.jpg": encode(a, "JPEG", quality=50),  # near-duplicate of a
        "DCIM/b.jpg": encode(b, "JPEG", quality=90),
        "DCIM/b_small.jpg": encode(b.resize((300, 200)), "JPEG", quality=80),  # near-duplicate of b
        "Pictures/c.jpg": with_exif(c, make="Canon", model="Canon EOS 5D Mark IV", serial="032021001234"),  # new
        "Pictures/c.png": encode(c, "PNG"),  # same picture, other bytes: c's cluster
        "Pictures/noise.jpg": encode(synthetic_photo(7, (400, 300)), "JPEG", quality=90),
        "Documents/notes.txt": b"Shopping list: milk, eggs, bread.\n",
        "damaged/truncated.jpg": encode(d, "JPEG", quality=90)[:2000],  # an error for the errors queue
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("holiday/d.jpg", encode(d, "JPEG", quality=90))
    files["Downloads/holiday.zip"] = buf.getvalue()
    files.update(_videos(scratch))
    return files


def _videos(scratch: Path) -> dict[str, bytes]:
    """Two short generated scenes: one a plain file, one inside a zip (played from a spooled copy)."""
    scratch.mkdir(parents=True, exist_ok=True)
    clip = make_video(scratch / "clip.mp4", seconds=3, size=(160, 120), seed=1,
                      container_options={"movflags": "+faststart"}).read_bytes()
    inner = make_video(scratch / "inner.mp4", seconds=3, size=(160, 120), seed=2).read_bytes()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("clips/inner.mp4", inner)
    return {"Videos/clip.mp4": clip, "Videos/clips.zip": buf.getvalue(), "Videos/clips.zip:clips/inner.mp4": inner}


def _write(root: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        if ".zip:" in rel:  # a member, written with its zip
            continue
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)


def build_review_case(ctx: ServiceContext, root: Path, name: str = "op review") -> ReviewCase:
    """Write, register and ingest the evidence, import the list and match, and create the accounts:
    ``ivy`` (investigator) on the case and on the other case (which holds a copy of ``a.jpg`` and
    a near-duplicate of ``c.jpg``), ``rex`` (reviewer) on the case, ``otto`` (investigator) on the
    other case only, ``aud`` (auditor) and ``adm`` (admin), all with ``PASSWORD``."""
    files = _photos(root / "scratch")
    _write(root / "a", files)
    c_near = encode(Image.open(io.BytesIO(files["Pictures/c.jpg"])).resize((300, 200)), "JPEG", quality=70)
    _write(root / "b", {"copy/a.jpg": files["DCIM/a.jpg"], "copy/c_small.jpg": c_near})
    admin = Authz.local("test:setup")
    case = create_case(ctx, admin, name)
    other = create_case(ctx, admin, f"{name} (other)")
    add_evidence(ctx, admin, case.id, root / "a", "Exhibit A: laptop (generated)")
    add_evidence(ctx, admin, other.id, root / "b", "Exhibit B: phone (generated)")
    for c in (case.id, other.id):
        run_ingest(ctx, admin, c, executor=InlineExecutor(ctx.settings))
    known_list = root / "known-list.json"
    from safehold.hashing.pdq import pdq_from_image

    b_pdq = pdq_from_image(Image.open(io.BytesIO(files["DCIM/b.jpg"])).convert("RGB")).hash_hex
    known_list.write_text(json.dumps({"@odata.context": VICS_CONTEXT, "value": [
        {"MediaID": 1, "Category": 1, "MD5": hashlib.md5(files["DCIM/a.jpg"]).hexdigest().upper(),
         "Series": "generated-series"},
        {"MediaID": 2, "Category": 2, "AlternativeHashes": [{"HashName": "PDQ", "HashValue": b_pdq}]},
    ]}), encoding="utf-8")
    import_hashset(ctx, admin, known_list, "generated known list", "known-abuse", source="tests", version="1")
    for c in (case.id, other.id):
        run_jobs(ctx, admin, c)  # the listing and the matches against the list
    users = {"ivy": "investigator", "rex": "reviewer", "otto": "investigator", "aud": "auditor", "adm": "admin"}
    for user, role in users.items():
        add_user(ctx, admin, user, role, PASSWORD)
    grant_case(ctx, admin, "ivy", case.id)
    grant_case(ctx, admin, "ivy", other.id)
    grant_case(ctx, admin, "rex", case.id)
    grant_case(ctx, admin, "otto", other.id)
    shas = {rel: hashlib.sha256(data).hexdigest() for rel, data in files.items()}
    return ReviewCase(case.id, other.id, shas, users)
