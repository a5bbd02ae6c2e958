"""Password hashing off the event loop, with bounded concurrency; the password policy rules."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from passlib.hash import bcrypt

from core.problems import ProblemCode
from security.password_policy import (
    check_full_name,
    check_password,
    common_passwords,
    normalize_email,
)
from security.passwords import PasswordHasher

PASSWORD = "Correct-Horse-42"


async def test_new_hashes_are_argon2id_and_verify() -> None:
    # given
    hasher = PasswordHasher.fast_for_tests()
    # when
    hashed = await hasher.hash(PASSWORD)
    # then
    assert hashed.startswith("$argon2id$")
    assert (await hasher.verify(PASSWORD, hashed)).ok
    assert not (await hasher.verify("Wrong-Horse-42", hashed)).ok
    hasher.close()


async def test_bcrypt_hashes_verify_and_come_back_upgraded() -> None:
    # given a hash from the original platform
    hasher = PasswordHasher.fast_for_tests()
    legacy = bcrypt.using(rounds=4).hash(PASSWORD)
    # when
    right = await hasher.verify(PASSWORD, legacy)
    wrong = await hasher.verify("Wrong-Horse-42", legacy)
    # then
    assert hasher.needs_update(legacy)
    assert right.ok and right.new_hash is not None and right.new_hash.startswith("$argon2id$")
    assert not wrong.ok and wrong.new_hash is None
    hasher.close()


@pytest.mark.parametrize("stored", ["!", "", "plaintext-password", "$unknown$abc"])
async def test_unusable_hashes_fail_instead_of_raising(stored: str) -> None:
    hasher = PasswordHasher.fast_for_tests()
    assert (await hasher.verify(PASSWORD, stored)) == (await hasher.verify_dummy(PASSWORD))
    assert not (await hasher.verify(PASSWORD, stored)).ok
    hasher.close()


async def test_hashing_does_not_block_the_event_loop() -> None:
    # given production cost parameters and a ticker measuring the loop's responsiveness
    hasher = PasswordHasher(concurrency=1)
    gaps: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.002)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    ticking = asyncio.create_task(ticker())
    # when two hashes run
    started = time.perf_counter()
    await hasher.hash(PASSWORD)
    await hasher.hash(PASSWORD)
    elapsed = time.perf_counter() - started
    done.set()
    await ticking
    hasher.close()
    # then the loop kept ticking all along: no gap near the length of a hash
    assert len(gaps) >= 5
    assert max(gaps) < elapsed / 2, (max(gaps), elapsed)


async def test_concurrent_hashing_is_bounded() -> None:
    # given a hasher allowing two hashes at once, whose work we can observe
    hasher = PasswordHasher(argon2_memory_kib=64, argon2_rounds=1, concurrency=2)
    lock = threading.Lock()
    running, peak = 0, 0
    real_hash = hasher.context.hash

    def observed_hash(secret: str) -> str:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.02)  # stands in for CPU work long enough to overlap
        with lock:
            running -= 1
        return str(real_hash(secret))

    hasher.context.hash = observed_hash
    # when eight hashes are requested at once
    results = await asyncio.gather(*(hasher.hash(PASSWORD) for _ in range(8)))
    hasher.close()
    # then all completed, never more than two at a time
    assert len(results) == 8
    assert peak == 2


def test_common_password_list_is_shipped() -> None:
    known = common_passwords()
    assert len(known) >= 250
    assert {"password", "123456", "qwerty", "iloveyou"} <= known


@pytest.mark.parametrize(
    ("password", "expected"),
    [
        ("Correct-Horse-42", []),
        ("Tr0ub4dor&3xyz", []),
        ("Aa1" + "b" * 125, []),
        ("Aa1" + "b" * 126, [ProblemCode.TOO_LONG]),
        ("Aa1bbbb", [ProblemCode.TOO_SHORT]),
        ("correct-horse-42", [ProblemCode.PASSWORD_TOO_WEAK]),
        ("Correct-Horse", [ProblemCode.PASSWORD_TOO_WEAK]),
        ("correct-horse", [ProblemCode.PASSWORD_TOO_WEAK, ProblemCode.PASSWORD_TOO_WEAK]),
        ("PASSWORD1", [ProblemCode.PASSWORD_TOO_WEAK]),
        ("Welcome123!", [ProblemCode.PASSWORD_TOO_WEAK]),
        ("Dragon2024", [ProblemCode.PASSWORD_TOO_WEAK]),
    ],
)
def test_password_rules(password: str, expected: list[ProblemCode]) -> None:
    assert [problem.code for problem in check_password(password)] == expected


def test_password_built_from_the_email_is_refused() -> None:
    problems = check_password("Margaret1999", email="margaret@example.com")
    assert [p.code for p in problems] == [ProblemCode.PASSWORD_TOO_WEAK]
    assert check_password("Margaret1999", email="bo@example.com") == []


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("Ada@Example.com", "ada@example.com"),
        ("  ada@example.com\t", "ada@example.com"),
        ("ADA.LOVELACE+tag@EXAMPLE.ORG", "ada.lovelace+tag@example.org"),
    ],
)
def test_emails_are_normalized(raw: str, normalized: str) -> None:
    assert normalize_email(raw) == (normalized, [])


@pytest.mark.parametrize("raw", ["", "ada", "ada@", "@example.com", "ada@@example.com"])
def test_malformed_emails_are_refused(raw: str) -> None:
    value, problems = normalize_email(raw)
    assert value is None and len(problems) == 1


def test_full_name_is_trimmed_and_required() -> None:
    assert check_full_name("  Ada   King ") == ("Ada King", [])
    assert [p.code for p in check_full_name(" \t ")[1]] == [ProblemCode.REQUIRED]
