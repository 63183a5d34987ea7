"""The ecosystem script's own logic (``scripts/ecosystem.py``), on a tiny fake repository in ``tmp_path``.

No network and no real repository: one test runs the real gradsafe (``sys.executable -m gradsafe``)
over a repository of one hazard and one safe file; the others replace the command runner with
fakes to show that crashes and non-idempotent fixes are detected, and that the baseline diff keys
findings by path, code and source text (new, gone, unchanged; an edit above a finding moves its
line without making it new), and that ``--update-baseline`` keeps judgements.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "ecosystem.py"

HAZARD = """\
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.ones(3))

    def forward(self, x):
        y = torch.sigmoid(self.w * x)
        y.mul_(2)
        return y
"""

SAFE = """\
import torch


def forward(x):
    y = torch.sigmoid(x)
    return y * 2
"""


@functools.cache
def _ecosystem():
    spec = importlib.util.spec_from_file_location("ecosystem", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["ecosystem"] = module
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def _fake_repository(root: Path, name: str = "tiny") -> Path:
    repository = root / name
    (repository / "pkg").mkdir(parents=True)
    (repository / "pkg" / "hazard.py").write_text(HAZARD)
    (repository / "pkg" / "safe.py").write_text(SAFE)
    return repository


def _run(eco, root: Path, baseline: Path, *extra: str, runner=None) -> tuple[int, str]:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = eco.main([str(root), "--repo", "tiny", "--baseline", str(baseline), *extra], runner=runner or eco.run_gradsafe)
    return code, out.getvalue()


def test_the_real_gradsafe_finds_the_hazard_fixes_it_and_the_baseline_records_it(tmp_path: Path) -> None:
    eco = _ecosystem()
    root = tmp_path / "exports"
    repository = _fake_repository(root)
    baseline = tmp_path / "baseline.json"

    code, out = _run(eco, root, baseline)
    assert code == 1, out  # the finding is new: there is no baseline yet
    assert "NEW      tiny/pkg/hazard.py:12: GS101 y.mul_(2)" in out

    results = tmp_path / "results.json"
    code, out = _run(eco, root, baseline, "--update-baseline", "--json", str(results))
    assert code == 0, out
    stored = json.loads(baseline.read_text())["repositories"]["tiny"]
    assert [(e["path"], e["line"], e["code"], e["source"], e["judgement"]) for e in stored["default"]] == [
        ("pkg/hazard.py", 12, "GS101", "y.mul_(2)", None)
    ]
    assert "FIX      tiny/pkg/hazard.py:12: GS101" in out
    assert "CHANGE   tiny/pkg/hazard.py:11: -y.mul_(2) / +y = y.mul(2)" in out
    # the fix ran on a scratch copy: the export is untouched
    assert (repository / "pkg" / "hazard.py").read_text() == HAZARD

    result = json.loads(results.read_text())["repositories"]["tiny"]
    assert (result["python_files"], result["python_lines"]) == (2, HAZARD.count("\n") + SAFE.count("\n"))
    assert result["crashes"] == result["non_compiling"] == result["non_idempotent"] == []
    assert result["remaining_after_fix"] == []
    assert list(result["diffs"]) == ["pkg/hazard.py"]
    assert "-        y.mul_(2)\n+        y = y.mul(2)\n" in result["diffs"]["pkg/hazard.py"]


def _finding(eco, path="a.py", line=3, code="GS101", source="y.mul_(2)"):
    return eco.Finding(path, line, code, source, "message")


def test_the_baseline_diff_keys_by_path_code_and_source_not_line() -> None:
    eco = _ecosystem()
    entries = [
        {"path": "a.py", "line": 3, "code": "GS101", "source": "y.mul_(2)", "judgement": "real"},
        {"path": "a.py", "line": 9, "code": "GS102", "source": "x[0] = 1", "judgement": "false"},
    ]
    moved = _finding(eco, line=40)  # same text, line moved by an unrelated edit: unchanged
    new = _finding(eco, path="b.py", code="GS501", source="x.add_(1)")
    diff = eco.diff_against(entries, [moved, new])
    assert diff.unchanged == 1
    assert diff.new == [new]
    assert [e["code"] for e in diff.gone] == ["GS102"]

    # multisets: a second identical line is new even though its key is in the baseline once
    twice = eco.diff_against(entries[:1], [_finding(eco), _finding(eco, line=7)])
    assert (twice.unchanged, len(twice.new), twice.gone) == (1, 1, [])


def test_update_keeps_judgements_and_strict_counts_grow_as_new() -> None:
    eco = _ecosystem()
    old = {
        "repositories": {"tiny": {"default": [
            {"path": "a.py", "line": 3, "code": "GS101", "source": "y.mul_(2)", "judgement": "false", "why": "no grad"},
            {"path": "a.py", "line": 5, "code": "GS101", "source": "gone()", "judgement": "real"},
        ], "strict_only": {"count": 1, "by_code": {"GS901": 1}}}},
        "strict_sample": [{"path": "a.py", "judgement": "latent"}],
    }
    result = eco.RepositoryResult("tiny", default=[_finding(eco, line=4), _finding(eco, path="c.py")],
                                  strict=[_finding(eco, line=4), _finding(eco, path="c.py"),
                                          _finding(eco, code="GS901", source="z.add_(1)"),
                                          _finding(eco, code="GS901", source="w.add_(1)")])
    eco.compare(result, old)
    assert [f.path for f in result.diff.new] == ["c.py"]
    assert [e["source"] for e in result.diff.gone] == ["gone()"]
    assert result.diff.strict_changes == {"GS901": (1, 2)}
    assert result.failed

    updated = eco.updated_baseline(old, [result])
    entries = updated["repositories"]["tiny"]["default"]
    assert [(e["path"], e["line"], e["judgement"], e.get("why")) for e in entries] == [
        ("a.py", 4, "false", "no grad"), ("c.py", 3, None, None)
    ]
    assert updated["repositories"]["tiny"]["strict_only"] == {"count": 2, "by_code": {"GS901": 2}}
    assert updated["strict_sample"] == old["strict_sample"]
    eco.compare(result, updated)
    assert not result.failed


def _report(**fields) -> dict:
    return {"version": 1, "findings": [], "fixed": [], "errors": [], **fields}


class _FakeRunner:
    """Stands in for gradsafe: clean reports, except one command that crashes, and a ``fix`` that can rewrite a file.

    ``fix`` writes its report to the ``-o`` file as the real one does; with ``unstable`` it appends
    a line to ``pkg/safe.py`` on every run, so the second run changes the file again; with
    ``breaking`` its rewrite of ``pkg/hazard.py`` does not compile.
    """

    def __init__(self, crash: str | None = None, unstable: bool = False, breaking: bool = False):
        self.crash, self.unstable, self.breaking, self.calls = crash, unstable, breaking, []

    def __call__(self, args, cwd: Path):
        self.calls.append(list(args))
        report = _report()
        if self.crash and args[0] == self.crash:
            report = _report(errors=[{"path": "pkg/hazard.py", "line": None, "code": "E001",
                                      "message": "internal error: boom"}])
        if args[0] == "fix":
            if self.unstable:
                path = cwd / "pkg" / "safe.py"
                path.write_text(path.read_text() + "# again\n")
            if self.breaking:
                (cwd / "pkg" / "hazard.py").write_text("def broken(:\n")
            Path(args[args.index("-o") + 1]).write_text(json.dumps(report))
            return subprocess.CompletedProcess(args, 2 if report["errors"] else 0, "", "")
        return subprocess.CompletedProcess(args, 2 if report["errors"] else 0, json.dumps(report), "")


def test_a_crash_is_detected_and_exits_1(tmp_path: Path) -> None:
    eco = _ecosystem()
    root = tmp_path / "exports"
    _fake_repository(root)
    runner = _FakeRunner(crash="check")
    result = eco.check_repository(root, "tiny", runner)
    assert any("E001 internal error: boom" in c for c in result.crashes)
    assert result.failed
    code, out = _run(eco, root, tmp_path / "baseline.json", runner=runner)
    assert code == 1 and "CRASH    tiny: check default: pkg/hazard.py:None: E001" in out
    assert all(call[:2] in (["check", "."], ["fix", "."]) for call in runner.calls)


def test_an_exit_code_outside_0_to_2_or_no_report_is_a_crash(tmp_path: Path) -> None:
    eco = _ecosystem()
    root = tmp_path / "exports"
    _fake_repository(root)

    def dying(args, cwd):
        return subprocess.CompletedProcess(args, -11 if args[0] == "check" else 2, "Traceback", "Segfault")

    result = eco.check_repository(root, "tiny", dying)
    assert len(result.crashes) == 4  # two checks and two fixes, none with a JSON report (no check after a failed fix)
    assert "exit -11" in result.crashes[0]


def test_a_fix_that_changes_a_file_again_is_not_idempotent(tmp_path: Path) -> None:
    eco = _ecosystem()
    root = tmp_path / "exports"
    _fake_repository(root)
    result = eco.check_repository(root, "tiny", _FakeRunner(unstable=True))
    assert result.non_idempotent == ["pkg/safe.py"]
    assert result.crashes == []
    assert result.failed


def test_a_fix_that_does_not_compile_is_reported(tmp_path: Path) -> None:
    eco = _ecosystem()
    root = tmp_path / "exports"
    _fake_repository(root)

    result = eco.check_repository(root, "tiny", _FakeRunner(breaking=True))
    assert [p.split(":")[0] for p in result.non_compiling] == ["pkg/hazard.py"]
    assert result.failed


def test_a_missing_export_fails(tmp_path: Path) -> None:
    eco = _ecosystem()
    result = eco.check_repository(tmp_path, "nanoGPT")
    assert result.missing and result.failed


def test_the_committed_baseline_judges_every_default_finding() -> None:
    """Every finding in the committed baseline carries a judgement, and every false one says why."""
    eco = _ecosystem()
    baseline = json.loads(eco.BASELINE.read_text())
    assert set(baseline["repositories"]) == {repo.name for repo in eco.REPOSITORIES}
    for name, entry in baseline["repositories"].items():
        pin = next(repo for repo in eco.REPOSITORIES if repo.name == name)
        assert entry["commit"] == pin.commit
        for finding in entry["default"]:
            assert finding["judgement"] in eco.JUDGEMENTS, (name, finding)
            if finding["judgement"] == "false":
                assert finding.get("why"), (name, finding)
    sample = baseline["strict_sample"]
    assert len(sample) >= 10
    assert all(s["judgement"] in eco.JUDGEMENTS and s.get("why") for s in sample)
