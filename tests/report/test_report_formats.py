"""Golden outputs: each format, on a small repository of real findings, byte for byte.

Each case runs twice, in two fresh copies of the repository at different places, and both runs
must print the same bytes (paths are relative, order is deterministic) as the reviewed golden
file in ``tests/fixtures/reports/golden``.  After an intended change of output, regenerate the
golden files and review their diff::

    GRADSAFE_REGENERATE_GOLDEN=1 python -m pytest tests/report/test_report_formats.py
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers.report_repo import REPORTS, invoke, make_repo, pin_passes

GOLDEN = REPORTS / "golden"
REGENERATE = os.environ.get("GRADSAFE_REGENERATE_GOLDEN") == "1"

# golden file -> (command line, the stream that carries the report, expected exit status).
# broken.py makes every run exit 2.
CASES = {
    "check.txt": (["check", "."], "stdout", 2),
    "check-show-fixes.txt": (["check", "--show-fixes", "."], "stdout", 2),
    "check-statistics.txt": (["check", "--statistics", "."], "stdout", 2),
    "check.json": (["check", "--format", "json", "."], "stdout", 2),
    "check.sarif": (["check", "--format", "sarif", "."], "stdout", 2),
    "check.github": (["check", "--format", "github", "."], "stdout", 2),
    "diff.patch": (["diff", "--no-verify", "."], "stdout", 2),
    "diff-show-fixes.txt": (["diff", "--no-verify", "--show-fixes", "."], "stderr", 2),
    "diff.json": (["diff", "--no-verify", "--format", "json", "."], "stderr", 2),
    "fix-statistics.txt": (["fix", "--no-verify", "--statistics", "."], "stdout", 2),
    "fix.sarif": (["fix", "--no-verify", "--format", "sarif", "."], "stdout", 2),
}


# diff and fix run with --no-verify: these goldens pin the formats, with a fake rewrite pass, and must
# not depend on running code.  Verification's effect on reports is tested in tests/verify/test_verification_stage.py.


def run_case(root: Path, args: list[str], stream: str, status: int, monkeypatch) -> bytes:
    monkeypatch.chdir(make_repo(root))
    result = invoke(*args)
    assert result.exit_code == status, result.output
    output = result.stdout_bytes if stream == "stdout" else result.stderr_bytes
    assert str(root).encode() not in output, "reports must name files relative to the working directory"
    return output


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_output(name: str, tmp_path: Path, monkeypatch) -> None:
    pin_passes(monkeypatch)
    args, stream, status = CASES[name]
    first = run_case(tmp_path / "one", args, stream, status, monkeypatch)
    second = run_case(tmp_path / "elsewhere" / "two", args, stream, status, monkeypatch)
    assert first == second, "two runs must print the same bytes"
    golden = GOLDEN / name
    if REGENERATE:
        golden.parent.mkdir(exist_ok=True)
        golden.write_bytes(first)
    assert golden.exists(), f"no golden file {golden.name}; see this module's docstring"
    assert first.decode() == golden.read_text(encoding="utf-8")


def test_every_golden_file_belongs_to_a_case() -> None:
    assert sorted(path.name for path in GOLDEN.iterdir()) == sorted(CASES)
