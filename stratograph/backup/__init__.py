"""`stratograph backup` and `stratograph restore [--verify]`: encrypted, self-describing,
consistent backups of the whole database (SQLite's online backup API, or `pg_dump`).
"""
