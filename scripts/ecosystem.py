"""The ecosystem check: run gradsafe as a user would over real training repositories, against a judged baseline.

    python scripts/ecosystem.py ROOT [--repo NAME ...] [--jobs N] [--update-baseline] [--json FILE]

ROOT holds one export per repository of ``REPOSITORIES`` (``ROOT/<name>``), made outside this
repository (their code is never committed).  For each repository the script copies the export to a
scratch folder and runs, with ``sys.executable -m gradsafe`` (the gradsafe it is run with):

* ``check . --format json --isolated --no-cache`` under the default policy and ``--policy strict``;
* ``fix . --no-verify --isolated --no-cache`` (default policy), then ``compile()`` of every file it
  changed, then the same ``fix`` once more: a file the second run changes is not idempotent;
* between the two, ``check`` once more: "fixable" must mean what ``fix --no-verify`` applies, so a
  finding ``check`` marked fixable (with a safe fix) that the fix did not change (DECLINED), or one still marked
  fixable after it (FIXABLE), fails the run;
* for every changed file, ``scripts/fix_outputs.py``: the touched ``nn.Module`` classes built with
  their defaults, forward and backward in float64 before and after the edit (OUTPUT: same / fixed /
  different / skipped, with the reason); "different" fails the run.

It reports per repository: lines of Python, default and strict findings, their diff against the
committed baseline ``tests/ecosystem/baseline.json`` (new / gone, keyed by path, code and the
finding line's stripped source text, so an edit elsewhere in a file does not churn), crashes (exit
2 or an ``E001`` error), outputs that do not compile, files that are not idempotent, every change
``fix --no-verify`` made, and the wall time.  The exit status is 1 when anything is new, crashed or
broken (or a repository's export is missing).  ``--update-baseline`` rewrites the baseline from
this run, keeping the judgement (``real`` / ``latent`` / ``false`` and ``why``) of every finding
that is still there; new findings get ``"judgement": null`` until a person judges them.

Pins (repository, commit), fetched as bare git directories and exported with::

    mkdir -p ROOT/<name>
    git --git-dir=<bare git dir> archive <commit> -- ':(glob)**/*.py' | tar -x -C ROOT/<name>

(only the Python files: some snapshots lack large data blobs, which would stop a full archive)

    huggingface/pytorch-image-models        aa4b5850c1543fa488abf260f18390eda46cf85d
    pytorch/examples                        77f55b912142e11fcfdf5b530231fb9c52f181e8
    eriklindernoren/PyTorch-GAN             36d3c77e5ff20ebe0aeefd322326a134a279b93e
    karpathy/nanoGPT                        3adf61e154c3fe3fca428ad6bc3818b27a3b8291
    karpathy/minGPT                         37baab71b9abea1b76ab957409a1cc2fbfba8a26
    lucidrains/denoising-diffusion-pytorch  faed4db28e724735323fa91c70aa9b28a6e1cbac
    ultralytics/yolov5                      5081342f04fb287fc2e5f2b5a4e06752b7937b1c
    vwxyzjn/cleanrl                         fe8d8a03c41a7ef5b523e2e354bd01c363e786bb
    openai/improved-diffusion               1bc7bbbdc414d83d4abf2ad8cc1446dc36c4e4d5
    UKPLab/sentence-transformers            85ec64559f4414aa536eca4bf53538291e0a333f
    DLR-RM/stable-baselines3                e05d2dbe6eda0acd0ef2e316e3e4065677add3eb

``tests/package/test_ecosystem_script.py`` tests this script's own logic on a tiny fake repository.
"""

from __future__ import annotations

import argparse
import difflib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from collections.abc import Callable, Iterable, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fix_outputs import OutputCheck, check_files  # noqa: E402  (a sibling script)

BASELINE = Path(__file__).resolve().parent.parent / "tests" / "ecosystem" / "baseline.json"
BASELINE_VERSION = 1
COMMAND_TIMEOUT = 1800  # seconds for one gradsafe command on one repository
INTERNAL_ERROR = "E001"
JUDGEMENTS = ("real", "latent", "false")


