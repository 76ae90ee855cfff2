"""User accounts and case membership. Passwords are stored as argon2id hashes only.

Account management is for admins (and the local CLI operator, who holds the store anyway).
Every change is audited.

``account_authz`` gives the CLI's ``--as NAME`` that account's rights without a password: it
narrows what the local operator (who can read the store anyway) may do, and names the account in
the audit log; it proves nothing about who is typing, so the record names the OS user too.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from safehold.core.clock import utcnow
from safehold.core.errors import AuthError, NotFoundError, SafeholdError
from safehold.services.audit import audited, record_event
from safehold.services.authz import Authz, Role, require
from safehold.services.cases import resolve_case
from safehold.services.context import ServiceContext
from safehold.store.review_models import CaseMember, User, WebSession

__all__ = [
    "MIN_PASSWORD",
    "UserPublic",
    "account_authz",
    "add_user",
    "authz_for",
    "change_own_password",
    "check_password",
    "grant_case",
    "hash_password",
    "list_users",
    "revoke_case",
    "set_active",
    "set_grayscale",
    "set_password",
]

MIN_PASSWORD = 10
_hasher = PasswordHasher()  # argon2id with the library's current recommended cost (RFC 9106 low-memory)


@functools.cache
def _dummy_hash() -> str:
    """Verified against when a name is unknown, so an unknown name costs as long as a wrong password.
    Made on first use: an argon2 hash costs ~0.1 s, which every CLI command paid at import."""
    return _hasher.hash("safehold-timing-equaliser")


@dataclass(frozen=True, slots=True)
class UserPublic:
    id: int
    name: str
    role: str
    active: bool
    cases: list[int]


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise SafeholdError(f"a password needs at least {MIN_PASSWORD} characters")
    return _hasher.hash(password)


def check_password(stored: str | None, password: str) -> bool:
    """Constant work whether or not the user exists."""
    try:
        return _hasher.verify(stored or _dummy_hash(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def _role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise SafeholdError(f"role must be one of {', '.join(r.value for r in Role)}") from None


def _user(s: Session, name: str) -> User:
    u = s.scalar(select(User).where(User.name == name))
    if u is None:
        raise NotFoundError(f"no user {name!r}")
    return u


def _own(s: Session, authz: Authz) -> User:
    u = s.get(User, authz.user_id) if authz.user_id is not None else None
    if u is None:
        raise NotFoundError("no such user")
    return u


def _public(s: Session, u: User) -> UserPublic:
    cases = list(s.scalars(select(CaseMember.case_id).where(CaseMember.user_id == u.id).order_by(CaseMember.case_id)))
    return UserPublic(u.id, u.name, u.role, u.active, cases)


def add_user(ctx: ServiceContext, authz: Authz, name: str, role: str, password: str) -> UserPublic:
    require(authz.can_manage_users(), "manage accounts")
    name = name.strip()
    if not name or len(name) > 100 or any(c.isspace() for c in name):
        raise SafeholdError("a user name is 1–100 characters without spaces")
    r = _role(role)
    pw_hash = hash_password(password)
    try:
        with audited(ctx) as log:
            u = User(name=name, password_hash=pw_hash, role=r.value)
            log.session.add(u)
            log.session.flush()
            log(authz.actor, "user-add", target=f"user:{name}", role=r.value)
            return _public(log.session, u)
    except IntegrityError:
        raise SafeholdError(f"a user named {name!r} already exists") from None


def _end_sessions(s: Session, user_id: int, keep: str | None = None) -> int:
    """Revoke the user's open sessions (all but ``keep``, a token hash); how many were open."""
    q = update(WebSession).where(WebSession.user_id == user_id, WebSession.revoked_at.is_(None))
    if keep is not None:
        q = q.where(WebSession.token_hash != keep)
    return int(s.execute(q.values(revoked_at=utcnow())).rowcount)  # type: ignore[attr-defined]


