"""Check one credential with its cloud's cheapest identity call and grade the answer."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from db.enums import HealthStatus
from db.models import CloudCredentialRow
from providers.base import CloudInventory, HealthResult, ProviderError, RetryPolicy
from providers.endpoints import CloudEndpoints
from providers.registry import inventory_for
from security.vault import Vault, VaultError

logger = logging.getLogger("stratograph.providers")

DEGRADED_AFTER_MS = 1000
VERIFY_DEADLINE_SECONDS = 30.0
# An identity check should answer quickly or say why; long retry ladders belong to syncs.
VERIFY_RETRY = RetryPolicy(max_attempts=3, initial_backoff=0.5, max_backoff=5.0, timeout=20.0)


async def check_health(
    row: CloudCredentialRow, vault: Vault, endpoints: CloudEndpoints
) -> HealthResult:
    """HEALTHY, DEGRADED (slower than one second) or ERROR with a message safe to show."""
    try:
        # Building SDK clients is blocking (model files, imports): keep it off the event loop
        # and out of the measured response time.
        inventory = await asyncio.to_thread(
            inventory_for, row, vault, endpoints, retry=VERIFY_RETRY
        )
    except VaultError:
        logger.warning("credential %s could not be decrypted for verification", row.id)
        return HealthResult(
            HealthStatus.ERROR,
            None,
            "The stored secret could not be decrypted (is its key still in ENCRYPTION_KEYS?).",
        )
    except ProviderError as exc:
        return HealthResult(HealthStatus.ERROR, None, exc.message)
    try:
        return await _timed_verify(inventory, row)
    finally:
        with contextlib.suppress(Exception):  # closing is best effort; the result stands
            await inventory.close()


async def _timed_verify(inventory: CloudInventory, row: CloudCredentialRow) -> HealthResult:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(inventory.verify(), VERIFY_DEADLINE_SECONDS)
    except ProviderError as exc:
        return HealthResult(HealthStatus.ERROR, _elapsed_ms(started), exc.message)
    except TimeoutError:
        return HealthResult(
            HealthStatus.ERROR,
            _elapsed_ms(started),
            f"The cloud did not answer within {VERIFY_DEADLINE_SECONDS:.0f} seconds.",
        )
    except Exception as exc:
        # Only the type is logged: a foreign exception's text is not ours to vouch for.
        logger.error("credential %s verification failed unexpectedly: %s", row.id, type(exc))
        return HealthResult(
            HealthStatus.ERROR, _elapsed_ms(started), "The check failed unexpectedly."
        )
    elapsed = _elapsed_ms(started)
    status = HealthStatus.DEGRADED if elapsed > DEGRADED_AFTER_MS else HealthStatus.HEALTHY
    return HealthResult(status, elapsed, None)


def _elapsed_ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