@dataclass(frozen=True)
class Repository:
    """One pinned repository: ``name`` is its export's folder under ROOT."""

    name: str
    github: str
    commit: str
    area: str


REPOSITORIES: tuple[Repository, ...] = (
    Repository("pytorch-image-models", "huggingface/pytorch-image-models", "aa4b5850c1543fa488abf260f18390eda46cf85d", "vision models"),
    Repository("examples", "pytorch/examples", "77f55b912142e11fcfdf5b530231fb9c52f181e8", "examples"),
    Repository("PyTorch-GAN", "eriklindernoren/PyTorch-GAN", "36d3c77e5ff20ebe0aeefd322326a134a279b93e", "GANs"),
    Repository("nanoGPT", "karpathy/nanoGPT", "3adf61e154c3fe3fca428ad6bc3818b27a3b8291", "NLP"),
    Repository("minGPT", "karpathy/minGPT", "37baab71b9abea1b76ab957409a1cc2fbfba8a26", "NLP"),
    Repository("denoising-diffusion-pytorch", "lucidrains/denoising-diffusion-pytorch", "faed4db28e724735323fa91c70aa9b28a6e1cbac", "diffusion"),
    Repository("yolov5", "ultralytics/yolov5", "5081342f04fb287fc2e5f2b5a4e06752b7937b1c", "detection"),
    Repository("cleanrl", "vwxyzjn/cleanrl", "fe8d8a03c41a7ef5b523e2e354bd01c363e786bb", "RL"),
    Repository("improved-diffusion", "openai/improved-diffusion", "1bc7bbbdc414d83d4abf2ad8cc1446dc36c4e4d5", "diffusion"),
    Repository("sentence-transformers", "UKPLab/sentence-transformers", "85ec64559f4414aa536eca4bf53538291e0a333f", "NLP"),
    Repository("stable-baselines3", "DLR-RM/stable-baselines3", "e05d2dbe6eda0acd0ef2e316e3e4065677add3eb", "RL"),
)


class Completed(Protocol):
    """What a command runner returns (``subprocess.CompletedProcess`` fits)."""

    returncode: int
    stdout: str
    stderr: str


# A runner gets gradsafe's arguments and the folder to run in.
Runner = Callable[[Sequence[str], Path], Completed]


def run_gradsafe(args: Sequence[str], cwd: Path) -> Completed:
    """Run ``sys.executable -m gradsafe ARGS`` in ``cwd``: the gradsafe this script is run with."""
    return subprocess.run(
        [sys.executable, "-m", "gradsafe", *args],
        cwd=cwd, capture_output=True, text=True, timeout=COMMAND_TIMEOUT, check=False,
    )


# --- findings and their keys ---------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One reported finding, with the stripped source text of its first line."""

    path: str
    line: int
    code: str
    source: str
    message: str

    @property
    def key(self) -> tuple[str, str, str]:
        """What a finding is matched by across runs: not the line number, which unrelated edits move."""
        return (self.path, self.code, self.source)

    def as_json(self) -> dict:
        return {"path": self.path, "line": self.line, "code": self.code, "source": self.source, "message": self.message}


def entry_key(entry: dict) -> tuple[str, str, str]:
    return (entry["path"], entry["code"], entry["source"])


def source_line(root: Path, path: str, line: int) -> str:
    """The stripped text of ``line`` (1-based) of ``root/path``; "" when it cannot be read."""
    try:
        lines = (root / path).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    return lines[line - 1].strip() if 0 < line <= len(lines) else ""


def findings_of(report: dict, root: Path) -> list[Finding]:
    return [
        Finding(f["path"], f["line"], f["code"], source_line(root, f["path"], f["line"]), f["message"])
        for f in report.get("findings", [])
    ]


