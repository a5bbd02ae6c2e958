"""`completeLogIn`: the second step of a log-in on an account with two-factor log-in.

The `mfaToken` names the account; the code (or a recovery code) is checked under the account's
lock (`refresh_tokens.lock_account`), so two completions of one account run one after the other:
a code, a recovery code and the token itself each work once. A wrong code counts against the
token (dead after `mfa_challenges.MAX_ATTEMPTS`), against the log-in rate limit, and towards
ACCOUNT_UNDER_ATTACK like a wrong password.
"""

from __future__ import annotations

from datetime import UTC, datetime

from db.enums import AuditOutcome
from security import mfa_challenges, refresh_tokens
from security.authentication import Authenticator, SessionOutcome
from security.clients import Client
from security.password_policy import Problem, ProblemCode
from security.security_events import log_in_refused
from security.two_factor import accept_code, load_factor, spend_recovery_code
from security.vault import Vault

INVALID_MFA_TOKEN = "The mfaToken is unknown, expired, used or locked. Log in again."  # noqa: S105
WRONG_CODE = "The code is wrong or was already used."
ONE_OF = "Send either a code from your authenticator app or a recovery code."


def _refused(name: str | None, code: ProblemCode, message: str) -> SessionOutcome:
    return SessionOutcome(problems=[Problem(name, code, message)])


async def complete_log_in(
    authenticator: Authenticator,
    vault: Vault,
    mfa_token: str,
    code: str | None,
    recovery_code: str | None,
    client: Client,
) -> SessionOutcome:
    code, recovery_code = (code or "").strip() or None, (recovery_code or "").strip() or None
    if (code is None) == (recovery_code is None):
        problem = ProblemCode.REQUIRED if code is None else ProblemCode.INVALID
        return _refused("code", problem, ONE_OF)
    database = authenticator.database
    invalid_token = _refused("mfaToken", ProblemCode.INVALID_TOKEN, INVALID_MFA_TOKEN)
    async with database.system_session() as session:
        found = await mfa_challenges.find_live(session, mfa_token, now=datetime.now(UTC))
    if found is None:
        await log_in_refused(database, None, "invalid_mfa_token", client)
        return invalid_token
    wrong: SessionOutcome | None = None
    async with database.system_session() as session:
        user = await refresh_tokens.lock_account(session, found.user_id)
        now = datetime.now(UTC)
        # Re-read under the lock: a completion that ran meanwhile used the token up.
        challenge = await mfa_challenges.find_live(session, mfa_token, now=now)
        if challenge is None or user is None or not user.is_active:
            return invalid_token
        cutoff = user.tokens_valid_after
        if cutoff is not None and challenge.created_at < cutoff:
            # Issued before a password change or "log out everywhere": it ended with the rest.
            return invalid_token
        method = "totp" if code is not None else "recovery_code"
        factor = await load_factor(session, user.id)
        if factor is None or factor.confirmed_at is None:
            # Two-factor log-in was reset since logIn: a setup begun after it proves nothing.
            accepted = False
        elif code is not None:
            accepted = await accept_code(session, vault, factor, code)
        else:
            accepted = await spend_recovery_code(session, user.id, recovery_code or "")
        if not accepted:
            left = await mfa_challenges.count_failure(session, challenge)
            authenticator.audit(
                session, "login", AuditOutcome.FAILURE, user, client, reason="invalid_code"
            )
            message = WRONG_CODE + (f" {left} tries left." if left else " Log in again.")
            wrong = _refused("code" if code else "recoveryCode", ProblemCode.INVALID_CODE, message)
        else:
            await mfa_challenges.consume(session, challenge, now=now)
            issued = await authenticator.finish_log_in(session, user, client, now, method=method)
    if wrong is not None:
        await log_in_refused(database, found.user_id, "invalid_code", client)
        return wrong
    return SessionOutcome(session=issued)
