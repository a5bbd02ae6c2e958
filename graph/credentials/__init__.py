"""Cloud credentials: the vault-backed CRUD and health of each credential."""