def strict_only(strict: Sequence[Finding], default: Sequence[Finding]) -> list[Finding]:
    """The strict findings that the default policy does not report (a multiset difference by key)."""
    remaining = Counter(f.key for f in default)
    extra = []
    for finding in strict:
        if remaining[finding.key] > 0:
            remaining[finding.key] -= 1
        else:
            extra.append(finding)
    return extra


@dataclass
class BaselineDiff:
    """New and gone default findings, and strict-only count changes per code."""

    new: list[Finding] = field(default_factory=list)
    gone: list[dict] = field(default_factory=list)
    unchanged: int = 0
    strict_changes: dict[str, tuple[int, int]] = field(default_factory=dict)  # code -> (baseline, now)

    @property
    def strict_grew(self) -> bool:
        return any(now > before for before, now in self.strict_changes.values())


def diff_against(entries: Sequence[dict], findings: Sequence[Finding]) -> BaselineDiff:
    """Match ``findings`` with the baseline ``entries`` by key, as multisets."""
    pool: dict[tuple, list[dict]] = {}
    for entry in entries:
        pool.setdefault(entry_key(entry), []).append(entry)
    diff = BaselineDiff()
    for finding in findings:
        matches = pool.get(finding.key)
        if matches:
            matches.pop(0)
            diff.unchanged += 1
        else:
            diff.new.append(finding)
    diff.gone = [entry for matches in pool.values() for entry in matches]
    return diff


def strict_counts(findings: Iterable[Finding]) -> dict:
    by_code = Counter(f.code for f in findings)
    return {"count": sum(by_code.values()), "by_code": dict(sorted(by_code.items()))}


def diff_strict(baseline_counts: dict, now: dict) -> dict[str, tuple[int, int]]:
    before = baseline_counts.get("by_code", {})
    codes = sorted(set(before) | set(now["by_code"]))
    return {
        code: (before.get(code, 0), now["by_code"].get(code, 0))
        for code in codes
        if before.get(code, 0) != now["by_code"].get(code, 0)
    }


# --- one repository --------------------------------------------------------------------------------


@dataclass
class FixChange:
    """One finding ``fix --no-verify`` resolved, and the lines it rewrote in that file."""

    path: str
    line: int
    code: str
    kind: str
    source: str


@dataclass
class RepositoryResult:
    name: str
    python_files: int = 0
    python_lines: int = 0
    default: list[Finding] = field(default_factory=list)
    strict: list[Finding] = field(default_factory=list)
    input_errors: list[str] = field(default_factory=list)  # E902 / E999: the repository's, not gradsafe's
    crashes: list[str] = field(default_factory=list)
    non_compiling: list[str] = field(default_factory=list)
    non_idempotent: list[str] = field(default_factory=list)
    fixes: list[FixChange] = field(default_factory=list)
    diffs: dict[str, str] = field(default_factory=dict)  # path -> unified diff of the first fix
    remaining_after_fix: list[Finding] = field(default_factory=list)  # default findings the fix left
    fixable: list[Finding] = field(default_factory=list)  # the last default check's findings marked fixable
    fixable_declined: list[Finding] = field(default_factory=list)  # marked fixable by check, not changed by fix
    fixable_after_fix: list[Finding] = field(default_factory=list)  # still marked fixable once fix ran
    output_checks: list[OutputCheck] = field(default_factory=list)  # forward/backward before and after each edit
    missing: bool = False
    seconds: float = 0.0
    diff: BaselineDiff = field(default_factory=BaselineDiff)

    @property
    def strict_only(self) -> list[Finding]:
        return strict_only(self.strict, self.default)

    @property
    def failed(self) -> bool:
        return bool(self.missing or self.diff.new or self.diff.strict_grew or self.crashes
                    or self.non_compiling or self.non_idempotent or self.fixable_declined or self.fixable_after_fix
                    or any(c.status == "different" for c in self.output_checks))


