"""The command line, in process (typer's CliRunner): exit codes, streams, stdin, options."""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import gradsafe.run.pipeline
from gradsafe import __version__
from gradsafe.cli import app
from gradsafe.rules import all_rules, get_rule

HAZARD = "def f(y):\n    y.add_(1)\n    return y\n"
FIXED = "def f(y):\n    y = y.add(1)\n    return y\n"


@pytest.fixture
def tree(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def invoke(*args: str, input: bytes | str | None = None):
    return CliRunner().invoke(app, list(args), input=input)


def test_version_and_help() -> None:
    assert invoke("--version").stdout == f"gradsafe {__version__}\n"
    no_args = invoke()
    assert no_args.exit_code == 2 and "check" in no_args.output
    for command in ("check", "diff", "fix", "explain"):
        result = invoke(command, "--help")
        assert result.exit_code == 0
        assert "Example" in result.stdout, command


def test_check_clean_exits_0(tree: Path) -> None:
    (tree / "m.py").write_text("x = 1\n")
    result = invoke("check", ".")
    assert result.exit_code == 0
    assert result.stdout == "No hazards found (1 file checked).\n"


@pytest.mark.usefixtures("fake_engine")
def test_check_findings_exit_1_and_exit_zero(tree: Path) -> None:
    (tree / "m.py").write_text(HAZARD)
    result = invoke("check", "m.py")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == "m.py:2:5: GS101 [*] in-place add_ on `y`"
    assert invoke("check", "--exit-zero", "m.py").exit_code == 0
    assert invoke("check", "--ignore", "GS101", "m.py").exit_code == 0
    assert invoke("check", "--select", "GS2,GS3", "m.py").exit_code == 0
    assert invoke("check", "--select", "GS2", "--select", "GS1", "m.py").exit_code == 1


@pytest.mark.usefixtures("fake_engine")
def test_errors_exit_2_and_the_other_files_are_still_checked(tree: Path) -> None:
    (tree / "a_broken.py").write_text("def f(:\n")
    (tree / "b_latin.py").write_bytes(b"x = '\xe9'\n")
    (tree / "c.py").write_text(HAZARD)
    result = invoke("check", ".", "missing.py")
    assert result.exit_code == 2
    lines = result.stdout.splitlines()
    assert lines[0].startswith("a_broken.py:1:7: E999 SyntaxError:")
    assert lines[1] == "b_latin.py:1:6: E902 cannot decode: cannot decode byte 0xe9 as utf-8"
    assert lines[2] == "c.py:2:5: GS101 [*] in-place add_ on `y`"
    assert lines[3] == "missing.py:1:1: E902 no such file or directory"
    assert "Traceback" not in result.output
    assert invoke("check", "--exit-zero", ".").exit_code == 2


def test_usage_and_configuration_errors_exit_2_without_traceback(tree: Path) -> None:
    (tree / "m.py").write_text("x = 1\n")
    for args in (
        ["check", "--select", "GS999", "m.py"],
        ["check", "--format", "xml", "m.py"],
        ["check", "--policy", "lax", "m.py"],
        ["check", "--bogus", "m.py"],
    ):
        result = invoke(*args)
        assert result.exit_code == 2, args
        assert "Traceback" not in result.output
    (tree / "pyproject.toml").write_text('[tool.gradsafe]\nselct = ["GS1"]\n')
    result = invoke("check", "m.py")
    assert result.exit_code == 2
    assert (
        result.stderr
        == "gradsafe: error: pyproject.toml: [tool.gradsafe] unknown key 'selct' (did you mean 'select'?)\n"
    )
    assert invoke("check", "--isolated", "m.py").exit_code == 0


@pytest.mark.usefixtures("fake_engine")
def test_configuration_is_used_and_the_command_line_wins(tree: Path) -> None:
    (tree / "m.py").write_text(HAZARD)
    (tree / "pyproject.toml").write_text('[tool.gradsafe]\nignore = ["GS1"]\n')
    assert invoke("check", "m.py").exit_code == 0
    assert invoke("check", "--select", "GS101", "m.py").exit_code == 1
    (tree / "other.toml").write_text('[tool.gradsafe]\nselect = ["GS101"]\n')
    assert invoke("check", "--config", "other.toml", "m.py").exit_code == 1


@pytest.mark.usefixtures("fake_engine")
def test_json_output_to_a_file(tree: Path) -> None:
    (tree / "m.py").write_text(HAZARD)
    result = invoke("check", "--format", "json", "--output", "report.json", "m.py")
    assert result.exit_code == 1 and result.stdout == ""
    document = json.loads((tree / "report.json").read_text())
    assert [(f["path"], f["line"], f["column"], f["code"]) for f in document["findings"]] == [("m.py", 2, 5, "GS101")]


@pytest.mark.usefixtures("fake_engine")
def test_diff_prints_a_patch_writes_nothing_and_exits_1(tree: Path) -> None:
    (tree / "m.py").write_text(HAZARD)
    result = invoke("diff", "--no-verify", "m.py")
    assert result.exit_code == 1
    assert result.stdout.startswith("--- a/m.py\n+++ b/m.py\n@@")
    assert "+    y = y.add(1)\n" in result.stdout
    assert result.stderr.strip() == "1 fix would be applied in 1 file."
    assert (tree / "m.py").read_text() == HAZARD
    (tree / "m.py").write_text(FIXED)
    clean = invoke("diff", "--no-verify", "m.py")
    assert clean.exit_code == 0 and clean.stdout == ""


@pytest.mark.usefixtures("fake_engine")
def test_fix_writes_and_a_second_run_changes_nothing(tree: Path) -> None:
    (tree / "m.py").write_text(HAZARD)
    first = invoke("fix", "--no-verify", ".")
    assert first.exit_code == 0
    assert first.stdout == "1 fix applied in 1 file.\n"
    assert (tree / "m.py").read_text() == FIXED
    second = invoke("fix", "--no-verify", ".")
    assert second.exit_code == 0 and second.stdout == "0 fixes applied in 0 files.\n"
    assert (tree / "m.py").read_text() == FIXED


@pytest.mark.usefixtures("fake_engine")
def test_fix_exits_1_when_findings_remain(tree: Path) -> None:
    (tree / "m.py").write_text("def f(y):\n    y.add_(1)  # decline\n")
    result = invoke("fix", "--no-verify", "m.py")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "m.py:2:5: GS101 in-place add_ on `y`",
        "0 fixes applied in 0 files.",
        "1 hazard remains in 1 file:",
        "  m.py:2:5: GS101 not fixed: the fix was declined: asked to decline",
    ]
    verbose = invoke("fix", "--no-verify", "--verbose", "m.py")
    assert "m.py:2:5: GS101 fix declined: asked to decline" in verbose.stdout


