"""Stratograph's commands (CLI, admin, demo, key rotation, serving): the top of the layer order.

The GraphQL API over a multi-cloud inventory lives in the packages below this one; see
docs/contributing.md for the order.
"""

__version__ = "0.1.0"
