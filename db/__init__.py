"""Persistence: SQLAlchemy 2 async models, sessions scoped to a user, and migrations."""
