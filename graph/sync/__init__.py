"""Sync jobs: starting them, following them, listing them."""
