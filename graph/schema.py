"""The root schema, composed from one package per domain."""

from __future__ import annotations

from functools import cache
from typing import Annotated

import strawberry
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.schema.config import StrawberryConfig

from core.settings import Settings
from graph.accounts.admin import AdminMutations
from graph.accounts.listing import AccountListQueries
from graph.accounts.mutations import AccountMutations
from graph.accounts.queries import AccountQueries
from graph.accounts.security_events import (
    SecurityEvent,
    SecurityEventQueries,
    SecurityEventSubscriptions,
)
from graph.accounts.two_factor import TwoFactorMutations
from graph.accounts.types import AuditEvent, User
from graph.context import Info
from graph.credentials.mutations import CredentialMutations
from graph.credentials.queries import CredentialQueries
from graph.credentials.types import CloudCredential
from graph.error_pipeline import AppSchema
from graph.errors import MaskInternalErrors
from graph.findings.mutations import FindingMutations
from graph.findings.queries import FindingQueries
from graph.findings.subscriptions import FindingSubscriptions
from graph.findings.types import Finding
from graph.hardening.extensions import QueryLimits, RateLimits
from graph.hardening.input_text import InputText
from graph.inventory.history_queries import HistoryQueries
from graph.inventory.queries import InventoryQueries
from graph.inventory.types import CloudResource
from graph.node import Node, resolve_node
from graph.operation_metrics import OperationMetrics
from graph.operations.keys import OperationsQueries
from graph.permissions import AdminsNeedTotp
from graph.sync.mutations import SyncMutations
from graph.sync.queries import SyncQueries
from graph.sync.subscriptions import SyncSubscriptions
from graph.sync.types import SyncJob
from graph.tracing import OperationTracing
from graph.webhooks.mutations import WebhookMutations
from graph.webhooks.queries import WebhookQueries
from graph.webhooks.types import Webhook, WebhookDelivery


@strawberry.type(
    description="Read the inventory, findings, credentials, jobs and accounts you own."
)
class Query(
    AccountQueries,
    AccountListQueries,
    SecurityEventQueries,
    CredentialQueries,
    InventoryQueries,
    HistoryQueries,
    SyncQueries,
    OperationsQueries,
    WebhookQueries,
    FindingQueries,
):
    @strawberry.field(
        description="Any object by its global ID; null when it does not exist or is not yours.",
        permission_classes=[AdminsNeedTotp],
    )
    async def node(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="A global ID.")],
    ) -> Node | None:
        return await resolve_node(info, id)


@strawberry.type(
    description="Change what you own: credentials, accounts, syncs, webhooks, findings."
)
class Mutation(
    AccountMutations,
    TwoFactorMutations,
    AdminMutations,
    CredentialMutations,
    SyncMutations,
    WebhookMutations,
    FindingMutations,
):
    pass


@strawberry.type(description="Follow long-running work as it happens.")
class Subscription(SyncSubscriptions, SecurityEventSubscriptions, FindingSubscriptions):
    pass


def build_schema(*, plain_field_execution: bool = True) -> strawberry.Schema:
    execution_context_class = None
    if plain_field_execution:
        # Imported only when wanted: its import checks graphql-core's internals, and
        # PLAIN_FIELD_EXECUTION=false must serve even where that check fails.
        from graph.execution import PlainFieldExecutionContext

        execution_context_class = PlainFieldExecutionContext
    return AppSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[
            User,
            AuditEvent,
            SecurityEvent,
            CloudCredential,
            CloudResource,
            SyncJob,
            Webhook,
            WebhookDelivery,
            Finding,
        ],
        config=StrawberryConfig(auto_camel_case=True),
        execution_context_class=execution_context_class,
        extensions=[
            # Limits first: their validation rules must be in place before ValidationCache runs.
            OperationTracing,
            QueryLimits,
            # Before the rate limiter, which reads (and hashes) the e-mail of log-in fields.
            InputText,
            RateLimits,
            OperationMetrics,
            MaskInternalErrors,
            lambda: ParserCache(maxsize=512),
            lambda: ValidationCache(maxsize=512),
        ],
    )


@cache
def schema_for(plain_field_execution: bool) -> strawberry.Schema:
    """One schema per process and configuration."""
    return build_schema(plain_field_execution=plain_field_execution)


def app_schema(settings: Settings) -> strawberry.Schema:
    return schema_for(settings.plain_field_execution)


def __getattr__(name: str) -> strawberry.Schema:
    # `schema`, built on first use, so importing this module never imports the fast path.
    if name == "schema":
        return schema_for(True)
    raise AttributeError(name)