def set_password(ctx: ServiceContext, authz: Authz, name: str, password: str) -> None:
    """An admin's reset: the user's open sessions end with it (a reset often follows a leak)."""
    require(authz.can_manage_users(), "manage accounts")
    pw_hash = hash_password(password)
    with audited(ctx) as log:
        u = _user(log.session, name)
        u.password_hash = pw_hash
        ended = _end_sessions(log.session, u.id)
        log(authz.actor, "user-password", target=f"user:{name}", sessions_ended=ended)


def change_own_password(ctx: ServiceContext, authz: Authz, current: str, new: str, keep_session: str) -> None:
    """A user's own change, proven by the current password; their other sessions end."""
    require(authz.can_change_own_account(), "change a password (passwords belong to named users)")
    pw_hash = hash_password(new)
    with ctx.db.session() as s:
        u = s.get(User, authz.user_id)
        stored = u.password_hash if u is not None else None
    if not check_password(stored, current):
        record_event(ctx, authz.actor, "password-change-refused")
        raise AuthError("the current password is wrong")
    with audited(ctx) as log:
        u = _own(log.session, authz)
        u.password_hash = pw_hash
        ended = _end_sessions(log.session, u.id, keep_session)
        log(authz.actor, "password-change", target=f"user:{u.name}", sessions_ended=ended)


def set_active(ctx: ServiceContext, authz: Authz, name: str, active: bool) -> None:
    """Disable (someone left the unit, a laptop was lost) or re-enable an account. Disabling
    ends its sessions at once; re-enabling does not bring them back."""
    require(authz.can_manage_users(), "manage accounts")
    with audited(ctx) as log:
        u = _user(log.session, name)
        u.active = active
        ended = 0 if active else _end_sessions(log.session, u.id)
        log(authz.actor, "user-enable" if active else "user-disable", target=f"user:{name}", sessions_ended=ended)


def grant_case(ctx: ServiceContext, authz: Authz, name: str, case_ref: str | int) -> None:
    require(authz.can_manage_users(), "manage case membership")
    with audited(ctx) as log:
        u = _user(log.session, name)
        case = resolve_case(log.session, case_ref)
        if log.session.get(CaseMember, (case.id, u.id)) is None:
            log.session.add(CaseMember(case_id=case.id, user_id=u.id))
            log(authz.actor, "member-add", case.id, f"user:{name}")


def revoke_case(ctx: ServiceContext, authz: Authz, name: str, case_ref: str | int) -> None:
    require(authz.can_manage_users(), "manage case membership")
    with audited(ctx) as log:
        u = _user(log.session, name)
        case = resolve_case(log.session, case_ref)
        log.session.execute(delete(CaseMember).where(CaseMember.case_id == case.id, CaseMember.user_id == u.id))
        log(authz.actor, "member-remove", case.id, f"user:{name}")


def list_users(ctx: ServiceContext, authz: Authz) -> list[UserPublic]:
    require(authz.can_manage_users(), "list accounts")
    with ctx.db.session() as s:
        return [_public(s, u) for u in s.scalars(select(User).order_by(User.id))]


def authz_for(s: Session, user: User) -> Authz:
    cases = frozenset(s.scalars(select(CaseMember.case_id).where(CaseMember.user_id == user.id)))
    return Authz(user.id, user.name, Role(user.role), cases)


def account_authz(ctx: ServiceContext, name: str) -> Authz:
    """The rights of an active account by name (its role and case memberships)."""
    with ctx.db.session() as s:
        u = s.scalar(select(User).where(User.name == name))
        if u is None:
            raise AuthError(f"no account named {name!r}")
        if not u.active:
            raise AuthError(f"the account {name!r} is disabled")
        return authz_for(s, u)


def set_grayscale(ctx: ServiceContext, authz: Authz, grayscale: bool) -> None:
    """Each user's own preference: previews in grey as well as blurred."""
    require(authz.can_change_own_account(), "set preferences (they belong to named users)")
    with audited(ctx) as log:
        u = _own(log.session, authz)
        u.grayscale = grayscale
        log(authz.actor, "preferences", target=f"user:{u.name}", grayscale=grayscale)
