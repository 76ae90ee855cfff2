"""Case use cases: open, change, read and list cases."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from safehold.core.errors import NotFoundError, SafeholdError
from safehold.services.audit import audited
from safehold.services.authz import Authz, require
from safehold.services.context import ServiceContext
from safehold.store.models import Case
from safehold.store.review_models import CaseMember

__all__ = [
    "CASE_STATUSES",
    "CasePublic",
    "case_id_of",
    "create_case",
    "get_case",
    "list_cases",
    "resolve_case",
    "update_case",
]

CASE_STATUSES = ("open", "closed", "archived")


@dataclass(frozen=True, slots=True)
class CasePublic:
    id: int
    name: str
    status: str
    created_at: str


def _public(c: Case) -> CasePublic:
    return CasePublic(c.id, c.name, c.status, c.created_at.isoformat())


def _name(name: str) -> str:
    name = name.strip()
    if not name:
        raise SafeholdError("a case needs a name")
    return name


def create_case(ctx: ServiceContext, authz: Authz, name: str, description: str | None = None) -> CasePublic:
    """A named creator joins the case, so an investigator can go on to add its evidence."""
    require(authz.can_create_case(), "open a case")
    name = _name(name)
    try:
        with audited(ctx) as log:
            case = Case(name=name, description=description)
            log.session.add(case)
            log.session.flush()
            if authz.user_id is not None:
                log.session.add(CaseMember(case_id=case.id, user_id=authz.user_id))
            log(authz.actor, "case-create", case.id, f"case:{name}", joined=authz.user_id is not None)
            return _public(case)
    except IntegrityError:
        raise SafeholdError(f"a case named {name!r} already exists") from None


def update_case(ctx: ServiceContext, authz: Authz, case_ref: str | int, *, name: str | None = None,
                description: str | None = None, status: str | None = None) -> CasePublic:
    """Rename a case, change its description or status; the record holds the old and new values."""
    require(authz.can_manage_case(case_id := case_id_of(ctx, case_ref)), "change this case")
    if status is not None and status not in CASE_STATUSES:
        raise SafeholdError(f"status must be one of {', '.join(CASE_STATUSES)}")
    try:
        with audited(ctx) as log:
            case = log.session.get(Case, case_id)
            assert case is not None
            changes: dict[str, list[str | None]] = {}
            for field, new in (("name", _name(name) if name is not None else None), ("description", description),
                               ("status", status)):
                old = getattr(case, field)
                if new is not None and new != old:
                    changes[field] = [old, new]
                    setattr(case, field, new)
            if changes:
                log.session.flush()
                log(authz.actor, "case-update", case_id, f"case:{case.name}", changes=changes)
            return _public(case)
    except IntegrityError:
        raise SafeholdError(f"a case named {name!r} already exists") from None


def resolve_case(s: Session, ref: str | int) -> Case:
    """A case by id or by exact name (investigators type either)."""
    case: Case | None = None
    if isinstance(ref, int) or str(ref).isdigit():
        case = s.get(Case, int(ref))
    if case is None:
        case = s.scalar(select(Case).where(Case.name == str(ref)))
    if case is None:
        raise NotFoundError(f"no case {ref!r}")
    return case


def case_id_of(ctx: ServiceContext, ref: str | int) -> int:
    """The id of a case given by id or name, for a use case's guard line:
    ``require(authz.can_x(case_id := case_id_of(ctx, case_ref)), ...)``."""
    if isinstance(ref, int):
        return ref  # the web passes ids; a missing case is reported by the use case, after the check
    with ctx.db.session() as s:
        return resolve_case(s, ref).id


def get_case(ctx: ServiceContext, authz: Authz, ref: str | int) -> CasePublic:
    require(authz.can_read_case(case_id := case_id_of(ctx, ref)), "see this case")
    with ctx.db.session() as s:
        return _public(resolve_case(s, case_id))


def list_cases(ctx: ServiceContext, authz: Authz) -> list[CasePublic]:
    """The cases this user is on; the local operator sees all."""
    require(authz.can_list_cases(), "list cases")
    with ctx.db.session() as s:
        q = select(Case).order_by(Case.id)
        if not authz.system:
            q = q.join(CaseMember, CaseMember.case_id == Case.id).where(CaseMember.user_id == authz.user_id)
        return [_public(c) for c in s.scalars(q)]
