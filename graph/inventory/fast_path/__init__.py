"""The read fast path for plain `resources` pages (see docs/performance.md and `serve.py`)."""