@pytest.mark.usefixtures("fake_engine")
def test_fix_reports_a_read_only_file_and_exits_2(tree: Path) -> None:
    (tree / "m.py").write_text(HAZARD)
    (tree / "m.py").chmod(0o444)
    result = invoke("fix", "--no-verify", "m.py")
    assert result.exit_code == 2
    assert "m.py:1:1: E902 not written: the file is read-only" in result.stdout
    assert "0 fixes applied" in result.stdout
    assert (tree / "m.py").read_text() == HAZARD


@pytest.mark.usefixtures("fake_engine")
def test_stdin_check_diff_fix(tree: Path) -> None:
    check = invoke("check", "-", "--stdin-filename", "pkg/model.py", input=HAZARD)
    assert check.exit_code == 1
    assert check.stdout.startswith("pkg/model.py:2:5: GS101")
    diff = invoke("diff", "--no-verify", "-", "--stdin-filename", "pkg/model.py", input=HAZARD)
    assert diff.exit_code == 1 and diff.stdout.startswith("--- a/pkg/model.py\n+++ b/pkg/model.py\n")
    fix = invoke("fix", "--no-verify", "-", input=HAZARD)
    assert fix.exit_code == 0 and fix.stdout == FIXED
    assert "1 fix applied" in fix.stderr
    assert not any(tree.iterdir()), "stdin mode must not write files"


@pytest.mark.usefixtures("fake_engine")
def test_stdin_fix_keeps_bom_and_crlf_and_echoes_unfixable_input(tree: Path) -> None:
    raw = codecs.BOM_UTF8 + HAZARD.replace("\n", "\r\n").encode()
    result = invoke("fix", "--no-verify", "-", input=raw)
    assert result.stdout_bytes == codecs.BOM_UTF8 + FIXED.replace("\n", "\r\n").encode()
    broken = invoke("fix", "--no-verify", "-", input="def f(:\n")
    assert broken.exit_code == 2 and broken.stdout == "def f(:\n"
    assert "-:1:7: E999" in broken.stderr


