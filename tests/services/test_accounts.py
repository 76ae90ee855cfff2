"""Accounts, sign-in and its throttle, membership and the CLI that manages them."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from safehold.cli.app import app as cli
from safehold.core.errors import AuthError, ForbiddenError, SafeholdError, TooManyAttemptsError
from safehold.services.accounts import add_user, change_own_password, grant_case, list_users, set_active, set_password
from safehold.services.auth import LoginThrottle, login, resolve_session, token_hash
from safehold.services.authz import Authz, Role
from safehold.services.cases import create_case
from safehold.services.context import ServiceContext
from safehold.store.review_models import User, WebSession

OPERATOR = Authz.local("test:officer")  # the local operator: use cases need an actor's rights

LOCAL = Authz.local("test:admin")
PW = "a long enough password"


def test_passwords_are_stored_as_argon2id_only(ctx: ServiceContext) -> None:
    add_user(ctx, LOCAL, "ivy", "investigator", PW)
    with ctx.db.session() as s:
        stored = s.scalar(select(User.password_hash).where(User.name == "ivy"))
    assert stored is not None and stored.startswith("$argon2id$") and PW not in stored
    with pytest.raises(SafeholdError, match="at least"):
        add_user(ctx, LOCAL, "short", "reviewer", "123")
    with pytest.raises(SafeholdError, match="role"):
        add_user(ctx, LOCAL, "x", "superuser", PW)
    with pytest.raises(SafeholdError, match="exists"):
        add_user(ctx, LOCAL, "ivy", "reviewer", PW)
    with pytest.raises(ForbiddenError):
        add_user(ctx, Authz(5, "rex", Role.INVESTIGATOR, frozenset()), "eve", "admin", PW)


def test_sessions_store_only_a_token_hash_and_expire(ctx: ServiceContext) -> None:
    add_user(ctx, LOCAL, "ivy", "investigator", PW)
    case = create_case(ctx, OPERATOR, "c1")
    grant_case(ctx, LOCAL, "ivy", case.id)
    throttle = LoginThrottle(5, 900)
    token = login(ctx, throttle, "ivy", PW, "127.0.0.1")
    signed = resolve_session(ctx, token)
    assert signed.authz.name == "ivy" and signed.authz.cases == frozenset({case.id})
    with ctx.db.session() as s:
        assert s.get(WebSession, token) is None  # the raw token is never stored
    with pytest.raises(AuthError):
        resolve_session(ctx, token + "x")
    with pytest.raises(AuthError):
        login(ctx, throttle, "ivy", "wrong password!", "127.0.0.1")
    with pytest.raises(AuthError):
        login(ctx, throttle, "nobody", PW, "127.0.0.1")


def test_throttle_counts_per_user_and_address_in_a_window() -> None:
    now = [0.0]
    t = LoginThrottle(3, 60, clock=lambda: now[0])
    for _ in range(3):
        t.failed("Ivy", "10.0.0.1")
    assert t.retry_after("ivy", "10.0.0.1") == 60
    assert t.retry_after("ivy", "10.0.0.2") == 0  # another address
    assert t.retry_after("rex", "10.0.0.1") == 0  # another user
    now[0] = 61
    assert t.retry_after("ivy", "10.0.0.1") == 0  # the window moved on


def test_throttle_stops_one_address_spraying_many_user_names() -> None:
    now = [0.0]
    t = LoginThrottle(3, 60, max_per_address=5, clock=lambda: now[0])
    for i in range(5):  # one guess each at five accounts: under every pair's limit
        assert t.retry_after(f"user{i}", "10.0.0.9") == 0
        now[0] += 1
        t.failed(f"user{i}", "10.0.0.9")
    assert t.retry_after("someone-else", "10.0.0.9") == 56  # the address is out until its first failure ages
    assert t.retry_after("someone-else", "10.0.0.8") == 0
    t.succeeded("user0", "10.0.0.9")  # a success on one account does not clear the address
    assert t.retry_after("user0", "10.0.0.9") > 0
    now[0] = 62
    assert t.retry_after("someone-else", "10.0.0.9") == 0


def test_throttled_sign_in_refuses_even_the_right_password(ctx: ServiceContext) -> None:
    add_user(ctx, LOCAL, "ivy", "investigator", PW)
    throttle = LoginThrottle(2, 900)
    for _ in range(2):
        with pytest.raises(AuthError):
            login(ctx, throttle, "ivy", "not the password", "1.2.3.4")
    with pytest.raises(TooManyAttemptsError):
        login(ctx, throttle, "ivy", PW, "1.2.3.4")
    assert login(ctx, throttle, "ivy", PW, "5.6.7.8")


def test_cli_user_add_reads_the_password_from_stdin(ctx: ServiceContext) -> None:
    create_case(ctx, OPERATOR, "op cli")
    env = {"SAFEHOLD_DATABASE_URL": ctx.db.url, "SAFEHOLD_DATA_DIR": str(ctx.settings.data_dir)}
    r = CliRunner().invoke(cli, ["user", "add", "rex", "--role", "reviewer", "--case", "op cli"], input=PW + "\n",
                           env=env)
    assert r.exit_code == 0, r.output
    assert "rex" in r.output and PW not in r.output
    assert login(ctx, LoginThrottle(5, 60), "rex", PW, "127.0.0.1")
    r = CliRunner().invoke(cli, ["user", "list"], env=env)
    assert r.output.split()[1:3] == ["rex", "reviewer"]
    assert [u.cases for u in list_users(ctx, LOCAL) if u.name == "rex"] == [[1]]
    bad = CliRunner().invoke(cli, ["user", "add", "eve", "--role", "reviewer"], input="short\n", env=env)
    assert bad.exit_code == 1


def test_reset_and_disable_end_open_sessions(ctx: ServiceContext) -> None:
    add_user(ctx, LOCAL, "ivy", "investigator", PW)
    throttle = LoginThrottle(5, 900)
    first, second = (login(ctx, throttle, "ivy", PW, "10.0.0.1") for _ in range(2))
    set_password(ctx, LOCAL, "ivy", "another long password")
    for token in (first, second):
        with pytest.raises(AuthError):
            resolve_session(ctx, token)
    token = login(ctx, throttle, "ivy", "another long password", "10.0.0.1")
    set_active(ctx, LOCAL, "ivy", False)
    with pytest.raises(AuthError):
        resolve_session(ctx, token)
    with pytest.raises(AuthError):
        login(ctx, throttle, "ivy", "another long password", "10.0.0.2")
    set_active(ctx, LOCAL, "ivy", True)
    with pytest.raises(AuthError):  # re-enabling does not revive the old session
        resolve_session(ctx, token)
    assert login(ctx, throttle, "ivy", "another long password", "10.0.0.3")
    with pytest.raises(ForbiddenError):
        set_active(ctx, Authz(9, "rex", Role.INVESTIGATOR, frozenset()), "ivy", False)


def test_own_password_change_needs_the_current_one_and_keeps_this_session(ctx: ServiceContext) -> None:
    add_user(ctx, LOCAL, "ivy", "investigator", PW)
    throttle = LoginThrottle(5, 900)
    here, elsewhere = (login(ctx, throttle, "ivy", PW, "10.0.0.1") for _ in range(2))
    me = resolve_session(ctx, here)
    with pytest.raises(AuthError, match="current password"):
        change_own_password(ctx, me.authz, "not it at all", "a new long password", me.token_hash)
    with pytest.raises(SafeholdError, match="at least"):
        change_own_password(ctx, me.authz, PW, "short", me.token_hash)
    change_own_password(ctx, me.authz, PW, "a new long password", token_hash(here))
    assert resolve_session(ctx, here).authz.name == "ivy"
    with pytest.raises(AuthError):
        resolve_session(ctx, elsewhere)
    with pytest.raises(AuthError):
        login(ctx, throttle, "ivy", PW, "10.0.0.1")
    assert login(ctx, throttle, "ivy", "a new long password", "10.0.0.1")


def test_cli_disables_and_enables_accounts(ctx: ServiceContext) -> None:
    add_user(ctx, LOCAL, "ivy", "investigator", PW)
    env = {"SAFEHOLD_DATABASE_URL": ctx.db.url, "SAFEHOLD_DATA_DIR": str(ctx.settings.data_dir)}
    r = CliRunner().invoke(cli, ["user", "disable", "ivy"], env=env)
    assert r.exit_code == 0 and "disabled" in r.output
    assert [u.active for u in list_users(ctx, LOCAL)] == [False]
    assert CliRunner().invoke(cli, ["user", "enable", "ivy"], env=env).exit_code == 0
    assert [u.active for u in list_users(ctx, LOCAL)] == [True]
    assert CliRunner().invoke(cli, ["user", "disable", "nobody"], env=env).exit_code != 0