def python_texts(root: Path) -> dict[str, bytes]:
    """Every ``*.py`` file below ``root``, by forward-slash relative path."""
    return {path.relative_to(root).as_posix(): path.read_bytes() for path in sorted(root.rglob("*.py")) if path.is_file()}


def _parse_report(completed: Completed, text: str, what: str, result: RepositoryResult) -> dict | None:
    """The JSON report of one command; records a crash when there is none or it says so."""
    if completed.returncode not in (0, 1, 2):
        result.crashes.append(f"{what}: exit {completed.returncode}: {completed.stderr.strip()[-500:]}")
        return None
    try:
        report = json.loads(text)
    except (json.JSONDecodeError, TypeError):
        result.crashes.append(f"{what}: exit {completed.returncode}, no JSON report: {completed.stderr.strip()[-500:]}")
        return None
    input_errors = []
    for error in report.get("errors", []):
        where = f"{error.get('path')}:{error.get('line')}"
        if error.get("code") == INTERNAL_ERROR:
            result.crashes.append(f"{what}: {where}: E001 {error.get('message')}")
        else:
            input_errors.append(f"{where}: {error.get('code')} {error.get('message')}")
    if what == "check default":  # the same input errors show in every command: record them once
        result.input_errors.extend(input_errors)
    if completed.returncode == 2 and not report.get("errors"):
        result.crashes.append(f"{what}: exit 2 without an error in the report: {completed.stderr.strip()[-500:]}")
    return report


def _check(runner: Runner, scratch: Path, policy: str, result: RepositoryResult, what: str = "") -> list[Finding]:
    completed = runner(["check", ".", "--policy", policy, "--format", "json", "--isolated", "--no-cache", "-j", "1"], scratch)
    report = _parse_report(completed, completed.stdout, what or f"check {policy}", result)
    if report is None:
        return []
    found = findings_of(report, scratch)
    if policy == "default":
        # What `fix --no-verify` applies: the safe fixes (unsafe ones wait for `--unsafe-fixes`).
        result.fixable = [f for f, item in zip(found, report.get("findings", []))
                          if (item.get("fix") or {}).get("applicable") and item["fix"].get("applicability") != "unsafe"]
    return found


def _fix(runner: Runner, scratch: Path, report_path: Path, what: str, result: RepositoryResult) -> dict | None:
    report_path.unlink(missing_ok=True)
    args = ["fix", ".", "--no-verify", "--format", "json", "-o", str(report_path), "--isolated", "--no-cache", "-j", "1"]
    completed = runner(args, scratch)
    text = report_path.read_text(encoding="utf-8") if report_path.exists() else completed.stdout
    return _parse_report(completed, text, what, result)


def torch_available() -> bool:
    """The forward/backward comparison of ``fix_outputs`` needs torch in this interpreter."""
    import importlib.util

    return importlib.util.find_spec("torch") is not None


