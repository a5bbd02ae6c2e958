"""Webhooks: events queued in the transaction that causes them, delivered signed (Standard
Webhooks) by the workers, over connections whose address is checked when they are opened."""
