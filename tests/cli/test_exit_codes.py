"""Exit codes: 0 clean, 1 findings/changes, 2 errors; stated by `--help` and the README alike."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from helpers.report_repo import invoke

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.mark.parametrize(
    ("command", "one"),
    [("check", "findings"), ("diff", "there are changes"), ("fix", "findings remain"), ("merge-reports", "findings")],
)
def test_help_states_the_exit_codes(command: str, one: str, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "400")  # keep each sentence on one line
    text = " ".join(invoke(command, "--help").stdout.split())
    status = re.search(r"Exit status: (.*?)\.", text)
    assert status is not None, command
    assert "0 clean" in status[1] and f"1 {one}" in status[1] and ", 2 a " in status[1]


def test_readme_documents_the_exit_codes() -> None:
    section = README.read_text(encoding="utf-8").split("### Exit status", 1)[1].split("\n## ", 1)[0]
    rows = {line.split("|")[1].strip(): line for line in section.splitlines() if re.match(r"\| [012] \|", line)}
    assert set(rows) == {"0", "1", "2"}
    assert "no findings" in rows["0"] and "findings" in rows["1"] and "could not be processed" in rows["2"]


@pytest.mark.parametrize(
    ("files", "args", "status"),
    [
        ({"ok.py": "x = 1\n"}, ["check", "."], 0),
        ({"bad.py": "def f(:\n"}, ["check", "."], 2),
        ({"bad.py": "def f(:\n"}, ["check", "--exit-zero", "."], 2),
        ({"ok.py": "x = 1\n"}, ["check", "--format", "sarif", "."], 0),
        ({"ok.py": "x = 1\n"}, ["diff", "--format", "github", "."], 0),
        ({"ok.py": "x = 1\n"}, ["check", "--format", "yaml", "."], 2),
    ],
)
def test_exit_status(tmp_path: Path, monkeypatch, files: dict[str, str], args: list[str], status: int) -> None:
    monkeypatch.chdir(tmp_path)
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    assert invoke(*args).exit_code == status
