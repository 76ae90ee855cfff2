"""Case use cases."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from safehold.core.errors import NotFoundError, SafeholdError
from safehold.services.context import ServiceContext
from safehold.store.models import Case

__all__ = ["CasePublic", "create_case", "get_case", "list_cases", "resolve_case"]


@dataclass(frozen=True, slots=True)
class CasePublic:
    id: int
    name: str
    status: str
    created_at: str


def _public(c: Case) -> CasePublic:
    return CasePublic(c.id, c.name, c.status, c.created_at.isoformat())


def create_case(ctx: ServiceContext, name: str, description: str | None = None) -> CasePublic:
    name = name.strip()
    if not name:
        raise SafeholdError("a case needs a name")
    try:
        with ctx.db.session() as s:
            case = Case(name=name, description=description)
            s.add(case)
            s.flush()
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


def get_case(ctx: ServiceContext, ref: str | int) -> CasePublic:
    with ctx.db.session() as s:
        return _public(resolve_case(s, ref))


def list_cases(ctx: ServiceContext) -> list[CasePublic]:
    with ctx.db.session() as s:
        return [_public(c) for c in s.scalars(select(Case).order_by(Case.id))]
