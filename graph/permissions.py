"""Permission classes; resolvers never check who is asking by hand."""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission
from strawberry.types import Info

from db.enums import Role
from graph.errors import ErrorCode, PublicError


class IsAuthenticated(BasePermission):
    message = "Authentication required: send a valid access token as 'Authorization: Bearer …'"
    error_extensions = {"code": ErrorCode.UNAUTHENTICATED.value}

    def has_permission(self, source: Any, info: Info[Any, Any], **kwargs: Any) -> bool:
        return info.context.user is not None


class IsAdmin(BasePermission):
    message = "This field is for administrators only"
    error_extensions = {"code": ErrorCode.FORBIDDEN.value}

    def has_permission(self, source: Any, info: Info[Any, Any], **kwargs: Any) -> bool:
        user = info.context.user
        if user is None:
            # Anonymous callers learn they must log in, not that the field is admin-only.
            raise PublicError(IsAuthenticated.message, ErrorCode.UNAUTHENTICATED)
        return bool(user.role == Role.ADMIN)
