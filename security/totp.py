"""TOTP codes (RFC 6238, via pyotp) and recovery codes: generation and checking, no storage.

A code is matched against the current 30-second step and one step either side (clock drift),
and only for steps after the last one accepted, so a code seen once (shoulder-surfed, phished in
real time, replayed from a log) never works again.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

import pyotp

ISSUER = "Stratograph"
DIGITS = 6
STEP_SECONDS = 30
DRIFT_STEPS = 1
RECOVERY_CODE_COUNT = 10
# 16 characters of base32: 80 random bits, so a stored SHA-256 cannot be reversed by guessing.
_RECOVERY_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"
_RECOVERY_GROUPS = 4
_RECOVERY_GROUP_LENGTH = 4


@dataclass(frozen=True, slots=True)
class Enrolment:
    secret: str
    uri: str


def new_enrolment(account_name: str) -> Enrolment:
    secret = pyotp.random_base32()  # 32 base32 characters: 160 bits, RFC 4226's recommendation
    uri = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=account_name, issuer_name=ISSUER
    )
    return Enrolment(secret, uri)


def current_step(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // STEP_SECONDS)


def matching_step(
    secret: str, code: str, *, after_step: int | None, now: float | None = None
) -> int | None:
    """The time step `code` is valid for (±1 step around now, later than `after_step`), or None."""
    candidate = "".join(code.split())
    if len(candidate) != DIGITS or not candidate.isdigit():
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    step = current_step(now)
    for offset in range(-DRIFT_STEPS, DRIFT_STEPS + 1):
        candidate_step = step + offset
        if after_step is not None and candidate_step <= after_step:
            continue
        if hmac.compare_digest(totp.generate_otp(candidate_step), candidate):
            return candidate_step
    return None


def new_recovery_codes() -> list[str]:
    return ["-".join(_group() for _ in range(_RECOVERY_GROUPS)) for _ in range(RECOVERY_CODE_COUNT)]


def _group() -> str:
    return "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_GROUP_LENGTH))


def recovery_code_digest(code: str) -> str | None:
    """The stored form of a recovery code, forgiving case, spaces and dashes; None if malformed."""
    normalized = "".join(ch for ch in code.lower() if ch not in " -\t")
    if len(normalized) != _RECOVERY_GROUPS * _RECOVERY_GROUP_LENGTH or any(
        ch not in _RECOVERY_ALPHABET for ch in normalized
    ):
        return None
    return _digest(normalized)


def generated_code_digest(code: str) -> str:
    """The stored form of a code `new_recovery_codes` made."""
    return _digest(code.replace("-", ""))


def _digest(normalized: str) -> str:
    return hashlib.sha256(normalized.encode()).hexdigest()
