"""One contract for every use case: it takes the actor's ``Authz`` (never defaulted), checks it in
its first statement with ``require(authz.can_…)``, and audits what it changes.

The use cases are enumerated from the code, not listed by hand: every public function of
``safehold.services`` whose first parameter is the ``ServiceContext``. One added later without the
check, without ``authz`` or without being classed as a read or a change fails here; a genuine
helper goes into ``INTERNAL`` with the reason it needs no check of its own.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from sqlalchemy import select

import safehold.services
from safehold.core.errors import ForbiddenError
from safehold.services.accounts import add_user, authz_for, grant_case
from safehold.services.audit import list_audit, verify_audit
from safehold.services.authz import Authz, Role
from safehold.services.cases import create_case, update_case
from safehold.services.context import ServiceContext
from safehold.services.evidence import add_evidence, list_evidence
from safehold.services.exports import export_vics, export_vpdq
from safehold.services.files import case_summary, iter_files
from safehold.services.hashsets import get_set, import_hashset, list_sets, remove_set
from safehold.services.matching import match_all, match_case
from safehold.services.triage import triage_case
from safehold.store.review_models import User

# Take the service context first but are not use cases; each line says why it needs no check.
INTERNAL = {
    "audit.audited": "the transaction a use case appends its record in",
    "audit.record_event": "appends a use case's record",
    "audit.anchors_path": "where verification keeps its anchors",
    "auth.login": "authentication: no Authz exists before it (it audits itself)",
    "auth.resolve_session": "authentication: it makes the Authz",
    "auth.logout": "ends the very session it is handed (audited)",
    "accounts.account_authz": "makes the CLI's --as Authz from an account",
    "cases.case_id_of": "resolves a case reference inside a use case's guard line",
    "clusters.ensure_clusters": "derived data, refreshed after a checked request or by a use case",
    "gallery.use_listing": "derived data, asked by checked queue pages",
    "gallery.ensure_gallery": "derived data, refreshed after a checked request or an ingest",
    "matching.load_pdq_index": "the lists' index, loaded by the match use cases",
    "video_matching.match_case_videos": "one step of match_case / match_all",
    "reopen.read_content": "bytes for thumbnails and reveals, after their checks",
    "reopen.content_file": "a video's bytes for clear_video, after its check",
    "thumbs.picture": "pictures for blurred_picture / clear_picture, after their checks",
    "thumbs.contact_sheet_path": "where a contact sheet is cached",
    "analyse.plan_analysis": "the plan of run_analyse / analyse_all, after their checks",
    "jobs.keep_current": "the web app's after-response refresh of the listing and clusters (no matching)",
}

# Use cases that change the store, with the audit actions they append.
WRITES: dict[str, set[str]] = {
    "cases.create_case": {"case-create"},
    "cases.update_case": {"case-update"},
    "evidence.add_evidence": {"evidence-add"},
    "hashsets.import_hashset": {"hashset-import", "hashset-replace", "hashset-import-failed"},
    "hashsets.remove_set": {"hashset-remove"},
    "matching.match_case": {"match"},
    "matching.match_all": {"match"},
    "exports.export_vics": {"export-vics"},
    "exports.export_vpdq": {"export-vpdq"},
    "audit.export_audit": {"export-audit"},
    "ingest.run_ingest": {"ingest-start", "ingest-finish", "ingest-interrupt"},
    "analyse.run_analyse": {"analyse-start", "analyse-finish", "analyse-interrupt"},
    "jobs.run_jobs": {"job-run"},
    "analyse.analyse_all": {"analyse-start", "analyse-finish", "analyse-interrupt"},
    "accounts.add_user": {"user-add"},
    "accounts.set_password": {"user-password"},
    "accounts.change_own_password": {"password-change", "password-change-refused"},
    "accounts.set_active": {"user-enable", "user-disable"},
    "accounts.grant_case": {"member-add"},
    "accounts.revoke_case": {"member-remove"},
    "accounts.set_grayscale": {"preferences"},
    "review.update_review_settings": {"review-settings"},
    "review.categorise": {"categorise", "categorise-cluster"},
    "review.confirm": {"confirm"},
    "review.add_note": {"note"},
    "review.add_tag": {"tag-add"},
    "review.remove_tag": {"tag-remove"},
    "reveal.reveal": {"reveal"},
    "reveal.clear_picture": {"view-clear"},
    "reveal.clear_video": {"view-clear"},
}

# Use cases made only of other use cases, each checked and audited on its own.
COMPOSITES = {"demo.run_demo": "opens the sample case, adds its evidence and lists, ingests and matches"}

# Use cases that only read (some of them log views as well).
READS = {
    "cases.get_case", "cases.list_cases", "evidence.list_evidence", "files.iter_files", "files.case_summary",
    "triage.triage_case", "hashsets.list_sets", "hashsets.get_set", "audit.verify_audit", "audit.list_audit",
    "accounts.list_users", "dashboard.case_name", "dashboard.ingest_progress", "dashboard.case_dashboard",
    "items.item_detail", "queues.queue_page", "queues.queue_counts", "queues.queue_options",
    "reveal.blurred_picture", "reveal.active_reveal", "reveal.my_exposure", "reveal.team_exposure",
    "review.review_settings", "artifacts.list_artifacts", "jobs.list_jobs",
}

AUDIT_CALLS = {"audited", "record_event"}


def _modules() -> list[ModuleType]:
    return [importlib.import_module(f"safehold.services.{m.name}")
            for m in pkgutil.iter_modules(safehold.services.__path__)]


def use_cases() -> dict[str, Callable[..., Any]]:
    """Every public function of the services whose first parameter is the service context."""
    found: dict[str, Callable[..., Any]] = {}
    for mod in _modules():
        short = mod.__name__.rsplit(".", 1)[1]
        for name, fn in inspect.getmembers(mod, inspect.isfunction):
            if name.startswith("_") or fn.__module__ != mod.__name__:
                continue
            params = list(inspect.signature(fn).parameters.values())
            if params and params[0].annotation in ("ServiceContext", ServiceContext):
                found[f"{short}.{name}"] = fn
    return found


def _body(fn: Callable[..., Any]) -> list[ast.stmt]:
    tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    node = tree.body[0]
    assert isinstance(node, ast.FunctionDef)
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    return body


def _call_name(stmt: ast.stmt) -> str | None:
    """The function a statement calls: ``f(…)`` or ``x = f(…)`` (a guard may hand back what it found)."""
    value = stmt.value if isinstance(stmt, ast.Expr | ast.Assign) else None
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name):
        return value.func.id
    return None


def _guarded(fn: Callable[..., Any]) -> bool:
    """The first statement is ``require(authz.can_…(…), …)``, or a call to a ``_require…`` guard of
    the same module that itself starts so."""
    body = _body(fn)
    name = _call_name(body[0]) if body else None
    if name == "require" and isinstance(body[0], ast.Expr):
        call = body[0].value
        test = call.args[0] if call.args else None
        while isinstance(test, ast.NamedExpr):
            test = test.value
        return (isinstance(test, ast.Call) and isinstance(test.func, ast.Attribute)
                and isinstance(test.func.value, ast.Name) and test.func.value.id == "authz"
                and test.func.attr.startswith("can_"))
    if name is not None and name.startswith("_require"):
        helper = getattr(inspect.getmodule(fn), name)
        return _guarded(helper)
    return False


def module_calls(fn: Callable[..., Any]) -> Iterator[tuple[ast.Call, Any]]:
    """Every plain-name call in ``fn`` and in the private helpers of its module it calls, with what
    the name stands for in that module (shared with the route test in tests/web/test_access.py)."""
    mod = inspect.getmodule(fn)
    assert mod is not None
    todo, seen = [fn], set()
    while todo:
        f = todo.pop()
        if f in seen:
            continue
        seen.add(f)
        for node in ast.walk(ast.parse(textwrap.dedent(inspect.getsource(f)))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            target = getattr(mod, node.func.id, None)
            if node.func.id.startswith("_") and inspect.isfunction(target) and target.__module__ == mod.__name__:
                todo.append(target)
            yield node, target


def _reachable(fn: Callable[..., Any]) -> tuple[set[str], set[str]]:
    """Names called, and the actions appended (string constants among the positional arguments of
    ``log(…)`` / ``record_event(…)``), in ``fn`` and the private helpers of its module it calls."""
    calls: set[str] = set()
    actions: set[str] = set()
    for node, _target in module_calls(fn):
        assert isinstance(node.func, ast.Name)
        calls.add(node.func.id)
        if node.func.id in ("log", "record_event"):
            actions |= {c.value for arg in node.args for c in ast.walk(arg)
                        if isinstance(c, ast.Constant) and isinstance(c.value, str)}
    return calls, actions


def _contract_problems(key: str, fn: Callable[..., Any]) -> list[str]:
    problems = []
    params = list(inspect.signature(fn).parameters.values())
    if len(params) < 2 or params[1].name != "authz" or params[1].annotation not in ("Authz", Authz):
        problems.append("its second parameter is not `authz: Authz`")
    elif params[1].default is not inspect.Parameter.empty:
        problems.append("`authz` has a default (no parameter may default to more rights than the caller has)")
    if not _guarded(fn):
        problems.append("its first statement is not `require(authz.can_…(…), \"…\")`")
    if key in WRITES:
        calls, strings = _reachable(fn)
        if not calls & AUDIT_CALLS:
            problems.append("it changes the store but never opens `audited(ctx)` nor calls `record_event`")
        if missing := WRITES[key] - strings:
            problems.append(f"it never appends the audit action(s) {sorted(missing)}")
    elif key not in READS and key not in COMPOSITES:
        problems.append("it is neither in WRITES (with its audit actions) nor in READS: class it")
    return problems


def test_the_enumeration_sees_the_use_cases() -> None:
    found = use_cases()
    assert {"cases.create_case", "evidence.add_evidence", "matching.match_case", "review.categorise"} <= set(found)
    stale = (set(INTERNAL) | set(WRITES) | READS | set(COMPOSITES)) - set(found)
    assert not stale, f"listed here but not found in safehold.services: {sorted(stale)}"
    assert not (set(WRITES) & READS) and not (set(INTERNAL) & (set(WRITES) | READS))


def test_every_use_case_checks_the_actor_first_and_audits_its_changes() -> None:
    problems = {key: p for key, fn in sorted(use_cases().items())
                if key not in INTERNAL and (p := _contract_problems(key, fn))}
    assert not problems, "\n".join(f"{k}: {'; '.join(v)}" for k, v in problems.items())


def test_no_service_or_route_falls_back_to_the_local_operator() -> None:
    """Only the CLI (and test set-up) may act as the local operator, never a service or a route."""
    root = Path(safehold.services.__file__).parent.parent
    offenders = [str(p.relative_to(root)) for d in ("services", "web") for p in (root / d).rglob("*.py")
                 if "Authz.local(" in p.read_text(encoding="utf-8")]
    assert not offenders


# --- behaviour, on both databases --------------------------------------------------------------


def _accounts(ctx: ServiceContext, case_id: int) -> dict[str, Authz]:
    local = Authz.local(ctx.actor)
    for name, role in (("ivy", "investigator"), ("rex", "reviewer"), ("aud", "auditor"), ("otto", "investigator")):
        add_user(ctx, local, name, role, "x" * 12)
    for name in ("ivy", "rex"):
        grant_case(ctx, local, name, case_id)
    with ctx.db.session() as s:
        return {u.name: authz_for(s, u) for u in s.scalars(select(User))}


def _records(ctx: ServiceContext, action: str) -> list[dict[str, Any]]:
    return list(reversed(list_audit(ctx, Authz.local(ctx.actor), action=action).events))


def test_refusals_change_nothing_and_members_are_audited(ctx: ServiceContext, tmp_path: Path) -> None:
    local = Authz.local(ctx.actor)
    case = create_case(ctx, local, "op")
    users = _accounts(ctx, case.id)
    ivy, rex, aud, otto = users["ivy"], users["rex"], users["aud"], users["otto"]
    folder = tmp_path / "ev"
    folder.mkdir()
    (folder / "a.txt").write_text("a")
    listed = tmp_path / "list.md5"
    listed.write_text(f"{'0' * 31}1  other.jpg\n")
    before = verify_audit(ctx, local).records

    refused: list[Callable[[], object]] = [
        lambda: create_case(ctx, rex, "nope"),
        lambda: create_case(ctx, aud, "nope"),
        lambda: update_case(ctx, rex, case.id, status="closed"),
        lambda: update_case(ctx, otto, case.id, status="closed"),  # not a member
        lambda: add_evidence(ctx, rex, case.id, folder, "x"),
        lambda: add_evidence(ctx, otto, "op", folder, "x"),
        lambda: match_case(ctx, rex, case.id),
        lambda: match_all(ctx, rex),
        lambda: import_hashset(ctx, rex, listed, "l", "watch"),
        lambda: import_hashset(ctx, aud, listed, "l", "watch"),
        lambda: list_sets(ctx, aud),
        lambda: export_vics(ctx, rex, case.id, tmp_path / "v.json"),
        lambda: export_vpdq(ctx, otto, case.id, tmp_path / "v.txt"),
        lambda: list_evidence(ctx, aud, case.id),
        lambda: case_summary(ctx, otto, "op"),
        lambda: triage_case(ctx, aud, case.id),
        lambda: iter_files(ctx, otto, case.id),  # refused at the call, not at the first item
    ]
    for call in refused:
        with pytest.raises(ForbiddenError):
            call()
    assert verify_audit(ctx, local).records == before  # nothing happened, nothing was logged

    mine = create_case(ctx, ivy, "ivy's")  # a named creator joins the case it opens
    with ctx.db.session() as s:
        ivy = authz_for(s, s.scalars(select(User).where(User.name == "ivy")).one())
    assert mine.id in ivy.cases
    update_case(ctx, ivy, mine.id, status="closed", description="done")
    ev = add_evidence(ctx, ivy, mine.id, folder, "exhibit")
    assert [c["actor"] for c in ev.custody] == ["user:ivy"]
    import_hashset(ctx, ivy, listed, "l", "watch")
    import_hashset(ctx, ivy, listed, "l", "watch")
    assert [r.case_id for r in match_all(ctx, ivy)] == [case.id, mine.id]
    match_case(ctx, ivy, mine.id)
    assert match_all(ctx, otto) == []  # every case is matched, but he is told of his own cases only
    assert get_set(ctx, rex, "l").name == "l"  # reviewers may read the lists
    remove_set(ctx, ivy, "l")
    assert list(iter_files(ctx, rex, case.id)) == []

    ivy_ = "user:ivy"
    expected = {"case-create": [(local.actor, case.id), (ivy_, mine.id)], "case-update": [(ivy_, mine.id)],
                "evidence-add": [(ivy_, mine.id)], "hashset-import": [(ivy_, None)],
                "hashset-replace": [(ivy_, None)], "hashset-remove": [(ivy_, None)],
                "match": [(ivy_, case.id), (ivy_, mine.id), (ivy_, mine.id), ("user:otto", case.id),
                          ("user:otto", mine.id)]}
    for action, who in expected.items():
        got = _records(ctx, action)
        assert [(r["actor"], r["case_id"]) for r in got] == who, action
        assert all(r["details"]["os_user"] == ctx.os_user for r in got), action
    assert _records(ctx, "case-update")[-1]["details"]["changes"] == {"status": ["open", "closed"],
                                                                      "description": [None, "done"]}
    assert verify_audit(ctx, local).ok


def test_every_record_names_the_os_user(ctx: ServiceContext) -> None:
    local = Authz.local(ctx.actor)
    create_case(ctx, local, "op")
    add_user(ctx, local, "ivy", Role.INVESTIGATOR.value, "x" * 12)
    events = list_audit(ctx, local).events
    assert events and all(e["details"]["os_user"] == ctx.os_user for e in events)
    assert {e["actor"] for e in events} == {ctx.actor}