def _compiles(raw: bytes, path: str) -> str | None:
    """None when ``raw`` compiles, else why not."""
    try:
        compile(raw, path, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        return f"{path}: {exc}"
    return None


def check_repository(root: Path, name: str, runner: Runner = run_gradsafe) -> RepositoryResult:
    """Check, strict-check, fix, compile and re-fix a scratch copy of ``root/name``."""
    started = time.perf_counter()
    result = RepositoryResult(name)
    export = root / name
    if not export.is_dir():
        result.missing = True
        return result
    with tempfile.TemporaryDirectory(prefix=f"gradsafe-eco-{name}-") as temporary:
        scratch = Path(temporary) / name
        shutil.copytree(export, scratch, symlinks=True)
        before = python_texts(scratch)
        result.python_files = len(before)
        result.python_lines = sum(raw.count(b"\n") for raw in before.values())
        result.default = _check(runner, scratch, "default", result)
        result.strict = _check(runner, scratch, "strict", result)
        report_path = Path(temporary) / "fix-report.json"
        first = _fix(runner, scratch, report_path, "fix", result)
        after = python_texts(scratch)
        changed = sorted(path for path in after if before.get(path) != after[path])
        for path in changed:
            problem = _compiles(after[path], path)
            if problem:
                result.non_compiling.append(problem)
            old = before.get(path, b"").decode("utf-8", "replace").splitlines(keepends=True)
            new = after[path].decode("utf-8", "replace").splitlines(keepends=True)
            result.diffs[path] = "".join(difflib.unified_diff(old, new, f"a/{path}", f"b/{path}", n=1))
        if first is not None:
            result.fixes = [
                FixChange(f["path"], f["line"], f["code"], (f.get("fix") or {}).get("kind", "?"),
                          _line_of(before, f["path"], f["line"]))
                for f in first.get("fixed", [])
            ]
            result.remaining_after_fix = findings_of(first, scratch)
            fixed = {(f["path"], f["line"], f["code"]) for f in first.get("fixed", [])}
            result.fixable_declined = [f for f in result.fixable if (f.path, f.line, f.code) not in fixed]
            _check(runner, scratch, "default", result, "check after fix")
            result.fixable_after_fix = result.fixable
        if changed and torch_available():
            result.output_checks = check_files(export, scratch, changed)
        _fix(runner, scratch, report_path, "fix (second run)", result)
        again = python_texts(scratch)
        result.non_idempotent = sorted(path for path in again if after.get(path) != again[path])
    result.seconds = time.perf_counter() - started
    return result


def changed_hunks(diff: str) -> list[tuple[int, list[str], list[str]]]:
    """The hunks of a unified diff as (first line in the new file, removed lines, added lines)."""
    hunks: list[tuple[int, list[str], list[str]]] = []
    for line in diff.splitlines():
        if line.startswith("@@"):
            start = int(line.split("+", 1)[1].split(",", 1)[0].split(" ", 1)[0])
            hunks.append((start, [], []))
        elif hunks and line.startswith("-") and not line.startswith("---"):
            hunks[-1][1].append(line[1:].strip())
        elif hunks and line.startswith("+") and not line.startswith("+++"):
            hunks[-1][2].append(line[1:].strip())
    return hunks


def _line_of(texts: dict[str, bytes], path: str, line: int) -> str:
    lines = texts.get(path, b"").decode("utf-8", "replace").splitlines()
    return lines[line - 1].strip() if 0 < line <= len(lines) else ""


# --- the baseline ----------------------------------------------------------------------------------


def load_baseline(path: Path) -> dict:
    if not path.exists():
        return {"version": BASELINE_VERSION, "repositories": {}, "strict_sample": []}
    return json.loads(path.read_text(encoding="utf-8"))


def compare(result: RepositoryResult, baseline: dict) -> None:
    """Fill ``result.diff`` from the repository's baseline entry."""
    entry = baseline.get("repositories", {}).get(result.name, {})
    result.diff = diff_against(entry.get("default", []), result.default)
    result.diff.strict_changes = diff_strict(entry.get("strict_only", {}), strict_counts(result.strict_only))


def updated_baseline(baseline: dict, results: Sequence[RepositoryResult]) -> dict:
    """The baseline with these repositories' findings, each keeping its judgement when it had one."""
    repositories = dict(baseline.get("repositories", {}))
    pins = {repo.name: repo for repo in REPOSITORIES}
    for result in results:
        if result.missing:
            continue
        old = repositories.get(result.name, {})
        judged: dict[tuple, list[dict]] = {}
        for entry in old.get("default", []):
            judged.setdefault(entry_key(entry), []).append(entry)
        entries = []
        for finding in result.default:
            previous = judged.get(finding.key, [])
            kept = previous.pop(0) if previous else {}
            entry = finding.as_json()
            entry["judgement"] = kept.get("judgement")
            if kept.get("why"):
                entry["why"] = kept["why"]
            entries.append(entry)
        pin = pins.get(result.name)
        repositories[result.name] = {
            "repo": pin.github if pin else old.get("repo"),
            "commit": pin.commit if pin else old.get("commit"),
            "python_lines": result.python_lines,
            "default": entries,
            "strict_only": strict_counts(result.strict_only),
        }
    return {
        "version": BASELINE_VERSION,
        "about": baseline.get("about", "gradsafe's default-policy findings on pinned repositories, judged; "
                          "see scripts/ecosystem.py"),
        "repositories": dict(sorted(repositories.items())),
        "strict_sample": baseline.get("strict_sample", []),
    }


def judgement_counts(baseline: dict, names: Iterable[str]) -> Counter:
    counts: Counter = Counter()
    for name in names:
        for entry in baseline.get("repositories", {}).get(name, {}).get("default", []):
            counts[entry.get("judgement") or "unjudged"] += 1
    return counts


# --- the report ------------------------------------------------------------------------------------


def report(results: Sequence[RepositoryResult], baseline: dict, seconds: float) -> str:
    header = f"{'repository':30} {'py lines':>9} {'default':>7} {'strict':>6} {'new':>4} {'gone':>4} {'crash':>5} {'nocomp':>6} {'nonidem':>7} {'fixes':>5} {'secs':>6}"
    lines = [header, "-" * len(header)]
    for r in results:
        if r.missing:
            lines.append(f"{r.name:30} MISSING: no export under ROOT")
            continue
        lines.append(
            f"{r.name:30} {r.python_lines:9d} {len(r.default):7d} {len(r.strict):6d} {len(r.diff.new):4d} "
            f"{len(r.diff.gone):4d} {len(r.crashes):5d} {len(r.non_compiling):6d} {len(r.non_idempotent):7d} "
            f"{len(r.fixes):5d} {r.seconds:6.1f}"
        )
    present = [r for r in results if not r.missing]
    lines.append("-" * len(header))
    lines.append(
        f"{'total':30} {sum(r.python_lines for r in present):9d} {sum(len(r.default) for r in present):7d} "
        f"{sum(len(r.strict) for r in present):6d} {sum(len(r.diff.new) for r in present):4d} "
        f"{sum(len(r.diff.gone) for r in present):4d} {sum(len(r.crashes) for r in present):5d} "
        f"{sum(len(r.non_compiling) for r in present):6d} {sum(len(r.non_idempotent) for r in present):7d} "
        f"{sum(len(r.fixes) for r in present):5d} {seconds:6.1f}"
    )
    counts = judgement_counts(baseline, (r.name for r in present))
    lines.append("baseline judgements: " + ", ".join(f"{k} {counts[k]}" for k in (*JUDGEMENTS, "unjudged")))
    for r in present:
        for finding in r.diff.new:
            lines.append(f"NEW      {r.name}/{finding.path}:{finding.line}: {finding.code} {finding.source}")
        for entry in r.diff.gone:
            lines.append(f"GONE     {r.name}/{entry['path']}:{entry['line']}: {entry['code']} {entry['source']}"
                         f" (was {entry.get('judgement') or 'unjudged'})")
        for code, (before, now) in r.diff.strict_changes.items():
            lines.append(f"STRICT   {r.name}: strict-only {code} {before} -> {now}")
        for problem in r.crashes:
            lines.append(f"CRASH    {r.name}: {problem}")
        for problem in r.non_compiling:
            lines.append(f"NOCOMP   {r.name}: {problem}")
        for path in r.non_idempotent:
            lines.append(f"NONIDEM  {r.name}/{path}")
        for problem in r.input_errors:
            lines.append(f"INPUT    {r.name}/{problem} (the repository's file, not a gradsafe failure)")
        for fix in r.fixes:
            lines.append(f"FIX      {r.name}/{fix.path}:{fix.line}: {fix.code} {fix.kind}: {fix.source}")
        for path, diff in r.diffs.items():
            for start, removed, added in changed_hunks(diff):
                change = " / ".join([*(f"-{text}" for text in removed), *(f"+{text}" for text in added)])
                lines.append(f"CHANGE   {r.name}/{path}:{start}: {change}")
        for finding in r.remaining_after_fix:
            lines.append(f"LEFT     {r.name}/{finding.path}:{finding.line}: {finding.code} {finding.source}"
                         " (still reported after fix)")
        for finding in r.fixable_declined:
            lines.append(f"DECLINED {r.name}/{finding.path}:{finding.line}: {finding.code} {finding.source}"
                         " (check marked it fixable, fix --no-verify did not change it)")
        for finding in r.fixable_after_fix:
            lines.append(f"FIXABLE  {r.name}/{finding.path}:{finding.line}: {finding.code} {finding.source}"
                         " (still marked fixable after fix)")
        for c in r.output_checks:
            lines.append(f"OUTPUT   {r.name}/{c.path}::{c.target}: {c.status}: {c.detail}")
    return "\n".join(lines)


def as_json(results: Sequence[RepositoryResult], seconds: float) -> dict:
    return {
        "seconds": seconds,
        "repositories": {
            r.name: {
                "missing": r.missing, "python_files": r.python_files, "python_lines": r.python_lines,
                "default": [f.as_json() for f in r.default], "strict": len(r.strict),
                "strict_only": strict_counts(r.strict_only),
                "new": [f.as_json() for f in r.diff.new], "gone": r.diff.gone,
                "strict_changes": r.diff.strict_changes, "crashes": r.crashes,
                "non_compiling": r.non_compiling, "non_idempotent": r.non_idempotent,
                "input_errors": r.input_errors,
                "fixes": [fix.__dict__ for fix in r.fixes], "diffs": r.diffs,
                "remaining_after_fix": [f.as_json() for f in r.remaining_after_fix], "seconds": r.seconds,
                "fixable_declined": [f.as_json() for f in r.fixable_declined],
                "fixable_after_fix": [f.as_json() for f in r.fixable_after_fix],
                "output_checks": [c.__dict__ for c in r.output_checks],
            }
            for r in results
        },
    }


def run(root: Path, names: Sequence[str], jobs: int = 1, runner: Runner = run_gradsafe,
        baseline: dict | None = None) -> list[RepositoryResult]:
    """Check the repositories ``names`` under ``root``, ``jobs`` at a time, and diff them against ``baseline``."""
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        results = list(pool.map(lambda name: check_repository(root, name, runner), names))
    for result in results:
        compare(result, baseline or {})
    return results


def main(argv: Sequence[str] | None = None, runner: Runner = run_gradsafe) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", type=Path, metavar="ROOT", help="the folder holding the exports")
    parser.add_argument("--repo", action="append", metavar="NAME", help="only this repository (repeatable)")
    parser.add_argument("--jobs", "-j", type=int, default=1, metavar="N", help="repositories checked at once")
    parser.add_argument("--baseline", type=Path, default=BASELINE, metavar="FILE")
    parser.add_argument("--update-baseline", action="store_true", help="write the baseline, keeping judgements")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the full results (with diffs) here")
    args = parser.parse_args(argv)
    known = [repo.name for repo in REPOSITORIES]
    names = args.repo or known
    unknown = [name for name in names if name not in known and not (args.root / name).is_dir()]
    if unknown:
        parser.error(f"unknown repositories: {', '.join(unknown)}")
    baseline = load_baseline(args.baseline)
    started = time.perf_counter()
    results = run(args.root, names, args.jobs, runner, baseline)
    seconds = time.perf_counter() - started
    if args.update_baseline:
        baseline = updated_baseline(baseline, results)
        args.baseline.parent.mkdir(parents=True, exist_ok=True)
        args.baseline.write_text(json.dumps(baseline, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        for result in results:
            compare(result, baseline)
    print(report(results, baseline, seconds))
    if args.json:
        args.json.write_text(json.dumps(as_json(results, seconds), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 1 if any(result.failed for result in results) else 0


if __name__ == "__main__":
    sys.exit(main())
