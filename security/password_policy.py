"""What a new account must look like: a normalized email, a strong-enough password, a name.

Each check returns `Problem`s (field, code, message) rather than raising, so a sign-up reports
every mistake at once; `graph.user_errors` turns them into `userErrors`.
"""

from __future__ import annotations

import string
from functools import lru_cache
from pathlib import Path

from email_validator import EmailNotValidError, validate_email

from core.problems import Problem, ProblemCode

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 128
# Longer inputs are not worth hashing: no stored password can be that long.
MAX_CHECKED_PASSWORD_LENGTH = 4 * MAX_PASSWORD_LENGTH
MAX_FULL_NAME_LENGTH = 200
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")
_TRAILING_NOISE = string.digits + string.punctuation + " "


class PolicyError(ValueError):
    """Raised by callers outside GraphQL (the CLI) that want one exception with every problem."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(problem.message for problem in problems))
        self.problems = problems


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(
        line.strip().lower() for line in lines if line.strip() and not line.startswith("#")
    )


def normalize_email(raw: str, field: str = "email") -> tuple[str | None, list[Problem]]:
    """Trimmed, syntax-checked and lower-cased; no DNS lookups (sign-up must work offline)."""
    candidate = raw.strip()
    if not candidate:
        return None, [Problem((field,), ProblemCode.REQUIRED, "Enter an email address.")]
    try:
        valid = validate_email(candidate, check_deliverability=False)
    except EmailNotValidError as exc:
        return None, [
            Problem((field,), ProblemCode.INVALID, f"This email address is invalid: {exc}")
        ]
    return valid.normalized.lower(), []


def check_full_name(raw: str, field: str = "fullName") -> tuple[str, list[Problem]]:
    name = " ".join(raw.split())
    if not name:
        return name, [Problem((field,), ProblemCode.REQUIRED, "Enter your full name.")]
    if len(name) > MAX_FULL_NAME_LENGTH:
        message = f"Use at most {MAX_FULL_NAME_LENGTH} characters for your name."
        return name, [Problem((field,), ProblemCode.TOO_LONG, message)]
    return name, []


def check_password(
    password: str, *, email: str | None = None, field: str = "password"
) -> list[Problem]:
    """The original platform's rules (≥ 8 characters, a digit, an upper-case letter) and more."""
    if len(password) < MIN_PASSWORD_LENGTH:
        message = f"Use at least {MIN_PASSWORD_LENGTH} characters."
        return [Problem((field,), ProblemCode.TOO_SHORT, message)]
    if len(password) > MAX_PASSWORD_LENGTH:
        message = f"Use at most {MAX_PASSWORD_LENGTH} characters."
        return [Problem((field,), ProblemCode.TOO_LONG, message)]
    problems: list[Problem] = []
    if not any(char.isdigit() for char in password):
        problems.append(Problem((field,), ProblemCode.PASSWORD_TOO_WEAK, "Include a digit."))
    if not any(char.isupper() for char in password):
        message = "Include an upper-case letter."
        problems.append(Problem((field,), ProblemCode.PASSWORD_TOO_WEAK, message))
    if _is_common(password):
        message = "This password is too common; choose one that is harder to guess."
        problems.append(Problem((field,), ProblemCode.PASSWORD_TOO_WEAK, message))
    elif email and _contains_email_name(password, email):
        message = "Do not build the password from your email address."
        problems.append(Problem((field,), ProblemCode.PASSWORD_TOO_WEAK, message))
    return problems


def _is_common(password: str) -> bool:
    lowered = password.lower().strip()
    base = lowered.rstrip(_TRAILING_NOISE)
    known = common_passwords()
    return lowered in known or (bool(base) and base in known)


def _contains_email_name(password: str, email: str) -> bool:
    local = email.split("@", 1)[0].lower()
    return len(local) >= 4 and local in password.lower()
