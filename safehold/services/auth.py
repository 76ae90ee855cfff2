"""Signing in and out, and turning a session cookie back into a user.

The cookie holds a random token; the store keeps only its SHA-256, the user, a CSRF token and
the expiry (absolute and idle), so a session can be revoked server-side. Failed sign-ins are
counted per user name and client address in a sliding window; past the limit, sign-in is refused
for that pair until the window has moved on, even with the right password, so guessing cannot
continue in parallel with a correct attempt. Every sign-in, refusal and sign-out is audited.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update

from safehold.core.clock import aware, utcnow
from safehold.core.errors import AuthError, TooManyAttemptsError
from safehold.services.accounts import authz_for, check_password
from safehold.services.audit import audited, record_event
from safehold.services.authz import Authz
from safehold.services.context import ServiceContext
from safehold.store.review_models import User, WebSession

__all__ = ["LoginThrottle", "SignedIn", "csrf_ok", "login", "logout", "resolve_session", "token_hash"]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class LoginThrottle:
    """Failed sign-ins in a sliding window, per (user name, address) and per address alone;
    thread-safe, in memory.

    The pair limit stops guessing one account's password; the address limit (higher) stops one
    client trying a few passwords on many accounts (spraying). A success clears its pair only,
    so a sprayer holding one valid account cannot reset the address count. Held by the app and
    passed in (no module state). Counting in memory means a restart clears the counts; that is
    acceptable for one server process, and every failure is in the audit log.
    """

    def __init__(self, max_failures: int, window_seconds: float, max_per_address: int | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_failures = max_failures
        self.max_per_address = max_per_address or 4 * max_failures
        self.window = window_seconds
        self._clock = clock
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._by_address: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, q: deque[float]) -> deque[float]:
        now = self._clock()
        while q and q[0] <= now - self.window:
            q.popleft()
        return q

    def _wait(self, q: deque[float], limit: int) -> int:
        if len(self._recent(q)) < limit:
            return 0
        return max(1, math.ceil(q[-limit] + self.window - self._clock()))

    def retry_after(self, name: str, client: str) -> int:
        """Seconds until this pair may try again; 0 when it may now."""
        with self._lock:
            pair = self._failures.get((name.lower(), client), deque())
            address = self._by_address.get(client, deque())
            return max(self._wait(pair, self.max_failures), self._wait(address, self.max_per_address))

    def failed(self, name: str, client: str) -> None:
        with self._lock:
            now = self._clock()
            self._recent(self._failures.setdefault((name.lower(), client), deque())).append(now)
            self._recent(self._by_address.setdefault(client, deque())).append(now)
            if len(self._by_address) > 10_000:  # bounded memory under a flood of addresses
                for key in [k for k, q in self._by_address.items() if not self._recent(q)]:
                    del self._by_address[key]
                for pair in [k for k, q in self._failures.items() if not self._recent(q)]:
                    del self._failures[pair]

    def succeeded(self, name: str, client: str) -> None:
        with self._lock:
            self._failures.pop((name.lower(), client), None)


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A resolved session: who, what they may do, and the CSRF token their forms must carry."""

    authz: Authz
    csrf_token: str
    token_hash: str
    grayscale: bool


def login(ctx: ServiceContext, throttle: LoginThrottle, name: str, password: str, client: str) -> str:
    """Returns a new session token (for the cookie); raises ``AuthError`` otherwise."""
    wait = throttle.retry_after(name, client)
    if wait:
        record_event(ctx, f"user:{name[:80]}", "login-throttled", client=client)
        raise TooManyAttemptsError(f"too many failed sign-ins: try again in {wait} s", wait)
    with ctx.db.session() as s:
        user = s.scalar(select(User).where(User.name == name))
        stored = user.password_hash if user is not None and user.active else None
    if not check_password(stored, password) or user is None:
        throttle.failed(name, client)
        record_event(ctx, f"user:{name[:80]}", "login-failed", client=client)
        raise AuthError("unknown user name or wrong password")
    throttle.succeeded(name, client)
    token = secrets.token_urlsafe(32)
    now = utcnow()
    web = ctx.settings.web
    with audited(ctx) as log:
        log.session.add(WebSession(token_hash=token_hash(token), user_id=user.id, csrf_token=secrets.token_hex(32),
                                   created_at=now, last_seen_at=now,
                                   expires_at=now + timedelta(hours=web.session_hours), client=client[:100]))
        log(f"user:{user.name}", "login", client=client)
    return token


def resolve_session(ctx: ServiceContext, token: str | None) -> SignedIn:
    """The user behind a cookie, refreshing its idle timer; ``AuthError`` if none is valid."""
    if not token:
        raise AuthError("not signed in")
    now = utcnow()
    idle = timedelta(minutes=ctx.settings.web.idle_minutes)
    th = token_hash(token)
    with ctx.db.session() as s:
        ws = s.get(WebSession, th)
        if ws is None or ws.revoked_at is not None or aware(ws.expires_at) <= now \
                or aware(ws.last_seen_at) + idle <= now:
            raise AuthError("session expired or signed out")
        user = s.get(User, ws.user_id)
        if user is None or not user.active:
            raise AuthError("account disabled")
        if now - aware(ws.last_seen_at) > timedelta(seconds=30):  # bounded writes: not on every request
            ws.last_seen_at = now
        return SignedIn(authz_for(s, user), ws.csrf_token, th, user.grayscale)


def logout(ctx: ServiceContext, signed: SignedIn) -> None:
    with audited(ctx) as log:
        log.session.execute(update(WebSession).where(WebSession.token_hash == signed.token_hash)
                            .values(revoked_at=utcnow()))
        log(signed.authz.actor, "logout")


def csrf_ok(signed: SignedIn, presented: str | None) -> bool:
    return presented is not None and hmac.compare_digest(signed.csrf_token, presented)
