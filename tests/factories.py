"""Rows inserted directly, for tests that need data without going through the API."""

from __future__ import annotations

import uuid

from db.enums import Role
from db.models import UserRow
from graph.runtime import Runtime

UNUSABLE_PASSWORD_HASH = "!"


async def create_user(
    runtime: Runtime,
    email: str | None = None,
    *,
    role: Role = Role.USER,
    full_name: str = "Test User",
    password_hash: str = UNUSABLE_PASSWORD_HASH,
    is_active: bool = True,
) -> UserRow:
    user = UserRow(
        id=uuid.uuid4(),
        email=email or f"user-{uuid.uuid4().hex[:8]}@example.com",
        full_name=full_name,
        password_hash=password_hash,
        role=role,
        is_active=is_active,
    )
    async with runtime.database.system_session() as session:
        session.add(user)
    return user


def access_token(runtime: Runtime, user: UserRow) -> str:
    token, _ = runtime.signer.issue_access(user.id)
    return token
