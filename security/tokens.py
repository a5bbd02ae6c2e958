"""Access tokens: short-lived JWTs signed with SECRET_KEY, verifiable with previous keys.

The `kid` header names the signing key by a digest (never the key itself), so verification picks
the right key during rotation without trying each one.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

ISSUER = "stratograph"
ACCESS = "access"
CLOCK_SKEW_SECONDS = 10


class InvalidToken(Exception):
    """Any reason a token is refused; the reason is logged, never shown to the caller."""


def key_id(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: uuid.UUID
    token_id: str
    issued_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class TokenSigner:
    secret_key: str
    previous_keys: tuple[str, ...]
    algorithm: str
    access_ttl: timedelta

    def issue_access(self, user_id: uuid.UUID, *, now: datetime | None = None) -> tuple[str, int]:
        """Return the encoded token and its lifetime in seconds."""
        issued = now or datetime.now(UTC)
        expires = issued + self.access_ttl
        claims = {
            "sub": str(user_id),
            # Millisecond precision: a password change must outdate tokens issued just before it.
            "iat": round(issued.timestamp(), 3),
            "nbf": int(issued.timestamp()),
            "exp": int(expires.timestamp()),
            "jti": uuid.uuid4().hex,
            "type": ACCESS,
            "iss": ISSUER,
        }
        token = jwt.encode(
            claims,
            self.secret_key,
            algorithm=self.algorithm,
            headers={"kid": key_id(self.secret_key)},
        )
        return token, int(self.access_ttl.total_seconds())

    def verify_access(self, token: str) -> AccessClaims:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken("malformed token") from exc
        secret = self._key_for(header.get("kid"))
        try:
            claims = jwt.decode(
                token,
                secret,
                algorithms=[self.algorithm],
                issuer=ISSUER,
                leeway=CLOCK_SKEW_SECONDS,
                options={"require": ["sub", "exp", "iat", "jti", "type", "iss"]},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(type(exc).__name__) from exc
        if claims.get("type") != ACCESS:
            raise InvalidToken("not an access token")
        try:
            user_id = uuid.UUID(str(claims["sub"]))
        except ValueError as exc:
            raise InvalidToken("bad subject") from exc
        return AccessClaims(
            user_id=user_id,
            token_id=str(claims["jti"]),
            issued_at=datetime.fromtimestamp(float(claims["iat"]), UTC),
            expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
        )

    def _key_for(self, kid: object) -> str:
        for candidate in (self.secret_key, *self.previous_keys):
            if key_id(candidate) == kid:
                return candidate
        raise InvalidToken("unknown signing key")
