"""Benchmarks: each `bench/<name>.py` has `main() -> list[dict[str, object]]`; `python -m bench`
runs them all and prints one table. Each row compares a measurement with a baseline measured in
the same run, so the ratio means something on any machine."""
