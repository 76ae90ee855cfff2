"""The review flow through the HTTP API: queues and filters, keyboard-style categorisation of a
cluster, two-person confirmation, reveals and exposure, blurred thumbnails, item detail, the
VICS export, sign-in throttling and security headers. SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import io
import json
import re
from datetime import timedelta

import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import delete, select, update

from safehold.core.clock import utcnow
from safehold.core.settings import WebSettings
from safehold.services.authz import Authz
from safehold.services.context import ServiceContext
from safehold.services.queues import QueueFilter, queue_page
from safehold.services.thumbs import contact_sheet_path
from safehold.store.models import Content, EvidenceItem, IngestBatch
from safehold.store.review_models import AuditEvent, Reveal
from safehold.testing.review import PASSWORD, ReviewCase
from safehold.web.app import create_app
from tests.web.conftest import login, signed_in

JSON = {"Accept": "application/json"}


def _shas(html: str) -> set[str]:
    return set(re.findall(r'data-sha="([0-9a-f]{64})"', html))


def _hf_energy(img: Image.Image) -> float:
    """Mean squared Laplacian of the grey image: the high-frequency energy blur removes."""
    a = np.asarray(img.convert("L"), dtype=np.float64)
    lap = 4 * a[1:-1, 1:-1] - a[:-2, 1:-1] - a[2:, 1:-1] - a[1:-1, :-2] - a[1:-1, 2:]
    return float(np.mean(lap**2))


def test_queues_hold_the_triage_classes_and_filter(app: FastAPI, review: ReviewCase) -> None:
    client, _ = signed_in(app, "ivy")
    base = f"/cases/{review.case_id}/queues"
    assert _shas(client.get(f"{base}/known").text) == {review.sha("DCIM/a.jpg")}
    assert _shas(client.get(f"{base}/near_known").text) == {review.sha("DCIM/b.jpg"), review.sha("DCIM/b_small.jpg")}
    unknown = _shas(client.get(f"{base}/unknown").text)
    assert review.sha("Pictures/c.jpg") in unknown and review.sha("DCIM/a_small.jpg") in unknown
    assert not unknown & {review.sha("DCIM/a.jpg"), review.sha("DCIM/b.jpg")}
    errors = client.get(f"{base}/errors").text
    assert "truncated.jpg" in errors and "corrupt" in errors
    # filters: camera make (EXIF), size, type, decided
    assert _shas(client.get(f"{base}/unknown?make=canon").text) == {review.sha("Pictures/c.jpg")}
    assert _shas(client.get(f"{base}/unknown?serial=032021001234").text) == {review.sha("Pictures/c.jpg")}
    small = _shas(client.get(f"{base}/all?max_size=30000").text)
    big = _shas(client.get(f"{base}/all?min_size=30001").text)
    assert small and big and not small & big
    assert _shas(client.get(f"{base}/all?type=video").text) == {
        review.sha("Videos/clip.mp4"), review.sha("Videos/clips.zip:clips/inner.mp4")}
    assert _shas(client.get(f"{base}/all?deleted=yes").text) == set()
    assert _shas(client.get(f"{base}/all?decided=yes").text) == set()
    assert _shas(client.get(f"{base}/all?from=2000-01-01").text) == _shas(client.get(f"{base}/all").text)
    assert _shas(client.get(f"{base}/all?to=2000-01-01").text) == set()
    # sorting by size: the tiles come in size order
    page = client.get(f"{base}/all?sort=-size").text
    order = re.findall(r'data-sha="([0-9a-f]{64})"', page)
    sizes = [_size(client, review, s) for s in order]
    assert sizes == sorted(sizes, reverse=True)


def _size(client: TestClient, review: ReviewCase, sha: str) -> int:
    m = re.search(r"· (\d+) bytes", client.get(f"/cases/{review.case_id}/items/{sha}").text)
    assert m is not None
    return int(m.group(1))


def test_gallery_pages_continue_where_the_last_stopped(ctx: ServiceContext, review: ReviewCase) -> None:
    ctx.settings.web.page_size = 3
    app = create_app(ctx.settings, ctx)
    client, _ = signed_in(app, "ivy")

    def scrolled(sort: str) -> list[str]:
        first = client.get(f"/cases/{review.case_id}/queues/all?sort={sort}").text
        seen = re.findall(r'data-sha="([0-9a-f]{64})"', first)
        nxt = re.search(r'hx-get="([^"]+)" hx-trigger="revealed"', first)
        while nxt is not None:
            url = nxt.group(1).replace("&amp;", "&")
            assert ("after=" in url) == (sort in ("path", "size", "-size")), url  # a cursor where the sort has one
            frag = client.get(url).text
            seen += re.findall(r'data-sha="([0-9a-f]{64})"', frag)
            nxt = re.search(r'hx-get="([^"]+)" hx-trigger="revealed"', frag)
        return seen

    for running in (False, True):  # the listing, then the live tables (an ingest running)
        with ctx.db.session() as s:
            s.execute(update(EvidenceItem).where(EvidenceItem.case_id == review.case_id)
                      .values(ingest_state="running" if running else "done"))
        for sort in ("path", "size", "-size", "date", "distance"):
            seen = scrolled(sort)
            whole = queue_page(ctx, Authz.local("test"), review.case_id, "all", QueueFilter(), sort, limit=500)
            assert seen == [i.sha256 for i in whole.items], (sort, running)
            assert len(seen) == len(set(seen)) > 3
    assert client.get(f"/cases/{review.case_id}/queues/all/page?sort=path&after=zz", headers=JSON).status_code == 400


def test_categorise_a_cluster_and_export_it(app: FastAPI, review: ReviewCase) -> None:
    client, csrf = signed_in(app, "ivy")
    cid = review.case_id
    url = f"/cases/{cid}/items/{review.sha('DCIM/a_small.jpg')}/categorise"
    r = client.post(url, data={"code": "1", "cluster": "true"}, headers={"X-CSRF-Token": csrf, **JSON})
    assert r.status_code == 200
    decided = {i["sha256"] for i in r.json()["items"]}
    cluster = {review.sha(p) for p in ("DCIM/a.jpg", "DCIM/a_small.jpg", "DCIM/a_q50.jpg")}
    assert decided == cluster  # the whole near-duplicate cluster, not c or b
    one = client.post(f"/cases/{cid}/items/{review.sha('Pictures/c.jpg')}/categorise", data={"code": "3"},
                      headers={"X-CSRF-Token": csrf, **JSON}).json()["items"]
    assert [i["sha256"] for i in one] == [review.sha("Pictures/c.jpg")]
    bad = client.post(url, data={"code": "9"}, headers={"X-CSRF-Token": csrf, **JSON})
    assert bad.status_code == 400
    decided_page = client.get(f"/cases/{cid}/queues/all?decided=yes").text
    assert _shas(decided_page) == cluster | {review.sha("Pictures/c.jpg")}
    assert decided_page.count(">1 Child abuse material<") == 3  # the same label the keyboard script writes
    dash = client.get(f"/cases/{cid}").text
    assert "1 Child abuse material" in dash and "3 CGI / animation" in dash
    export = client.post(f"/cases/{cid}/export/vics", headers={"X-CSRF-Token": csrf})
    media = {m["AlternativeHashes"][0]["HashValue"]: m for m in json.loads(export.text)["value"][0]["Media"]}
    for sha in cluster:
        assert media[sha]["Category"] == 1
        assert media[sha]["IsPrecategorized"] == "false"  # decided here, not by the list
    assert media[review.sha("Pictures/c.jpg")]["Category"] == 3
    assert "Category" not in media[review.sha("Pictures/noise.jpg")]


def test_two_person_confirmation(app: FastAPI, review: ReviewCase) -> None:
    ivy, ivy_csrf = signed_in(app, "ivy")
    rex, rex_csrf = signed_in(app, "rex")
    cid, sha = review.case_id, review.sha("Pictures/c.jpg")
    assert ivy.post(f"/cases/{cid}/settings", data={"scheme": "vics-2.0-us", "two_person": "true",
                                                     "csrf_token": ivy_csrf}).status_code == 200
    items = ivy.post(f"/cases/{cid}/items/{sha}/categorise", data={"code": "2"},
                     headers={"X-CSRF-Token": ivy_csrf, **JSON}).json()["items"]
    assert items[0]["status"] == "pending"
    export = ivy.post(f"/cases/{cid}/export/vics", headers={"X-CSRF-Token": ivy_csrf}).json()
    mine = [m for m in export["value"][0]["Media"] if m["AlternativeHashes"][0]["HashValue"] == sha]
    assert len(mine) == 1 and "Category" not in mine[0]  # pending decisions are not exported
    assert ivy.post(f"/cases/{cid}/items/{sha}/confirm", headers={"X-CSRF-Token": ivy_csrf}).status_code == 403
    assert rex.post(f"/cases/{cid}/items/{sha}/confirm", headers={"X-CSRF-Token": rex_csrf}).status_code == 200
    assert "confirmed by rex" in ivy.get(f"/cases/{cid}/items/{sha}").text
    export = ivy.post(f"/cases/{cid}/export/vics", headers={"X-CSRF-Token": ivy_csrf}).json()
    assert [m["Category"] for m in export["value"][0]["Media"] if m["AlternativeHashes"][0]["HashValue"] == sha] == [2]


def test_thumbnails_are_blurred_and_clear_only_during_a_logged_reveal(
        ctx: ServiceContext, app: FastAPI, review: ReviewCase) -> None:
    client, csrf = signed_in(app, "rex")
    cid, sha = review.case_id, review.sha("Pictures/c.jpg")
    blurred = Image.open(io.BytesIO(client.get(f"/cases/{cid}/media/{sha}/thumb.jpg").content))
    original = Image.open(ctx.settings.data_dir.parent / "evidence" / "a" / "Pictures" / "c.jpg")
    original.thumbnail(blurred.size)
    assert _hf_energy(blurred) < 0.05 * _hf_energy(original)
    assert client.get(f"/cases/{cid}/media/{sha}/thumb/clear.jpg").status_code == 403
    assert client.get(f"/cases/{cid}/media/{sha}/preview/clear.jpg").status_code == 403
    r = client.post(f"/cases/{cid}/items/{sha}/reveal", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200 and "data-reveal-expires" in r.text
    clear = client.get(f"/cases/{cid}/media/{sha}/thumb/clear.jpg")
    assert clear.status_code == 200 and clear.headers["cache-control"] == "no-store"
    clear_img = Image.open(io.BytesIO(clear.content))
    assert _hf_energy(blurred) < 0.05 * _hf_energy(clear_img)
    # a reveal is for one user and one item only
    other_sha = review.sha("DCIM/b.jpg")
    assert client.get(f"/cases/{cid}/media/{other_sha}/thumb/clear.jpg").status_code == 403
    ivy, _ = signed_in(app, "ivy")
    assert ivy.get(f"/cases/{cid}/media/{sha}/thumb/clear.jpg").status_code == 403
    # the window closes
    with ctx.db.session() as s:
        s.execute(update(Reveal).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert client.get(f"/cases/{cid}/media/{sha}/thumb/clear.jpg").status_code == 403
    # grayscale is a per-user option, still blurred
    assert client.post("/me/preferences", data={"grayscale": "true", "csrf_token": csrf}).status_code == 200
    grey = Image.open(io.BytesIO(client.get(f"/cases/{cid}/media/{sha}/thumb.jpg").content))
    assert grey.mode == "L" and _hf_energy(grey) < 0.05 * _hf_energy(original)
    assert Image.open(io.BytesIO(ivy.get(f"/cases/{cid}/media/{sha}/thumb.jpg").content)).mode == "RGB"
    # cached once, blurred and clear apart
    cached = sorted(p.name for p in (ctx.settings.derived_dir / "thumbs" / sha[:2]).iterdir())
    assert f"{sha}.thumb.blur.jpg" in cached and f"{sha}.thumb.clear.jpg" in cached


def test_exposure_counts_for_oneself_and_for_the_lead(app: FastAPI, review: ReviewCase) -> None:
    rex, csrf = signed_in(app, "rex")
    for rel in ("DCIM/b.jpg", "Pictures/c.jpg"):
        rex.post(f"/cases/{review.case_id}/items/{review.sha(rel)}/reveal", headers={"X-CSRF-Token": csrf})
    assert re.search(r'exposure-total">2<', rex.get("/me").text)
    ivy, _ = signed_in(app, "ivy")
    assert re.search(r'exposure-total">0<', ivy.get("/me").text)
    team = ivy.get(f"/cases/{review.case_id}/team").text
    assert re.search(r"<td>rex</td><td>reviewer</td><td>2</td>", team)


def test_item_detail(app: FastAPI, review: ReviewCase) -> None:
    ivy, _csrf = signed_in(app, "ivy")
    cid, sha = review.case_id, review.sha("DCIM/a.jpg")
    page = ivy.get(f"/cases/{cid}/items/{sha}").text
    assert "fs:/DCIM/a.jpg" in page and "Exhibit A" in page
    assert sha in page and "generated known list" in page and "1 Child abuse material" in page
    assert "op review (other)" in page and "same bytes" in page  # ivy is on the other case too
    c_page = ivy.get(f"/cases/{cid}/items/{review.sha('Pictures/c.jpg')}").text
    assert "near-duplicate, PDQ distance" in c_page and "Canon EOS 5D Mark IV" in c_page
    zipped = ivy.get(f"/cases/{cid}/items/{review.sha('Downloads/holiday.zip')}").text
    assert "zip:holiday/d.jpg" not in zipped  # the zip itself
    rex, rex_csrf = signed_in(app, "rex")  # not on the other case: not told it exists
    assert "op review (other)" not in rex.get(f"/cases/{cid}/items/{sha}").text
    rex.post(f"/cases/{cid}/items/{sha}/notes", data={"text": "seen on two devices", "csrf_token": rex_csrf})
    rex.post(f"/cases/{cid}/items/{sha}/tags", data={"tag": "Series-X", "csrf_token": rex_csrf})
    page = ivy.get(f"/cases/{cid}/items/{sha}").text
    assert "seen on two devices" in page and "series-x" in page
    rex.post(f"/cases/{cid}/items/{sha}/tags", data={"tag": "series-x", "remove": "true", "csrf_token": rex_csrf})
    assert "series-x" not in ivy.get(f"/cases/{cid}/items/{sha}").text
    # a hash that is not in the case opens nothing, even if it exists elsewhere
    other_only = review.sha("DCIM/a.jpg")
    assert ivy.get(f"/cases/{review.other_case_id}/items/{other_only}").status_code == 200
    assert ivy.get(f"/cases/{review.other_case_id}/items/{review.sha('Pictures/c.jpg')}").status_code == 404


def test_nested_member_thumbnail_is_read_through_its_locator_chain(app: FastAPI, review: ReviewCase) -> None:
    ivy, _ = signed_in(app, "ivy")
    unknown = _shas(ivy.get(f"/cases/{review.case_id}/queues/unknown").text)
    zipped = [s for s in unknown if s not in review.files.values()]  # d.jpg inside holiday.zip
    assert len(zipped) == 1
    img = Image.open(io.BytesIO(ivy.get(f"/cases/{review.case_id}/media/{zipped[0]}/thumb.jpg").content))
    assert img.size[0] > 200  # the real (blurred) picture, not the small placeholder


def test_sign_in_is_throttled_per_user_and_address(app: FastAPI, review: ReviewCase) -> None:
    client = TestClient(app)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert token is not None
    form = {"username": "ivy", "csrf_token": token.group(1)}
    for _ in range(5):
        assert client.post("/login", data={**form, "password": "wrong password"}).status_code == 401
    r = client.post("/login", data={**form, "password": PASSWORD})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    login(TestClient(app), "rex")  # another account is not locked out


def test_security_headers_and_cookie_flags(ctx: ServiceContext, app: FastAPI, review: ReviewCase) -> None:
    client = TestClient(app)
    login_page = client.get("/login")
    for page in (login_page, client.get("/static/app.js")):
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert "unsafe-inline" not in page.headers["content-security-policy"]
        assert page.headers["x-frame-options"] == "DENY"
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["referrer-policy"] == "no-referrer"
    assert "<script>" not in login_page.text  # no inline script anywhere the CSP would block
    ctx.settings.web = WebSettings(secure_cookies=True)
    secure = TestClient(create_app(ctx.settings, ctx), base_url="https://testserver")
    token = re.search(r'name="csrf_token" value="([^"]+)"', secure.get("/login").text)
    assert token is not None
    r = secure.post("/login", data={"username": "ivy", "password": PASSWORD, "csrf_token": token.group(1)},
                    follow_redirects=False)
    cookie = r.headers["set-cookie"].lower()
    assert "safehold_session=" in cookie and "httponly" in cookie and "samesite=strict" in cookie and "secure" in cookie
    media = secure.get(f"/cases/{review.case_id}/media/{review.sha('DCIM/a.jpg')}/thumb.jpg")
    assert media.status_code == 200 and media.headers["cache-control"] == "no-store"


def test_changing_ones_password_in_the_browser(app: FastAPI, review: ReviewCase) -> None:
    ivy, csrf = signed_in(app, "ivy")
    other, _ = signed_in(app, "ivy")
    form = {"current": PASSWORD, "new": "a brand new passphrase", "again": "a brand new passphrase",
            "csrf_token": csrf}
    wrong = ivy.post("/me/password", data={**form, "current": "x" * 12})
    assert wrong.status_code == 400 and "current password is wrong" in wrong.text
    assert ivy.post("/me/password", data={**form, "again": "something else"}).status_code == 400
    ok = ivy.post("/me/password", data=form)
    assert ok.status_code == 200 and "Password changed" in ok.text
    assert ivy.get("/cases").status_code == 200  # this session goes on
    assert other.get("/cases", headers=JSON).status_code == 401  # the other one ended
    assert login(TestClient(app), "ivy", "a brand new passphrase")


def test_sign_out_ends_the_session_server_side(app: FastAPI, review: ReviewCase) -> None:
    client, csrf = signed_in(app, "ivy")
    cookie = client.cookies.get("safehold_session")
    assert client.post("/logout", headers={"X-CSRF-Token": csrf}, follow_redirects=False).status_code == 303
    replay = TestClient(app, cookies={"safehold_session": cookie or ""})
    assert replay.get("/cases", headers={"Accept": "application/json"}).status_code == 401


def test_dashboard_shows_custody_counts_errors_and_live_progress(
        ctx: ServiceContext, app: FastAPI, review: ReviewCase) -> None:
    ivy, _ = signed_in(app, "ivy")
    cid = review.case_id
    page = ivy.get(f"/cases/{cid}").text
    assert "registered" in page and "ingest-started" in page and "ingested" in page  # custody events
    assert "corrupt" in page  # errors by code
    assert "generated known list" in page and "2 Child exploitive" in page  # known by set and category
    done = ivy.get(f"/cases/{cid}/progress").text
    assert "hx-trigger" not in done and "100 %" in done  # nothing running: no polling
    with ctx.db.session() as s:  # an ingest in progress: the fragment polls itself
        s.execute(update(EvidenceItem).where(EvidenceItem.case_id == cid).values(ingest_state="running"))
        s.execute(delete(IngestBatch).where(IngestBatch.evidence_id.in_(
            select(EvidenceItem.id).where(EvidenceItem.case_id == cid))))
    running = ivy.get(f"/cases/{cid}/progress").text
    assert 'hx-trigger="every 2s"' in running and "running" in running and "0 %" in running


def test_videos_show_a_blurred_contact_sheet_or_a_placeholder(
        ctx: ServiceContext, app: FastAPI, review: ReviewCase) -> None:
    """Ingest wrote the video's contact sheet; the gallery shows it blurred. A content without a
    sheet (here an image whose row is re-marked as a video) gets a neutral placeholder."""
    rex, _ = signed_in(app, "rex")
    cid, sha = review.case_id, review.sha("Videos/clip.mp4")
    sheet = contact_sheet_path(ctx, sha)
    assert sheet.is_file()
    blurred = Image.open(io.BytesIO(rex.get(f"/cases/{cid}/media/{sha}/thumb.jpg").content))
    original = Image.open(sheet)
    original.thumbnail(blurred.size)
    assert _hf_energy(blurred) < 0.05 * _hf_energy(original)
    other = review.sha("Pictures/noise.jpg")
    with ctx.db.session() as s:
        s.execute(update(Content).where(Content.sha256 == other).values(media_kind="video", mime="video/mp4"))
    placeholder = Image.open(io.BytesIO(rex.get(f"/cases/{cid}/media/{other}/thumb.jpg").content))
    assert placeholder.size == (128, 128)


def _view_clear(ctx: ServiceContext, sha: str) -> int:
    with ctx.db.session() as s:
        return len(s.scalars(select(AuditEvent.seq).where(AuditEvent.action == "view-clear",
                                                         AuditEvent.target == sha)).all())


@pytest.mark.parametrize("rel", ["Videos/clip.mp4", "Videos/clips.zip:clips/inner.mp4"])
def test_revealed_video_plays_muted_in_ranges(ctx: ServiceContext, app: FastAPI, review: ReviewCase,
                                              rel: str) -> None:
    """A plain file is served from the evidence itself; a zip member from a verified spooled copy
    that goes when the reveal ends. The player's ranges are answered; its start is logged once."""
    rex, csrf = signed_in(app, "rex")
    cid, sha = review.case_id, review.sha(rel)
    original = (ctx.settings.data_dir.parent / "evidence" / "a" / "Videos" / "clip.mp4").read_bytes() \
        if rel.endswith("clip.mp4") else None
    url = f"/cases/{cid}/media/{sha}/video"
    assert rex.get(url).status_code == 403  # no reveal, no video
    revealed = rex.post(f"/cases/{cid}/items/{sha}/reveal?type=video", headers={"X-CSRF-Token": csrf}).text
    assert "<video" in revealed and " muted" in revealed
    assert f"{ctx.settings.web.reveal_video_seconds} s left" in revealed  # long enough to watch
    whole = rex.get(url)
    assert whole.status_code == 200 and whole.headers["content-type"] == "video/mp4"
    assert whole.headers["cache-control"] == "no-store" and whole.headers["accept-ranges"] == "bytes"
    assert hashlib.sha256(whole.content).hexdigest() == sha
    if original is not None:
        assert whole.content == original
    part = rex.get(url, headers={"Range": "bytes=100-1099"})
    assert part.status_code == 206 and part.content == whole.content[100:1100]
    assert part.headers["content-range"] == f"bytes 100-1099/{len(whole.content)}"
    assert _view_clear(ctx, sha) == 1  # the start, not the continuation
    assert rex.get(url, headers={"Range": "bytes=0-"}).status_code == 206
    assert _view_clear(ctx, sha) == 2
    spool = ctx.settings.tmp_dir / "playback"
    spooled = list(spool.glob(f"*{sha}*")) if spool.is_dir() else []
    assert len(spooled) == (0 if original is not None else 1)
    ivy, _ = signed_in(app, "ivy")
    assert ivy.get(url).status_code == 403  # the reveal was rex's
    with ctx.db.session() as s:  # the window closes: refused, and the spooled copy goes
        s.execute(update(Reveal).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert rex.get(url, headers={"Range": "bytes=100-199"}).status_code == 403
    app.state.playback.sweep(utcnow() + timedelta(seconds=ctx.settings.web.reveal_video_seconds + 1))
    assert not [p for p in spooled if p.exists()]


def test_video_of_changed_evidence_is_not_served(ctx: ServiceContext, app: FastAPI, review: ReviewCase) -> None:
    rex, csrf = signed_in(app, "rex")
    cid, sha = review.case_id, review.sha("Videos/clip.mp4")
    path = ctx.settings.data_dir.parent / "evidence" / "a" / "Videos" / "clip.mp4"
    path.write_bytes(path.read_bytes()[:-10] + b"0123456789")
    rex.post(f"/cases/{cid}/items/{sha}/reveal?type=video", headers={"X-CSRF-Token": csrf})
    r = rex.get(f"/cases/{cid}/media/{sha}/video", headers=JSON)
    assert r.status_code == 404 and "cannot be read" in r.json()["error"]


def test_previews_are_blurred_too(ctx: ServiceContext, app: FastAPI, review: ReviewCase) -> None:
    ivy, _ = signed_in(app, "ivy")
    cid, sha = review.case_id, review.sha("DCIM/a.jpg")
    preview = Image.open(io.BytesIO(ivy.get(f"/cases/{cid}/media/{sha}/preview.jpg").content))
    original = Image.open(ctx.settings.data_dir.parent / "evidence" / "a" / "DCIM" / "a.jpg")
    assert preview.size == original.size  # 512 px: under the preview size, not upscaled
    assert _hf_energy(preview) < 0.05 * _hf_energy(original)


def test_auditor_browses_filters_verifies_and_exports(app: FastAPI, review: ReviewCase) -> None:
    ivy, csrf = signed_in(app, "ivy")
    cid, sha = review.case_id, review.sha("Pictures/c.jpg")
    ivy.post(f"/cases/{cid}/items/{sha}/reveal", headers={"X-CSRF-Token": csrf})
    aud, acsrf = signed_in(app, "aud")
    everything = aud.get("/audit?actor=&action=&case=")  # the filter form, left empty
    assert everything.status_code == 200 and "reveal" in everything.text
    reveals = aud.get(f"/audit?actor=user:ivy&action=reveal&case={cid}").text
    assert re.search(r"(\d+) records, newest first", reveals).group(1) == "1"  # type: ignore[union-attr]
    assert sha in reveals
    assert aud.get("/audit?case=x").status_code == 422
    verified = aud.get("/audit/verify").text
    assert "Chain intact" in verified and re.search(r'id="anchor">\d+:[0-9a-f]{64}<', verified)
    export = aud.post("/audit/export", headers={"X-CSRF-Token": acsrf})
    lines = [json.loads(x) for x in export.text.splitlines()]
    assert export.headers["content-disposition"].startswith("attachment")
    assert lines[-1]["action"] == "export-audit" and lines[-1]["actor"] == "user:aud"
    assert any(x["action"] == "reveal" and x["target"] == sha for x in lines)
