"""The webhooks domain: register receivers, see what was delivered to them, send a test."""
