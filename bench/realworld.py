"""The real-world scoreboard: what gradsafe detects, fixes and wrongly rewrites in tests/realworld/.

    python bench/realworld.py                      # every case, 2 processes; writes docs/realworld.md
    python bench/realworld.py --cases ID ID --jobs 1 --no-write
    python bench/realworld.py --write-known-gaps   # and rewrite tests/realworld/known_gaps.toml
    python bench/realworld.py --json out.json --reuse earlier.json   # rerun only what changed

For each case (``tests/realworld/README.md``), in scratch copies under a temporary directory, with
``python -m gradsafe ... --isolated`` and a private result cache:

* **detected**: ``gradsafe check`` (default policy) reports at least one finding;
* **fix**: ``gradsafe fix --unsafe-fixes --scenario <entry>:run`` with verification on (unsafe
  fixes included: they are what repairs a silent-bug case, and one applied to a safe case counts
  against the product as a change); the copy is then run
  (``kit.judge_rewrite``) and compared with the recorded reference values;
* **trace**: ``gradsafe trace --fix --checksum-saved --scenario <entry>:run``, judged the same way;
* **wrong rewrite**: a changed file that computes other values, or raises an error other than the
  case's own, after ``fix`` or ``trace --fix``;
* a safe case counts as **flagged** when ``check`` reports anything, and **changed** when ``fix``
  or ``trace --fix`` changes it.

Each case runs in a fresh process (``--jobs`` of them at a time), so one case's imports or global
torch state cannot leak into another's.  ``--reuse FILE`` takes the results of an earlier ``--json``
run for every case whose fingerprint is unchanged: the same bytes of its case, reference and
recorded values, of gradsafe's own sources (``codemod/``, ``transforms/``) and of this harness.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import json
import platform
import re
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "realworld"))

import kit  # noqa: E402  (tests/realworld/kit.py, put on the path just above)

DOC = REPO / "docs" / "realworld.md"
KNOWN_GAPS = kit.HERE / "known_gaps.toml"
TIMEOUT = 600
CHANGED = {kit.FIXED, kit.STILL_RAISES, kit.STILL_WRONG, kit.WRONG}  # statuses of a copy the command changed


@dataclass
class Result:
    """One case's line of the scoreboard (``fix`` and ``trace`` hold a ``kit.Verdict`` status)."""

    id: str
    group: str
    kind: str
    mechanism: str
    report: str
    findings: int = 0
    codes: list[str] = field(default_factory=list)
    unfixable: list[str] = field(default_factory=list)
    fix: str = kit.UNCHANGED
    fix_detail: str = ""
    trace: str = kit.UNCHANGED
    trace_detail: str = ""
    trace_found: bool = False  # the traced run reported a hazard (exit status 1) or trace --fix rewrote
    fingerprint: str = ""  # of the case's files and gradsafe's sources: see fingerprint()

    @property
    def wrong(self) -> int:
        return (self.fix == kit.WRONG) + (self.trace == kit.WRONG)


def _targets(case: kit.Case, entry: Path) -> tuple[Path, str, str]:
    """The copy's project root, the path to hand to check/fix (a folder case: all of it), the scenario."""
    return entry.parent, "." if case.path.is_dir() else entry.name, f"{entry.name}:run"


# A finding line of the text report: ``path:line:column: GS101 ...``.
FINDING_LINE = re.compile(r"^\S+:\d+:\d+: GS\d+ ", re.MULTILINE)


def _command(args: list[str], cwd: Path, cache: Path) -> tuple[int, str, str]:
    """Exit status, the end of the output (for the table), and the whole report (standard output)."""
    try:
        done = kit.gradsafe(args, cwd, timeout=TIMEOUT, env={"GRADSAFE_CACHE_DIR": str(cache)})
    except Exception as error:  # a hang (TimeoutExpired) or a start failure: the case's result
        return -1, f"{type(error).__name__}: {error}", ""
    return done.returncode, (done.stdout + done.stderr)[-400:], done.stdout


def _judged(case: kit.Case, entry: Path, returncode: int, output: str) -> tuple[str, str]:
    if not case.expected.is_file():
        return "error", "no recorded values to compare with"
    verdict = kit.judge_rewrite(case, entry)
    if verdict.status == kit.UNCHANGED and returncode not in (0, 1):
        return "error", output.strip().splitlines()[-1] if output.strip() else f"exit status {returncode}"
    return verdict.status, verdict.detail


