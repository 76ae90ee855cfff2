"""Who may do what: one predicate per use case, checked by the service with one line,
``require(authz.can_review(case_id))``, as Aleph does. Routes never decide access themselves,
so the CLI, the web app and tests all go through the same rules.

Roles: *reviewers* look at and categorise the material of their cases; *investigators* do the
same and also run their cases (settings, exports, the team's exposure); *admins* manage accounts
and memberships and, when they are members, act as investigators; *auditors* read the audit log
and never see case material. Every right over a case needs membership of that case.

Running a case (opening one, adding evidence, ingest, analyse, match, exports) is for
investigators and admins who are members; reviewers look but do not run. Hash sets are not case
material but they decide what every case flags: investigators and admins manage them, every case
role may read them. The local operator at the CLI (``Authz.local``) may do everything: whoever can
run the CLI on the data directory can read the store anyway. ``--as NAME`` narrows the CLI to one
account's rights.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from safehold.core.errors import ForbiddenError

__all__ = ["Authz", "Role", "require"]


class Role(StrEnum):
    ADMIN = "admin"
    INVESTIGATOR = "investigator"
    REVIEWER = "reviewer"
    AUDITOR = "auditor"


_CASE_ROLES = frozenset({Role.ADMIN, Role.INVESTIGATOR, Role.REVIEWER})
_LEAD_ROLES = frozenset({Role.ADMIN, Role.INVESTIGATOR})


@dataclass(frozen=True, slots=True)
class Authz:
    """What one signed-in user (or the local CLI operator) may do; built once per request."""

    user_id: int | None
    name: str
    role: Role
    cases: frozenset[int] = field(default_factory=frozenset)
    system: bool = False  # the local operator at the CLI, who holds the store's files anyway

    @classmethod
    def local(cls, actor: str) -> Authz:
        return cls(None, actor, Role.ADMIN, frozenset(), system=True)

    @property
    def actor(self) -> str:
        """How the audit log names this user."""
        return self.name if self.system else f"user:{self.name}"

    def is_member(self, case_id: int) -> bool:
        return self.system or case_id in self.cases

    def can_read_case(self, case_id: int) -> bool:
        return self.is_member(case_id) and self.role in _CASE_ROLES

    def can_review(self, case_id: int) -> bool:
        """Reveal, categorise, confirm a colleague's decision, write notes and tags."""
        return self.can_read_case(case_id)

    def can_manage_case(self, case_id: int) -> bool:
        """Case settings (category scheme, two-person rule), name, description and status."""
        return self.is_member(case_id) and self.role in _LEAD_ROLES

    def can_list_cases(self) -> bool:
        """Everyone sees the cases they are on (an auditor is on none)."""
        return True

    def can_create_case(self) -> bool:
        """A named creator joins the case it opens."""
        return self.system or self.role in _LEAD_ROLES

    def can_add_evidence(self, case_id: int) -> bool:
        return self.can_manage_case(case_id)

    def can_ingest(self, case_id: int) -> bool:
        return self.can_manage_case(case_id)

    def can_analyse(self, case_id: int) -> bool:
        """Re-run new or newer extractors over the case's stored contents."""
        return self.can_manage_case(case_id)

    def can_analyse_all(self) -> bool:
        """``analyse --all`` runs over the cases one may analyse; only those who run cases ask for it."""
        return self.system or self.role in _LEAD_ROLES

    def can_match(self, case_id: int) -> bool:
        return self.can_manage_case(case_id)

    def can_match_all(self) -> bool:
        """Re-match every case after a list changed: derived data that must follow the lists, so
        those who manage the lists may; each sees the results of their own cases only."""
        return self.can_manage_hashsets()

    def can_export(self, case_id: int) -> bool:
        return self.can_manage_case(case_id)

    def can_read_hashsets(self) -> bool:
        return self.system or self.role in _CASE_ROLES

    def can_manage_hashsets(self) -> bool:
        """Import, replace and remove lists: they decide what every case flags."""
        return self.system or self.role in _LEAD_ROLES

    def can_see_own_exposure(self) -> bool:
        """Exposure is counted per named user."""
        return self.user_id is not None

    def can_change_own_account(self) -> bool:
        """Passwords and preferences belong to named users, not to the local operator."""
        return self.user_id is not None

    def can_see_team_exposure(self, case_id: int) -> bool:
        return self.can_manage_case(case_id)

    def can_read_audit(self) -> bool:
        return self.system or self.role == Role.AUDITOR

    def can_manage_users(self) -> bool:
        return self.role == Role.ADMIN


def require(allowed: bool, what: str = "do this") -> None:
    """The one-line guard at the top of every use case."""
    if not allowed:
        raise ForbiddenError(f"not allowed to {what}")
