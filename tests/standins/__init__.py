"""Local stand-ins for AWS, Azure and GCP that the real SDKs talk to (see fixtures.py)."""
