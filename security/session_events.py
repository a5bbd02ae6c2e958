"""In-process notice that an account's sessions changed (revoked, deactivated, role changed).

Whatever writes such a change calls `notify(user_id)` after its transaction commits; long-lived
connections of that user (WebSockets) wake up at once and re-check their token against the
database. Other processes do not hear it: their connections re-check on a bounded interval
(`WEBSOCKET_RECHECK_SECONDS`), so the notice only makes the common single-process case immediate.
"""

from __future__ import annotations

from core.user_wakeups import UserWakeups


class SessionEvents(UserWakeups):
    """`listen(user_id)` gives an event set on every `notify(user_id)` while the block runs
    (clear it after waking)."""
