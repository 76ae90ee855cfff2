"""Authentication and authorisation on every route of the app: the routes are enumerated from
``app.routes``, so a route added later without protection fails here."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import BaseRoute, Mount

from safehold.core.settings import Settings
from safehold.testing.review import ReviewCase
from safehold.web.app import create_app
from tests.web.conftest import signed_in

PUBLIC = {("GET", "/login"), ("POST", "/login")}
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def _walk(routes: list[BaseRoute]) -> list[tuple[str, str]]:
    """Every (method, path); FastAPI ≥0.130 keeps included routers as nodes, older ones flatten them
    (this app uses no prefixes, so paths need no joining)."""
    out = []
    for r in routes:
        if isinstance(r, APIRoute):
            out.extend((m, r.path) for m in sorted(r.methods))
        elif hasattr(r, "original_router"):
            out.extend(_walk(r.original_router.routes))
        else:
            assert isinstance(r, Mount) and r.path == "/static", f"unexpected route {r!r}"
    return out


def _routes(app: FastAPI) -> list[tuple[str, str]]:
    return _walk(app.routes)


def _url(path: str, review: ReviewCase, case_id: int | None = None) -> str:
    values = {"case_id": str(case_id if case_id is not None else review.case_id),
              "sha256": review.sha("DCIM/a.jpg"), "size": "thumb", "queue": "unknown"}
    url = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)
    assert "{" not in url, f"no test value for a parameter of {path}"
    return url


def test_the_only_public_routes_are_the_sign_in_form(app: FastAPI) -> None:
    assert {(m, p) for m, p in _routes(app) if p == "/login"} == PUBLIC
    assert len(_routes(app)) > 15  # the enumeration sees the whole app


def test_every_route_refuses_anonymous_requests(app: FastAPI, review: ReviewCase) -> None:
    client = TestClient(app)
    for method, path in _routes(app):
        if (method, path) in PUBLIC:
            continue
        url = _url(path, review)
        for accept in ("text/html", "application/json"):
            r = client.request(method, url, headers={"Accept": accept}, follow_redirects=False)
            if r.status_code == 303:
                assert method == "GET" and accept == "text/html" and r.headers["location"] == "/login", (method, url)
            else:
                assert r.status_code == 401, (method, url, r.status_code)
            assert "image/" not in r.headers.get("content-type", ""), (method, url)
    static = client.get("/static/app.js")
    assert static.status_code == 200  # static files are public and hold no case data


def test_every_case_route_refuses_a_user_from_another_case(app: FastAPI, review: ReviewCase) -> None:
    client, csrf = signed_in(app, "otto")  # investigator on the other case only
    for method, path in _routes(app):
        if "{case_id}" not in path:
            continue
        r = client.request(method, _url(path, review), headers={"X-CSRF-Token": csrf, "Accept": "application/json"},
                           data={"code": "1", "text": "x", "tag": "x", "scheme": "vics-2.0-us"}
                           if method in UNSAFE else None, follow_redirects=False)
        assert r.status_code == 403, (method, path, r.status_code, r.text[:200])
        assert "image/" not in r.headers.get("content-type", "")
    # Routes without a case show otto nothing of the case, and the audit log is not his to read.
    assert "op review</a>" not in client.get("/cases").text
    assert "op review (other)" in client.get("/cases").text
    assert client.get("/audit").status_code == 403
    assert client.get("/audit/verify").status_code == 403
    assert client.post("/audit/export", headers={"X-CSRF-Token": csrf}).status_code == 403


def test_the_same_routes_answer_a_member(app: FastAPI, review: ReviewCase) -> None:
    """The refusals above are about membership, not broken routes: a member gets through."""
    client, _csrf = signed_in(app, "ivy")
    for method, path in _routes(app):
        if "{case_id}" not in path or method != "GET" or path.endswith("/video"):
            continue
        r = client.get(_url(path, review), follow_redirects=False)
        if path.endswith("/clear.jpg"):
            assert r.status_code == 403  # no reveal yet
        else:
            assert r.status_code == 200, (path, r.status_code)


def test_state_changing_requests_need_the_csrf_token(app: FastAPI, review: ReviewCase) -> None:
    client, csrf = signed_in(app, "ivy")
    for method, path in _routes(app):
        if method not in UNSAFE or (method, path) in PUBLIC:
            continue
        url = _url(path, review)
        form = {"code": "1", "text": "x", "tag": "x", "scheme": "vics-2.0-us"}
        missing = client.request(method, url, data=form, follow_redirects=False)
        assert missing.status_code == 403, (method, path, missing.status_code)
        wrong = client.request(method, url, data={**form, "csrf_token": "0" * 64}, follow_redirects=False)
        assert wrong.status_code == 403, (method, path)
        header = client.request(method, url, data=form, headers={"X-CSRF-Token": csrf[:-1] + "x"},
                                follow_redirects=False)
        assert header.status_code == 403, (method, path)
    # with the token, a plain form post and an htmx-style header both work
    ok = client.post(f"/cases/{review.case_id}/items/{review.sha('DCIM/a.jpg')}/notes",
                     data={"text": "checked", "csrf_token": csrf}, follow_redirects=False)
    assert ok.status_code == 303
    # the sign-in form has its own token: a post without the form's cookie is refused
    anon = TestClient(app)
    r = anon.post("/login", data={"username": "ivy", "password": "x" * 12, "csrf_token": "abc"})
    assert r.status_code == 403


def test_roles_are_enforced_in_the_services(app: FastAPI, review: ReviewCase) -> None:
    reviewer, csrf = signed_in(app, "rex")
    cid = review.case_id
    assert reviewer.post(f"/cases/{cid}/export/vics", headers={"X-CSRF-Token": csrf}).status_code == 403
    assert reviewer.post(f"/cases/{cid}/settings", data={"scheme": "vics-1.x", "csrf_token": csrf}).status_code == 403
    assert reviewer.get(f"/cases/{cid}/team").status_code == 403
    auditor, csrf = signed_in(app, "aud")
    assert auditor.get(f"/cases/{cid}").status_code == 403  # auditors never see case material
    assert auditor.get(f"/cases/{cid}/media/{review.sha('DCIM/a.jpg')}/thumb.jpg").status_code == 403
    assert auditor.get("/audit").status_code == 200
    admin, _ = signed_in(app, "adm")  # an admin who is not on the case sees none of it
    assert admin.get(f"/cases/{cid}/queues/unknown").status_code == 403


def _endpoints(routes: list[BaseRoute]) -> list[APIRoute]:
    out: list[APIRoute] = []
    for r in routes:
        if isinstance(r, APIRoute):
            out.append(r)
        elif hasattr(r, "original_router"):
            out.extend(_endpoints(r.original_router.routes))
    return out


# Service functions a route may call without the signed-in user's Authz: signing in and out.
ROUTE_AUTH = {"auth.login", "auth.logout"}


def test_routes_reach_the_services_only_through_checked_use_cases(tmp_path: Path) -> None:
    """Static: every service function a route handler (or a private helper of its module) calls is
    a use case given the signed-in user's ``user.authz``, never an unchecked internal helper."""
    from tests.services.test_contract import INTERNAL, module_calls, use_cases

    by_fn = {fn: key for key, fn in use_cases().items()}
    app = create_app(Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'routes.db'}"))
    problems, reached = [], set()
    for route in _endpoints(app.routes):
        for node, target in module_calls(route.endpoint):
            key = by_fn.get(target) if callable(target) else None
            if key is None:
                continue
            reached.add(key)
            if key in ROUTE_AUTH:
                continue
            if key in INTERNAL:
                problems.append(f"{route.path}: calls the unchecked helper {key}")
            elif len(node.args) < 2 or ast.unparse(node.args[1]) != "user.authz":
                problems.append(f"{route.path}: {key} is not given user.authz")
    assert not problems, "\n".join(problems)
    assert {"cases.list_cases", "exports.export_vics", "review.categorise", "reveal.reveal"} <= reached
