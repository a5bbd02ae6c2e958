"""Relay connections: signed keyset cursors, page arguments, and the shared `PageInfo` type."""
