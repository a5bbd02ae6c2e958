"""Who is asking, without re-verifying a token's signature on every request.

A verified token's claims are kept (bounded, by token) until the token expires: a signature that
verified once keeps verifying, and expiry is checked again on every use. Nothing about the account
is trusted from memory: its state (active, revocation cut-off, role, two-factor) is re-read by
each request's own page statement, in the snapshot the page comes from, so a log-out, a password
change, a deactivation or a role change written by any process takes effect on the next request.
The remembered role only chooses the database role to act as; a request that finds it changed is
served by the regular path.
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass

from security.tokens import AccessClaims, InvalidToken, TokenSigner

MAX_TOKENS = 4096
MAX_USERS = 4096


@dataclass(frozen=True, slots=True)
class KnownRole:
    role: str  # as stored: "USER" or "ADMIN"
    totp_enabled: bool


class Callers:
    def __init__(self, signer: TokenSigner) -> None:
        self.signer = signer
        self._claims: OrderedDict[str, AccessClaims] = OrderedDict()
        self._roles: OrderedDict[uuid.UUID, KnownRole] = OrderedDict()

    def claims(self, token: str) -> AccessClaims | None:
        """The token's claims while it has not expired; None sends it to the regular path
        (which logs why it refuses it)."""
        found = self._claims.get(token)
        if found is None:
            try:
                found = self.signer.verify_access(token)
            except InvalidToken:
                return None
            self._claims[token] = found
            if len(self._claims) > MAX_TOKENS:
                self._claims.popitem(last=False)
        # No leeway here (verification allows some): near expiry the regular path decides.
        if time.time() >= found.expires_at.timestamp():
            self._claims.pop(token, None)
            return None
        return found

    def role(self, user_id: uuid.UUID) -> KnownRole:
        return self._roles.get(user_id) or KnownRole("USER", False)

    def remember(self, user_id: uuid.UUID, known: KnownRole) -> None:
        self._roles[user_id] = known
        self._roles.move_to_end(user_id)
        if len(self._roles) > MAX_USERS:
            self._roles.popitem(last=False)
