"""The base layer: settings, metrics, logging and the request context of a log line.

Every other package may import this one; it imports none of them, so a setting or a metric can be
used from the database layer up to the commands without an import pointing up (see
docs/contributing.md for the layer order).
"""