@pytest.mark.usefixtures("fake_engine")
def test_stdin_filename_selects_per_file_ignores_and_force_exclude(tree: Path) -> None:
    (tree / "pyproject.toml").write_text(
        '[tool.gradsafe]\nextend-exclude = ["generated/"]\n[tool.gradsafe.per-file-ignores]\n"tests/**" = ["GS1"]\n'
    )
    assert invoke("check", "-", "--stdin-filename", "tests/test_m.py", input=HAZARD).exit_code == 0
    assert invoke("check", "-", "--stdin-filename", "src/m.py", input=HAZARD).exit_code == 1
    assert invoke("check", "-", "--stdin-filename", "generated/m.py", input=HAZARD).exit_code == 1
    forced = invoke("check", "-", "--force-exclude", "--stdin-filename", "generated/m.py", input=HAZARD)
    assert forced.exit_code == 0


def test_stdin_mixed_with_paths_is_a_usage_error(tree: Path) -> None:
    assert invoke("check", "-", "m.py", input="").exit_code == 2
    assert invoke("check", "--stdin-filename", "x.py", "m.py").exit_code == 2


def test_internal_error_is_reported_with_the_file_name(tree: Path, monkeypatch) -> None:
    def explode(source, tree=None, *, policy=None, confirmed=None):
        raise RuntimeError("judge bug")

    monkeypatch.setattr(gradsafe.run.pipeline, "analyse", explode)
    (tree / "m.py").write_text("x = 1\n")
    result = invoke("check", "m.py")
    assert result.exit_code == 2
    assert result.stdout.startswith(
        "m.py:1:1: E001 internal error while trying to analyse the file: RuntimeError: judge bug"
    )
    assert "Traceback" not in result.stdout
    assert "Traceback" in invoke("check", "--verbose", "m.py").stdout


def test_rules_table_lists_every_rule() -> None:
    result = invoke("rules")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["CODE", "NAME", "FIX", "DEFAULT"]
    assert [line.split()[0] for line in lines[1:]] == [r.code for r in all_rules()]
    gs403 = next(line for line in lines if line.startswith("GS403"))
    assert gs403.endswith("off") and "no-grad" in gs403
    assert next(line for line in lines if line.startswith("GS901")).endswith("strict policy")


def test_explain() -> None:
    result = invoke("explain", "gs101")
    assert result.exit_code == 0
    assert result.stdout == get_rule("GS101").explain()
    unknown = invoke("explain", "GS999")
    assert unknown.exit_code == 2
    assert unknown.stderr == "gradsafe: error: unknown rule code 'GS999' (see `gradsafe rules`)\n"


def test_ctrl_c_exits_130_with_a_message(tree: Path, monkeypatch) -> None:
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("gradsafe.cli.command_run.process_paths", interrupted)
    (tree / "m.py").write_text("x = 1\n")
    result = invoke("check", "m.py")
    assert result.exit_code == 130
    assert result.stderr == "gradsafe: interrupted\n"


@pytest.mark.usefixtures("fake_engine")
def test_diff_exits_1_when_hazards_remain_even_without_changes(tree: Path) -> None:
    # Issue 21: `diff` printed "0 fixes would be applied" / "1 hazard remains" and exited 0.
    (tree / "m.py").write_text("def f(y):\n    y.add_(1)  # decline\n")
    result = invoke("diff", "--no-verify", "m.py")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines()[-2:] == [
        "1 hazard remains in 1 file:",
        "  m.py:2:5: GS101 not fixed: the fix was declined: asked to decline",
    ]


@pytest.mark.usefixtures("fake_engine")
@pytest.mark.parametrize("command", ["diff", "fix"])
def test_exit_zero_on_diff_and_fix(tree: Path, command: str) -> None:
    (tree / "m.py").write_text("def f(y):\n    y.add_(1)  # decline\n")
    assert invoke(command, "--no-verify", "--exit-zero", "m.py").exit_code == 0
    assert invoke(command, "--no-verify", "m.py").exit_code == 1


@pytest.mark.usefixtures("fake_engine")
def test_verbose_diff_shows_each_remaining_finding_and_its_declined_fix(tree: Path) -> None:
    (tree / "m.py").write_text("def f(y):\n    y.add_(1)  # decline\n")
    lines = invoke("diff", "--no-verify", "-v", "m.py").stderr.splitlines()
    assert "m.py:2:5: GS101 in-place add_ on `y`" in lines
    assert "    no fix: the fix was declined: asked to decline" in lines
    assert "m.py:2:5: GS101 fix declined: asked to decline" in lines
