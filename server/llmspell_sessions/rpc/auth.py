"""Bearer tokens -> Caller (tenant, subject, role)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from ..config import TokenConfig
from ..errors import InvalidArgument, Unauthenticated
from ..model import Caller, Role

OPEN_CALLER = Caller(tenant="default", subject="anonymous", role=Role.OPERATOR)
"""Without tokens the server only listens on loopback (or --insecure): whoever reaches it owns the store."""


class Authenticator:
    """Resolves the authorization header; with no tokens configured every caller is OPEN_CALLER."""

    def __init__(self, tokens: tuple[TokenConfig, ...]) -> None:
        self._tokens: list[tuple[bytes, Caller]] = []
        for token in tokens:
            try:
                digest = bytes.fromhex(token.sha256)
                role = Role[token.role.upper()]
            except (ValueError, KeyError) as exc:
                raise InvalidArgument(f"bad token entry for subject {token.subject!r}: {exc}") from exc
            if len(digest) != 32:
                raise InvalidArgument(f"token sha256 for {token.subject!r} must be 64 hex characters")
            self._tokens.append((digest, Caller(token.tenant, token.subject, role)))

    @property
    def open(self) -> bool:
        return not self._tokens

    def caller(self, authorization: Sequence[str]) -> Caller:
        """The caller the request's ``authorization`` header values name; Unauthenticated when they name
        none, or when there is more than one (which one counts would be a guess)."""
        if len(authorization) > 1:
            raise Unauthenticated(
                f"{len(authorization)} 'authorization' headers: send exactly one 'authorization: Bearer <token>'"
            )
        if self.open:
            return OPEN_CALLER
        return self._resolve(authorization[0] if authorization else "")

    def _resolve(self, authorization: str) -> Caller:
        if not authorization or not authorization.lower().startswith("bearer "):
            raise Unauthenticated("an 'authorization: Bearer <token>' header is required")
        digest = hashlib.sha256(authorization[7:].strip().encode()).digest()
        found = None
        for known, caller in self._tokens:  # compare with every entry: time does not depend on which
            if hmac.compare_digest(known, digest):
                found = caller
        if found is None:
            raise Unauthenticated("unknown token")
        return found
