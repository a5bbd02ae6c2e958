"""Streamed exports: rows from a server-side cursor, encoded as CSV or NDJSON chunk by chunk."""
