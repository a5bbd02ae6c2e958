"""Cloud providers (one module per cloud) and the sync engine."""
