"""Passwords, tokens, vault cryptography, rate limits and HTTP hardening."""
