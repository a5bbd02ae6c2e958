"""Accounts: users, sessions and the audit trail."""
