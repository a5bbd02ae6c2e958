"""Stratograph: a GraphQL API over a multi-cloud inventory with an encrypted credential vault."""

__version__ = "0.1.0"
