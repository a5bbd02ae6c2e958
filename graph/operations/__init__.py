"""Operator-facing fields: the health of the server's own keys."""