def evaluate(case_id: str) -> Result:
    """Check, fix and trace one case in scratch copies; judge each rewrite."""
    case = kit.get_case(case_id)
    meta = case.meta
    result = Result(case.id, case.group, case.kind, meta["mechanism"], meta["report"])
    with tempfile.TemporaryDirectory(prefix=f"gradsafe-rw-{case.id[:20]}-") as scratch:
        base = Path(scratch)
        cache = base / "cache"

        root, path, _ = _targets(case, kit.scratch_copy(case, base / "check"))
        try:
            done = kit.gradsafe(["check", "--isolated", "--no-cache", "--format", "json", path], root,
                                timeout=TIMEOUT, env={"GRADSAFE_CACHE_DIR": str(cache)})
            findings = json.loads(done.stdout)["findings"]
        except Exception as error:  # a crash or a hang of check: shown in the table, not raised
            result.codes = [f"check failed: {type(error).__name__}"]
        else:
            result.findings = len(findings)
            result.codes = sorted({f["code"] for f in findings})
            result.unfixable = sorted({f["unfixable_reason"] for f in findings if f.get("unfixable_reason")})

        entry = kit.scratch_copy(case, base / "fix")
        root, path, scenario = _targets(case, entry)
        # Unsafe fixes too: they repair the silent-bug cases, and on a safe case they count as harm.
        code, output, _ = _command(
            ["fix", "--isolated", "--no-cache", "--unsafe-fixes", "--scenario", scenario, path], root, cache)
        result.fix, result.fix_detail = _judged(case, entry, code, output)

        entry = kit.scratch_copy(case, base / "trace")
        root, _, scenario = _targets(case, entry)
        # The program's own exit status passes through trace, so the report says whether it saw a hazard
        # (text: --format json is refused with --fix, see the report of this suite).
        code, output, report = _command(
            ["trace", "--isolated", "--fix", "--checksum-saved", "--root", ".", "--scenario", scenario], root, cache)
        result.trace, result.trace_detail = _judged(case, entry, code, output)
        result.trace_found = bool(FINDING_LINE.search(report)) or result.trace in CHANGED
        if result.trace == kit.UNCHANGED and result.trace_found:
            result.trace_detail = "hazard reported, no verified fix"
    return result


