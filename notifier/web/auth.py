"""Who may do what: API tokens (stored as sha256 only), roles, CSRF tokens for forms, and the audit trail.

Roles are ordered viewer < reviewer < admin. On a loopback bind, pages are readable without a token; the API,
any non-loopback bind and every action need one. Browsers carry the token in an HttpOnly, SameSite=Strict
cookie set by the sign-in form; every form also carries a CSRF token bound to that cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from notifier.errors import NotifierError
from notifier.store.models import ApiToken, WebAudit
from notifier.timeutil import utcnow

ROLES = ("viewer", "reviewer", "admin")
TOKEN_PREFIX = "snt_"


class TokenError(NotifierError):
    """A token that cannot be created (duplicate name, unknown role)."""


@dataclass(frozen=True)
class Principal:
    name: str
    role: str | None  # None: anonymous (loopback read access only)

    def can(self, role: str) -> bool:
        return self.role is not None and ROLES.index(self.role) >= ROLES.index(role)


ANONYMOUS = Principal("anonymous (local)", None)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(engine: Engine, name: str, role: str) -> str:
    """A new random token; only its hash is stored, so this is the one time it can be seen."""
    if role not in ROLES:
        raise TokenError(f"--role {role!r}: use one of {', '.join(ROLES)}")
    name = name.strip()
    if not name or len(name) > 100:
        raise TokenError("the token name must be 1 to 100 characters")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    try:
        with Session(engine) as session, session.begin():
            session.add(ApiToken(name=name, role=role, token_hash=token_hash(token), created_at=utcnow()))
    except IntegrityError:
        raise TokenError(f"a token named {name!r} exists; revoke it first or choose another name") from None
    audit(engine, "cli", "token.create", name, f"role {role}")
    return token


def revoke_token(engine: Engine, name: str) -> bool:
    with Session(engine) as session, session.begin():
        done = session.execute(
            update(ApiToken).where(ApiToken.name == name, ApiToken.revoked_at.is_(None)).values(revoked_at=utcnow())
        ).rowcount
    if done:
        audit(engine, "cli", "token.revoke", name)
    return bool(done)


def list_tokens(engine: Engine) -> list[ApiToken]:
    with Session(engine) as session:
        return list(session.execute(select(ApiToken).order_by(ApiToken.name)).scalars())


def principal_for(engine: Engine, token: str | None) -> Principal | None:
    """The holder of a presented token, or None for an unknown or revoked one."""
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    with Session(engine) as session, session.begin():
        row = session.execute(
            select(ApiToken).where(ApiToken.token_hash == token_hash(token), ApiToken.revoked_at.is_(None))
        ).scalar_one_or_none()
        if row is None:
            return None
        now = utcnow()
        if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
            row.last_used_at = now  # at most once a minute: reads stay reads
        return Principal(row.name, row.role)


def audit(
    engine: Engine,
    actor: str,
    action: str,
    target: str | None = None,
    detail: str | None = None,
    client: str | None = None,
) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(WebAudit).values(
                at=utcnow(),
                actor=actor[:100],
                action=action[:40],
                target=(target or "")[:300] or None,
                detail=detail,
                client=(client or "")[:100] or None,
            )
        )


def is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def load_secret(data_dir: Path) -> bytes:
    """The key that signs CSRF tokens, kept beside the data so a restart does not void open forms."""
    path = data_dir / "web-secret"
    try:
        data = path.read_bytes()
        if len(data) >= 32:
            return data
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    data = secrets.token_bytes(32)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.chmod(0o600)
    tmp.replace(path)
    return data


def csrf_token(secret: bytes, session_token: str) -> str:
    return hmac.new(secret, b"csrf:" + session_token.encode(), hashlib.sha256).hexdigest()


def csrf_ok(secret: bytes, session_token: str | None, presented: str | None) -> bool:
    if not session_token or not presented:
        return False
    return hmac.compare_digest(csrf_token(secret, session_token), presented)
