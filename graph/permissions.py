"""Permission classes; resolvers never check who is asking by hand.

With REQUIRE_2FA_FOR_ADMINS on, an admin who has not enrolled two-factor log-in is refused
(`FORBIDDEN`, `extensions.reason: TOTP_REQUIRED`) by every class here except `IsSignedIn`, which
guards only what enrolling needs (`me`, `beginTotpSetup`, `confirmTotpSetup`).
"""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission
from strawberry.types import Info

from db.enums import Role
from graph.errors import ErrorCode, PublicError
from graph.node import from_global_id

TOTP_REQUIRED = "TOTP_REQUIRED"
TOTP_REQUIRED_MESSAGE = (
    "Administrators must enable two-factor log-in first (beginTotpSetup, then confirmTotpSetup)"
)


def _refuse_admin_without_totp(info: Info[Any, Any]) -> None:
    user = info.context.user
    if (
        user is not None
        and user.role == Role.ADMIN
        and not user.totp_enabled
        and info.context.runtime.settings.admins_need_totp
    ):
        raise PublicError(TOTP_REQUIRED_MESSAGE, ErrorCode.FORBIDDEN, reason=TOTP_REQUIRED)


class IsSignedIn(BasePermission):
    """Authenticated; the only class an admin without two-factor log-in passes."""

    message = "Authentication required: send a valid access token as 'Authorization: Bearer …'"
    error_extensions = {"code": ErrorCode.UNAUTHENTICATED.value}

    def has_permission(self, source: Any, info: Info[Any, Any], **kwargs: Any) -> bool:
        return info.context.user is not None


class IsAuthenticated(IsSignedIn):
    def has_permission(self, source: Any, info: Info[Any, Any], **kwargs: Any) -> bool:
        if info.context.user is None:
            return False
        _refuse_admin_without_totp(info)
        return True


class AdminsNeedTotp(BasePermission):
    """For fields anyone may call (anonymous too): only the admin two-factor rule applies."""

    message = TOTP_REQUIRED_MESSAGE
    error_extensions = {"code": ErrorCode.FORBIDDEN.value, "reason": TOTP_REQUIRED}

    def has_permission(self, source: Any, info: Info[Any, Any], **kwargs: Any) -> bool:
        _refuse_admin_without_totp(info)
        return True


class IsAdmin(BasePermission):
    message = "This field is for administrators only"
    error_extensions = {"code": ErrorCode.FORBIDDEN.value}

    def has_permission(self, source: Any, info: Info[Any, Any], **kwargs: Any) -> bool:
        user = info.context.user
        if user is None:
            # Anonymous callers learn they must log in, not that the field is admin-only.
            raise PublicError(IsAuthenticated.message, ErrorCode.UNAUTHENTICATED)
        if user.role != Role.ADMIN:
            return False
        _refuse_admin_without_totp(info)
        return True


class UserFilterIsForAdmins(BasePermission):
    """`filter.userId` naming someone else is for administrators only."""

    message = "Filtering by another user's ID is for administrators only"
    error_extensions = {"code": ErrorCode.FORBIDDEN.value}

    def has_permission(self, source: Any, info: Info[Any, Any], **kwargs: Any) -> bool:
        user = info.context.user
        wanted = getattr(kwargs.get("filter"), "user_id", None)
        if user is None or wanted is None or user.role == Role.ADMIN:
            return True
        try:
            return bool(from_global_id(str(wanted), "User")[1] == user.id)
        except PublicError:
            return False