def _digest(paths: list[Path], base: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in paths if p.is_file() and "__pycache__" not in p.parts):
        digest.update(str(path.relative_to(base)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _tree(path: Path) -> list[Path]:
    return [p for p in path.rglob("*") if not any(part.startswith(".") for part in p.relative_to(path).parts)] \
        if path.is_dir() else [path]


def product_digest() -> str:
    """gradsafe's sources, and this harness's (a result is only as good as the code that measured it)."""
    harness = [Path(__file__).resolve(), kit.HERE / "kit.py"]
    return _digest([*(REPO / "codemod").rglob("*.py"), *(REPO / "transforms").rglob("*.py"), *harness], REPO)


def fingerprint(case: kit.Case, product: str) -> str:
    """What a case's result depends on: its files, its reference, its record, and gradsafe itself."""
    reference = kit.REFERENCE / case.id
    files = [*_tree(case.path), *_tree(reference if reference.is_dir() else case.reference), case.expected]
    return hashlib.sha256((product + _digest(files, kit.HERE)).encode()).hexdigest()


def run_all(case_ids: list[str], jobs: int) -> list[Result]:
    results = []
    with concurrent.futures.ProcessPoolExecutor(max_workers=jobs, max_tasks_per_child=1) as pool:
        futures = {pool.submit(evaluate, case_id): case_id for case_id in case_ids}
        for done, future in enumerate(concurrent.futures.as_completed(futures), 1):
            try:
                result = future.result()
            except Exception as error:  # the harness failed on this case: a line of the table, not a crash
                case = kit.get_case(futures[future])
                result = Result(case.id, case.group, case.kind, case.meta["mechanism"], case.meta["report"],
                                fix="error", fix_detail=f"{type(error).__name__}: {error}", trace="error")
            results.append(result)
            print(f"[{done}/{len(futures)}] {result.id}: findings {result.findings}, fix {result.fix}, "
                  f"trace {result.trace}", file=sys.stderr, flush=True)
    return sorted(results, key=lambda r: (r.group, r.id))


HEADER = ("group", "cases", "hazards", "detected", "fixed by fix", "found by trace", "fixed by trace", "wrong rewrites",
          "safe", "safe flagged", "safe changed")


def _tally(results: list[Result]) -> list[int]:
    hazards = [r for r in results if r.kind == "hazard"]
    safe = [r for r in results if r.kind == "safe"]
    return [
        len(results),
        len(hazards),
        sum(r.findings > 0 for r in hazards),
        sum(r.fix == kit.FIXED for r in hazards),
        sum(r.trace_found for r in hazards),
        sum(r.trace == kit.FIXED for r in hazards),
        sum(r.wrong for r in results),
        len(safe),
        sum(r.findings > 0 for r in safe),
        sum(bool(CHANGED & {r.fix, r.trace}) for r in safe),
    ]


def scoreboard(results: list[Result]) -> str:
    """The table per group and in total (Markdown)."""
    groups: dict[str, list[Result]] = defaultdict(list)
    for result in results:
        groups[result.group].append(result)
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for group in sorted(groups):
        lines.append("| " + " | ".join([group, *map(str, _tally(groups[group]))]) + " |")
    lines.append("| " + " | ".join(["**total**", *(f"**{n}**" for n in _tally(results))]) + " |")
    return "\n".join(lines)


def _cell(status: str, detail: str) -> str:
    text = status if not detail or status == kit.FIXED else f"{status}: {detail}"
    return text.replace("|", "\\|").replace("\n", " ")[:160]


def case_table(results: list[Result]) -> str:
    lines = ["| id | group | mechanism | detected | fix | trace | report |", "|---|---|---|---|---|---|---|"]
    for r in results:
        if r.kind == "safe":
            detected = f"flagged ({', '.join(r.codes)})" if r.findings else "clean (safe)"
        else:
            detected = f"yes ({', '.join(r.codes)})" if r.findings else "no"
        lines.append(f"| `{r.id}` | {r.group} | {r.mechanism} | {detected} | {_cell(r.fix, r.fix_detail)} | "
                     f"{_cell(r.trace, r.trace_detail)} | <{r.report}> |")
    return "\n".join(lines)


def document(results: list[Result], command: str, seconds: float, note: str = "") -> str:
    import torch  # for the version line only

    from gradsafe import __version__

    return f"""# The real-world scoreboard

How gradsafe does on the real-world suite (`tests/realworld/`, format in its README): reproductions
of publicly reported in-place bugs (hazard cases, each with a corrected reference and its recorded
values) and in-place patterns that real repositories are full of and that must stay untouched (safe
cases).

Produced by `{command}` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}
(gradsafe {__version__}, torch {torch.__version__}, Python {platform.python_version()}; {seconds:.0f} s{note}).
Each case is copied to a scratch directory; **detected** means `gradsafe check --isolated` (default
policy) reports at least one finding; **fixed by fix** means `gradsafe fix --scenario <entry>:run`
(verification on) changed the file and the changed program computes the recorded reference values;
**found by trace** means `gradsafe trace --fix --checksum-saved --scenario <entry>:run` reported a hazard during the
run, **fixed by trace** that it changed the file and the result is right; a **wrong rewrite**
is a changed file that computes other values or raises another error (counted once per command);
a safe case is **flagged** when `check` reports anything and **changed** when either command
changes it. `still raises` is a rewrite after which the case still fails with its own error, `still
wrong` one after which a silently wrong case computes exactly what it computed before (neither is
fixed, neither is made worse). Hazard cases that `fix` does not fix, and safe cases flagged or changed, are listed in
`tests/realworld/known_gaps.toml` (strict xfails of `tests/realworld/test_product.py`).

{scoreboard(results)}

## Every case

{case_table(results)}
"""


def _is_gap(result: Result) -> bool:
    if result.kind == "safe":
        return result.findings > 0 or bool(CHANGED & {result.fix, result.trace})
    return result.fix != kit.FIXED


def _gap_reason(result: Result) -> str:
    if result.kind == "safe":
        how = f"check flags it ({', '.join(result.codes)})" if result.findings else "it is left unflagged"
        changed = [name for name, status in (("fix", result.fix), ("trace --fix", result.trace)) if status in CHANGED]
        rewritten = f", and {' and '.join(changed)} rewrite it" if changed else ""
        return f"{result.mechanism}: a false positive: {how}{rewritten}, though the code is safe"
    if result.fix == kit.WRONG:
        return f"{result.mechanism}: fix makes a wrong rewrite ({result.fix_detail[:120]})"
    if not result.findings:
        if result.trace == kit.FIXED:
            seen = "trace --fix sees it at run time and fixes it"
        elif result.trace_found:
            seen = "trace sees it at run time but emits no verified fix"
        else:
            seen = "nor does trace see it at run time"
        return f"{result.mechanism}: check reports nothing, so fix has nothing to rewrite; {seen}"
    if result.fix == kit.STILL_RAISES:
        return f"{result.mechanism}: detected ({', '.join(result.codes)}) but the verified rewrite is partial: it still raises"
    if result.fix == kit.STILL_WRONG:
        return (f"{result.mechanism}: detected ({', '.join(result.codes)}) but the verified rewrite keeps the "
                "original's values: the silent bug remains")
    reason = f"; {result.unfixable[0]}" if result.unfixable else ""
    return f"{result.mechanism}: detected ({', '.join(result.codes)}) but fix emits no verified rewrite ({result.fix}){reason}"


def write_known_gaps(results: list[Result]) -> None:
    """Rewrite known_gaps.toml: every hazard case ``fix`` did not fix, and every safe case flagged or
    changed, with what the product lacks.

    A case already listed keeps its reason (it may have been written by hand); a case now fixed
    leaves the file; a new gap gets a reason made from its results.
    """
    import tomllib

    before = tomllib.loads(KNOWN_GAPS.read_text(encoding="utf-8")) if KNOWN_GAPS.is_file() else {}
    lines = [
        "# Hazard cases `gradsafe fix` does not fix yet, and safe cases it flags or rewrites (false",
        "# positives); written by `python bench/realworld.py --write-known-gaps`.",
        "# case_id = \"mechanism: what the product lacks\". tests/realworld/test_product.py marks each one a",
        "# strict xfail: when the product gets it right, the XPASS says to remove the line.",
        "",
    ]
    for result in sorted(results, key=lambda r: r.id):
        if _is_gap(result):
            reason = before.get(result.id) or _gap_reason(result).replace("\n", " ")
            lines.append(f"{result.id} = {json.dumps(reason)}")
    KNOWN_GAPS.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", nargs="+", metavar="ID", help="only these case ids")
    parser.add_argument("--jobs", type=int, default=2, help="cases evaluated at once (processes)")
    parser.add_argument("--no-write", action="store_true", help=f"print only; leave {DOC.relative_to(REPO)} alone")
    parser.add_argument("--write-known-gaps", action="store_true", help="rewrite tests/realworld/known_gaps.toml")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument("--reuse", type=Path, help="an earlier --json: keep its results for unchanged cases")
    args = parser.parse_args(argv)

    product = product_digest()
    prints = {case.id: fingerprint(case, product) for case in kit.all_cases()}
    ids = args.cases or list(prints)
    earlier = {r["id"]: Result(**r) for r in json.loads(args.reuse.read_text())} if args.reuse else {}
    reused = [earlier[i] for i in ids if i in earlier and earlier[i].fingerprint == prints[i]]
    started = time.monotonic()
    fresh = run_all([i for i in ids if i not in {r.id for r in reused}], max(1, args.jobs))
    for result in fresh:
        result.fingerprint = prints[result.id]
    results = sorted(reused + fresh, key=lambda r: (r.group, r.id))
    seconds = time.monotonic() - started
    if reused:
        print(f"reused {len(reused)} results from {args.reuse}", file=sys.stderr)
    print(scoreboard(results))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=1) + "\n", encoding="utf-8")
    if not args.no_write:
        command = "python bench/realworld.py" + (f" --jobs {args.jobs}" if args.jobs != 2 else "")
        command += " --cases " + " ".join(args.cases) if args.cases else ""
        note = f"; {len(reused)} results reused from an earlier run on the same files and the same gradsafe" \
            if reused else ""
        DOC.write_text(document(results, command, seconds, note), encoding="utf-8")
        print(f"wrote {DOC.relative_to(REPO)}", file=sys.stderr)
    if args.write_known_gaps:
        write_known_gaps(results)
        print(f"wrote {KNOWN_GAPS.relative_to(REPO)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
