"""One file through the pipeline: bad input becomes a per-file error, never a crash."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest

import gradsafe.run.pipeline
from gradsafe.settings.config import FileConfig, Overrides, load_settings, resolve
from gradsafe.files.discovery import SourcePath
from gradsafe.run.pipeline import process_path, process_paths, process_source
from gradsafe.files.source import SourceFile


@pytest.fixture
def settings(tmp_path: Path):
    return load_settings([tmp_path], Overrides(), isolated=True)


def run(path: Path, settings, *, fix: bool = False):
    return process_path(SourcePath(path, path.name), settings, fix=fix)


def only_error(result):
    assert result.findings == [] and len(result.errors) == 1
    error = result.errors[0]
    return error.code, error.message, error.line, error.col


def test_syntax_error_has_code_position_and_no_traceback(tmp_path: Path, settings) -> None:
    path = tmp_path / "bad.py"
    path.write_text('x = 1\ny = "é" +* 2\n', encoding="utf-8")
    code, message, line, col = only_error(run(path, settings))
    assert (code, message, line, col) == ("E999", "SyntaxError: invalid syntax", 2, 9)


def test_null_bytes_are_a_syntax_error(tmp_path: Path, settings) -> None:
    path = tmp_path / "nul.py"
    path.write_bytes(b"x = 1\x00\n")
    assert only_error(run(path, settings))[0] == "E999"


@pytest.mark.parametrize(
    "text",
    ["x = " + "-" * 200_000 + "1\n", "x = " + "+".join(["a"] * 200_000) + "\n"],
    ids=["unary-chain", "long-binop"],
)
def test_absurd_nesting_is_a_clear_error(tmp_path: Path, settings, text: str) -> None:
    path = tmp_path / "deep.py"
    path.write_text(text)
    code, message, _, _ = only_error(run(path, settings))
    assert code == "E999" and "nested too deeply" in message


def test_undecodable_file_reports_where(tmp_path: Path, settings) -> None:
    path = tmp_path / "latin.py"
    path.write_bytes(b"x = 1\ny = '\xe9'\n")
    code, message, line, col = only_error(run(path, settings))
    assert (code, line, col) == ("E902", 2, 5)
    assert "cannot decode byte 0xe9 as utf-8" in message


def test_declared_encoding_is_honoured(tmp_path: Path, settings) -> None:
    path = tmp_path / "latin.py"
    path.write_bytes(b"# -*- coding: latin-1 -*-\ny = '\xe9'\n")
    result = run(path, settings)
    assert result.errors == [] and result.findings == []


def test_directory_and_missing_file(tmp_path: Path, settings) -> None:
    (tmp_path / "d.py").mkdir()
    assert only_error(run(tmp_path / "d.py", settings))[:2] == ("E902", "is a directory, not a file")
    assert only_error(run(tmp_path / "gone.py", settings))[:2] == ("E902", "no such file or directory")


def test_unreadable_file(tmp_path: Path, settings) -> None:
    path = tmp_path / "secret.py"
    path.write_text("x = 1\n")
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running with privileges that ignore permission bits (root)")
        assert only_error(run(path, settings))[:2] == ("E902", "permission denied")
    finally:
        path.chmod(0o644)


def test_internal_error_names_the_file_keeps_the_traceback_and_the_run_goes_on(
    tmp_path: Path, settings, monkeypatch
) -> None:
    def explode(source, tree=None, *, policy=None, confirmed=None):
        if source.display == "a.py":
            raise KeyError("boom")
        return []

    monkeypatch.setattr(gradsafe.run.pipeline, "analyse", explode)
    for name in ("a.py", "b.py"):
        (tmp_path / name).write_text("x = 1\n")
    results = list(process_paths([SourcePath(tmp_path / n, n) for n in ("a.py", "b.py")], settings, fix=False))
    assert [r.display for r in results] == ["a.py", "b.py"]
    error = results[0].errors[0]
    assert error.code == "E001" and error.path == "a.py"
    assert "KeyError: 'boom'" in error.message and "report" in error.message
    assert "Traceback" in error.detail and "explode" in error.detail
    assert results[1].errors == []


def test_recursion_in_the_analysis_is_reported(tmp_path: Path, settings, monkeypatch) -> None:
    def recurse(source, tree=None, *, policy=None, confirmed=None):
        return recurse(source)

    monkeypatch.setattr(gradsafe.run.pipeline, "analyse", recurse)
    (tmp_path / "a.py").write_text("x = 1\n")
    code, message, _, _ = only_error(run(tmp_path / "a.py", settings))
    assert code == "E001" and "nested too deeply to analyse (RecursionError)" in message


@pytest.mark.usefixtures("fake_engine")
def test_selection_per_file_ignores_and_suppressions_filter_findings(tmp_path: Path) -> None:
    source = "a.add_(1)\nb.add_(1)  # gradsafe: ignore[GS1]\n"
    everything = load_settings([tmp_path], Overrides(), isolated=True)
    findings = process_source(SourceFile.from_text(source, tmp_path / "m.py"), everything, fix=False).findings
    assert [f.span.line for f in findings] == [1]
    ignored = load_settings([tmp_path], Overrides(ignore=["GS101"]), isolated=True)
    assert process_source(SourceFile.from_text(source, tmp_path / "m.py"), ignored, fix=False).findings == []
    per_file = resolve(FileConfig(tmp_path / "pyproject.toml", {"per-file-ignores": {"m.py": ["GS1"]}}), Overrides())
    assert process_source(SourceFile.from_text(source, tmp_path / "m.py"), per_file, fix=False).findings == []
    assert len(process_source(SourceFile.from_text(source, tmp_path / "n.py"), per_file, fix=False).findings) == 1


@pytest.mark.usefixtures("fake_engine")
def test_fix_mode_result_has_the_edit_and_pickles(tmp_path: Path, settings) -> None:
    path = tmp_path / "m.py"
    path.write_text("def f(a):\n    a.add_(1)\n    return a\n")
    result = run(path, settings, fix=True)
    assert result.edit is not None
    assert result.edit.new_text == "def f(a):\n    a = a.add(1)\n    return a\n"
    assert [a.finding.code for a in result.applied] == ["GS101"]
    copy = pickle.loads(pickle.dumps(result))
    assert copy.edit.new_text == result.edit.new_text and copy.applied == result.applied
