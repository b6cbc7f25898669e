"""Access tokens and roles.

Roles and what they may do (``admin`` may do everything):

======== ============================================================
viewer   read schedules, jobs and health; validate cases
operator viewer + create schedules
planner  viewer + storage sizing (``POST /v1/sizing``, a later issue)
admin    everything
======== ============================================================

Tokens are high-entropy random strings; only their SHA-256 is kept, in the
database (``vpp token create``) or in memory (``VPP_API_TOKENS``), and
comparisons use :func:`hmac.compare_digest`. A token never appears in a log.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db import Token

ROLES = ("viewer", "operator", "planner", "admin")

#: Permission → the roles that hold it.
PERMISSIONS: dict[str, frozenset[str]] = {
    "read": frozenset({"viewer", "operator", "planner", "admin"}),
    "schedule": frozenset({"operator", "admin"}),
    "size": frozenset({"planner", "admin"}),
    "admin": frozenset({"admin"}),
}


class AuthError(Exception):
    """Missing or unknown token (401)."""


class ForbiddenError(Exception):
    """A known token whose role lacks the permission (403)."""

    def __init__(self, role: str, permission: str) -> None:
        self.role = role
        self.permission = permission
        allowed = ", ".join(r for r in ROLES if r in PERMISSIONS[permission])
        super().__init__(f"role {role!r} may not do this (needs one of: {allowed})")


@dataclass(frozen=True)
class Principal:
    """Who is calling: the role and a label (never the token)."""

    role: str
    name: str

    def can(self, permission: str) -> bool:
        return self.role in PERMISSIONS[permission]


def hash_token(token: str) -> str:
    """SHA-256 of a token, hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    """A new token: 256 random bits, URL-safe, with a prefix that says what it is."""
    return "vpp_" + secrets.token_urlsafe(32)


def parse_env_tokens(spec: str) -> list[tuple[str, str]]:
    """``"tok1:operator,tok2:viewer"`` → [(sha256, role)]; ValueError naming the entry (not the token)."""
    out = []
    for i, item in enumerate(x.strip() for x in spec.split(",")):
        if not item:
            continue
        token, sep, role = item.rpartition(":")
        role = role.strip()
        if not sep or not token:
            raise ValueError(f"VPP_API_TOKENS entry {i + 1}: expected TOKEN:ROLE")
        if role not in ROLES:
            raise ValueError(f"VPP_API_TOKENS entry {i + 1}: unknown role {role!r} (expected one of {', '.join(ROLES)})")
        out.append((hash_token(token), role))
    return out


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header; AuthError when absent or malformed."""
    if not authorization:
        raise AuthError("missing Authorization header: send 'Authorization: Bearer <token>'")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("malformed Authorization header: expected 'Bearer <token>'")
    return token.strip()


def authenticate(token: str, env_tokens: list[tuple[str, str]], session: Session) -> Principal:
    """The principal of a token (environment tokens first, then the database); AuthError if unknown."""
    digest = hash_token(token)
    role = None
    for i, (known, known_role) in enumerate(env_tokens):
        if hmac.compare_digest(digest, known) and role is None:
            role, name = known_role, f"env-token-{i + 1}"
    if role is not None:
        return Principal(role=role, name=name)
    row = session.scalars(select(Token).where(Token.token_sha256 == digest)).first()
    if row is not None and hmac.compare_digest(row.token_sha256, digest):
        return Principal(role=row.role, name=row.name or f"token-{row.id}")
    raise AuthError("unknown token")


def create_token(session: Session, role: str, name: str | None = None) -> str:
    """Store the hash of a new token with ``role``; return the token (shown once)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}: expected one of {', '.join(ROLES)}")
    token = new_token()
    session.add(Token(token_sha256=hash_token(token), role=role, name=name))
    session.commit()
    return token
