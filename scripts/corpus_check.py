"""Run gradsafe's fix pipeline over real code, in memory, and count every way it could hurt a user.

    python scripts/corpus_check.py [DIR ...] [--policy default|strict] [--sample N] [--seed S] [--jobs N]

Without a directory it reads the installed torch package's sources (found without importing
torch).  Every ``*.py`` file under each directory is read, analysed and fixed exactly as
``gradsafe fix --no-verify --isolated`` would, but nothing is written.  For each file it checks:

* **crashes**: an internal error (``E001``) other than a safety-check refusal;
* **non-compiling outputs**: a rewrite that does not ``compile()`` (the fix loop refuses these, so
  they show up as refusals; the final text is compiled again here independently);
* **safety-check failures**: a rewrite whose ``ast`` changed outside the reach of its fixes
  (``gradsafe.fix.safety_check``);
* **non-idempotent files**: fixing the rewritten text changes it again;
* **round-trip failures**: the text does not encode back to the file's exact bytes (encoding,
  BOM, line endings), or a rewrite cannot be encoded in the file's encoding.

Files Python itself cannot parse are counted as input errors, not failures.  The exit status is 1
when any failure was counted, so CI can run it.  ``tests/package/test_corpus_sample.py`` runs a sample.
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import sys
import time
import traceback
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from collections.abc import Sequence

from gradsafe.run import parallel
from gradsafe.settings.config import Overrides, Settings, load_settings
from gradsafe.run.pipeline import FileResult, process_source
from gradsafe.files.loading import read_source
from gradsafe.rules import INTERNAL_ERROR, SYNTAX_ERROR
from gradsafe.files.source import SourceFile

# How the fix loop words a safety-check refusal (``gradsafe.fix.safety_check``), to tell it from a crash.
_NOT_COMPILING = "does not compile"
_OUTSIDE_REACH = "outside the code its fixes touch"
FAILURES = ("crashes", "non_compiling", "safety_failures", "non_idempotent", "round_trip_failures")


@dataclass
class FileOutcome:
    """What happened to one file; ``problem`` says why it counts as a failure, if it does."""

    path: str
    seconds: float
    input_error: bool = False
    fixes: int = 0
    failure: str | None = None  # one of FAILURES
    problem: str = ""


@dataclass
class Summary:
    files: int = 0
    input_errors: int = 0
    files_with_fixes: int = 0
    fixes_applied: int = 0
    seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FAILURES, 0))
    problems: list[FileOutcome] = field(default_factory=list)
    slowest: list[FileOutcome] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(self.counts.values())


def torch_sources() -> Path:
    spec = importlib.util.find_spec("torch")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("corpus_check: torch is not installed; name a directory to check")
    return Path(next(iter(spec.submodule_search_locations)))


def corpus_files(directories: Sequence[Path]) -> list[Path]:
    """Every ``*.py`` file below the directories, sorted (no exclusions: the corpus is all of it)."""
    return sorted({path for directory in directories for path in directory.rglob("*.py") if path.is_file()})


def check_file(path: Path, settings: Settings) -> FileOutcome:
    started = time.perf_counter()
    outcome = FileOutcome(str(path), 0.0)
    try:
        _check(path, settings, outcome)
    except Exception:  # anything process_source let escape is a crash too
        outcome.failure, outcome.problem = "crashes", traceback.format_exc(limit=-3)
    outcome.seconds = time.perf_counter() - started
    return outcome


def _check(path: Path, settings: Settings, outcome: FileOutcome) -> None:
    source = read_source(path, str(path))
    if not isinstance(source, SourceFile):
        outcome.input_error = True
        return
    if source.encode(source.text) != source.raw:
        outcome.failure, outcome.problem = "round_trip_failures", "the decoded text does not encode back to the file"
        return
    result = process_source(source, settings, fix=True)
    if _classify_errors(result, outcome) or result.edit is None:
        return
    new_text = result.edit.new_text
    outcome.fixes = len(result.applied)
    try:
        compile(new_text, str(path), "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        outcome.failure, outcome.problem = "non_compiling", str(exc)
        return
    try:
        source.encode(new_text)
    except UnicodeEncodeError as exc:
        outcome.failure, outcome.problem = "round_trip_failures", f"the rewrite cannot be encoded: {exc}"
        return
    again = process_source(SourceFile.from_text(new_text, path, str(path)), settings, fix=True)
    if _classify_errors(again, outcome):
        return
    if again.edit is not None:
        lines = [a.finding.span.line for a in again.applied]
        outcome.failure = "non_idempotent"
        outcome.problem = f"a second run applied {len(again.applied)} more fixes (lines {lines})"


def _classify_errors(result: FileResult, outcome: FileOutcome) -> bool:
    """Record the first error of ``result``; True when there was one."""
    for error in result.errors:
        if error.code == SYNTAX_ERROR:
            outcome.input_error = True
        elif error.code == INTERNAL_ERROR and _NOT_COMPILING in error.message:
            outcome.failure = "non_compiling"
        elif error.code == INTERNAL_ERROR and _OUTSIDE_REACH in error.message:
            outcome.failure = "safety_failures"
        else:
            outcome.failure = "crashes"
        outcome.problem = error.message if error.detail is None else f"{error.message}\n{error.detail}"
        return True
    return False


def run(files: Sequence[Path], policy: str = "default", jobs: int = 1) -> Summary:
    """Check ``files`` with ``jobs`` processes and add up the outcomes."""
    roots = [Path(p).parent for p in files[:1]] or [Path.cwd()]
    settings = load_settings(roots, Overrides(policy=policy), isolated=True)
    summary = Summary()
    started = time.perf_counter()
    outcomes = list(parallel.ordered_map(partial(check_file, settings=settings), list(files), workers=jobs))
    summary.seconds = time.perf_counter() - started
    for outcome in outcomes:
        summary.files += 1
        summary.input_errors += outcome.input_error
        summary.files_with_fixes += outcome.fixes > 0
        summary.fixes_applied += outcome.fixes
        if outcome.failure is not None:
            summary.counts[outcome.failure] += 1
            summary.problems.append(outcome)
    summary.slowest = sorted(outcomes, key=lambda o: o.seconds, reverse=True)[:5]
    return summary


def report(summary: Summary, policy: str) -> str:
    lines = [
        f"policy:                   {policy}",
        f"files processed:          {summary.files}",
        f"  not parsable (input):   {summary.input_errors}",
        f"files with fixes:         {summary.files_with_fixes}",
        f"fixes applied:            {summary.fixes_applied}",
        f"crashes (internal):       {summary.counts['crashes']}",
        f"non-compiling outputs:    {summary.counts['non_compiling']}",
        f"safety-check failures:    {summary.counts['safety_failures']}",
        f"non-idempotent files:     {summary.counts['non_idempotent']}",
        f"round-trip failures:      {summary.counts['round_trip_failures']}",
        f"time:                     {summary.seconds:.1f} s",
        "slowest files:",
        *(f"  {o.seconds:6.2f} s  {o.path}" for o in summary.slowest),
    ]
    for outcome in summary.problems:
        lines.append(f"{outcome.failure}: {outcome.path}: {outcome.problem}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directories", nargs="*", type=Path, metavar="DIR", help="default: the installed torch")
    parser.add_argument("--policy", choices=("default", "strict"), default="default")
    parser.add_argument("--sample", type=int, metavar="N", help="check N files chosen at random (see --seed)")
    parser.add_argument("--seed", type=int, default=0, metavar="S", help="the seed of --sample (default 0)")
    parser.add_argument("--jobs", "-j", type=int, default=parallel.available_cpus(), metavar="N")
    args = parser.parse_args(argv)
    files = corpus_files(args.directories or [torch_sources()])
    if args.sample is not None and args.sample < len(files):
        files = sorted(random.Random(args.seed).sample(files, args.sample))
    summary = run(files, args.policy, args.jobs)
    print(report(summary, args.policy))
    return 1 if summary.failed else 0


if __name__ == "__main__":
    sys.exit(main())
