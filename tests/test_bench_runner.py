"""`python -m bench`: one table with a common ratio column; a broken benchmark is reported."""

from __future__ import annotations

import os
import sys
import types

import pytest

from bench.__main__ import QUICK, discover, main


def test_every_module_is_discovered_and_the_quick_knobs_are_set_without_overriding(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # given two stand-in benchmark modules, quick mode, and one knob set explicitly
    good = types.ModuleType("bench.fake_good")
    good.main = lambda: [{"case": "fast", "× floor": "0.42", "extra": os.environ["BENCH_ROUNDS"]}]  # type: ignore[attr-defined]
    bad = types.ModuleType("bench.fake_bad")

    def broken() -> list[dict[str, object]]:
        raise RuntimeError("boom")

    bad.main = broken  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "bench.fake_good", good)
    monkeypatch.setitem(sys.modules, "bench.fake_bad", bad)
    monkeypatch.setenv("BENCH_QUICK", "1")
    monkeypatch.setenv("BENCH_ROUNDS", "7")
    for key in QUICK:
        if key != "BENCH_ROUNDS":
            monkeypatch.delenv(key, raising=False)
    # when both run
    code = main(["fake_good", "fake_bad"])
    out = capsys.readouterr().out.splitlines()
    # then one table: ratio column right after the case, the failure as a row, exit code 1
    assert code == 1
    assert [c.strip() for c in out[0].split("|")][:3] == ["benchmark", "case", "ratio"]
    good_row = [c.strip() for c in out[2].split("|")]
    assert good_row[:3] == ["fake_good", "fast", "0.42"] and "7" in good_row
    assert "FAILED: RuntimeError: boom" in out[3]
    assert os.environ["BENCH_RESOURCES"] == QUICK["BENCH_RESOURCES"]
    assert {"read_api", "login_burst", "vault_rotation", "sync_engine"} <= set(discover())
