"""bench/realworld.py's tables and known-gaps file, from made-up results (static, no gradsafe run)."""

from __future__ import annotations

import importlib.util
import sys
import tomllib
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import kit  # noqa: E402  (beside this file)


@pytest.fixture(scope="module")
def bench():
    path = HERE.parent.parent / "bench" / "realworld.py"
    spec = importlib.util.spec_from_file_location("realworld_bench", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    try:
        spec.loader.exec_module(module)  # type: ignore[union-attr]
        yield module
    finally:
        del sys.modules[spec.name]


def _results(bench):
    R = bench.Result
    return [
        R("a_fixed", "loops", "hazard", "m-one", "https://x/1", findings=1, codes=["GS101"], fix=kit.FIXED,
          trace=kit.FIXED, trace_found=True),
        R("b_missed", "loops", "hazard", "m-two", "https://x/2", fix=kit.UNCHANGED, trace=kit.FIXED,
          trace_found=True),
        R("c_wrong", "views", "hazard", "m-three", "https://x/3", findings=2, codes=["GS201"], fix=kit.WRONG,
          fix_detail="the rewrite computes other values: w.grad", trace=kit.UNCHANGED),
        R("d_partial", "views", "hazard", "m-four", "https://x/4", findings=1, codes=["GS101"],
          fix=kit.STILL_RAISES, trace=kit.WRONG, trace_found=True),
        R("e_same", "silent-bugs", "hazard", "m-five", "https://x/7", findings=1, codes=["GS501"],
          fix=kit.STILL_WRONG),
        R("s_clean", "safe", "safe", "s-one", "https://x/5"),
        R("s_flagged", "safe", "safe", "s-two", "https://x/6", findings=1, codes=["GS102"], fix=kit.FIXED),
    ]


def _row(table: str, first: str) -> list[str]:
    line = next(line for line in table.splitlines() if line.startswith(f"| {first} |"))
    return [cell.strip().strip("*") for cell in line.strip("|").split("|")][1:]


def test_scoreboard_counts_per_group_and_in_total(bench):
    table = bench.scoreboard(_results(bench))
    # cases, hazards, detected, fixed by fix, found by trace, fixed by trace, wrong, safe, flagged, changed
    assert _row(table, "loops") == ["2", "2", "1", "1", "2", "2", "0", "0", "0", "0"]
    assert _row(table, "views") == ["2", "2", "2", "0", "1", "0", "2", "0", "0", "0"]
    assert _row(table, "safe") == ["2", "0", "0", "0", "0", "0", "0", "2", "1", "1"]
    assert _row(table, "silent-bugs") == ["1", "1", "1", "0", "0", "0", "0", "0", "0", "0"]
    assert _row(table, "**total**") == ["7", "5", "4", "1", "3", "2", "2", "2", "1", "1"]


def test_case_table_has_a_line_per_case_with_its_report(bench):
    table = bench.case_table(_results(bench))
    assert len(table.splitlines()) == 2 + 7
    assert "| `c_wrong` | views | m-three | yes (GS201) | wrong: the rewrite computes other values" in table
    assert "| `s_flagged` | safe | s-two | flagged (GS102) |" in table
    assert "<https://x/2>" in table


def test_known_gaps_list_the_hazards_fix_does_not_fix(bench, tmp_path, monkeypatch):
    monkeypatch.setattr(bench, "KNOWN_GAPS", tmp_path / "known_gaps.toml")
    bench.write_known_gaps(_results(bench))
    gaps = tomllib.loads((tmp_path / "known_gaps.toml").read_text())
    assert set(gaps) == {"b_missed", "c_wrong", "d_partial", "e_same", "s_flagged"}
    assert "the silent bug remains" in gaps["e_same"]
    assert gaps["s_flagged"].startswith("s-two: a false positive: check flags it (GS102), and fix rewrite")
    assert gaps["b_missed"].startswith("m-two: check reports nothing")
    assert gaps["b_missed"].endswith("trace --fix sees it at run time and fixes it")
    assert gaps["c_wrong"].startswith("m-three: fix makes a wrong rewrite")
    assert gaps["d_partial"].startswith("m-four: detected (GS101)")


def test_known_gaps_keep_the_reasons_already_written(bench, tmp_path, monkeypatch):
    monkeypatch.setattr(bench, "KNOWN_GAPS", tmp_path / "known_gaps.toml")
    (tmp_path / "known_gaps.toml").write_text('b_missed = "m-two: by hand"\na_fixed = "m-one: was a gap"\n')
    bench.write_known_gaps(_results(bench))
    gaps = tomllib.loads((tmp_path / "known_gaps.toml").read_text())
    assert gaps["b_missed"] == "m-two: by hand"
    assert "a_fixed" not in gaps
