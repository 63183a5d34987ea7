"""gradsafe against the real-world cases: safe code untouched, hazards fixed, never a wrong rewrite.

* Every safe case, always (static, two gradsafe runs for all of them): ``check`` reports nothing and
  ``fix --no-verify`` leaves the file byte-identical.  A safe case the product is known to flag (a
  false positive) is listed in ``known_gaps.toml`` too, and is a strict xfail the same way.
* Hazard cases (torch, slow): ``fix --scenario <entry>:run`` with verification on, in a scratch copy;
  the copy is then run and compared with the recorded reference values (``kit.judge_rewrite``).
  A changed file that computes other values or raises another error is a **wrong rewrite** and
  fails the test, whatever ``known_gaps.toml`` says.  A case left unchanged, still raising its own
  error, or (silent) still computing exactly what the original computes, is not fixed: it must be
  listed in ``known_gaps.toml``, which makes it a strict xfail
  (fixing it later shows up as an XPASS, a failure that says to remove the line).
* Which hazard cases run: a deterministic sample of ``SAMPLE`` (by a stable hash of the id), plus
  the ids in ``$GRADSAFE_REALWORLD_CASES`` (comma-separated); every one with ``GRADSAFE_REALWORLD=all``.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tomllib
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import kit  # noqa: E402  (beside this file)

KNOWN_GAPS_FILE = kit.HERE / "known_gaps.toml"
SAMPLE = 10
ALL_ENV, CASES_ENV = "GRADSAFE_REALWORLD", "GRADSAFE_REALWORLD_CASES"

try:
    CASES = kit.all_cases()
except ValueError:  # a malformed case: test_honesty.py reports it; the product is measured on none
    CASES = []
SAFE = [case for case in CASES if case.kind == "safe"]
HAZARDS = [case for case in CASES if case.kind == "hazard"]


def known_gaps() -> dict[str, str]:
    if not KNOWN_GAPS_FILE.is_file():
        return {}
    return tomllib.loads(KNOWN_GAPS_FILE.read_text(encoding="utf-8"))


def _stable_rank(case_id: str) -> str:
    return hashlib.sha256(case_id.encode()).hexdigest()


def selected_hazards(cases: list[kit.Case], environ: os._Environ[str] | dict[str, str] = os.environ) -> list[kit.Case]:
    """The hazard cases this run measures: a stable sample, the named ones, or all of them."""
    if environ.get(ALL_ENV, "").strip().lower() == "all":
        return list(cases)
    named = {name.strip() for name in environ.get(CASES_ENV, "").split(",") if name.strip()}
    sample = {case.id for case in sorted(cases, key=lambda c: _stable_rank(c.id))[:SAMPLE]}
    return [case for case in cases if case.id in sample | named]


class KnownGap(AssertionError):
    """A shortfall ``known_gaps.toml`` may list (a wrong rewrite is never one)."""


class NotFixed(KnownGap):
    """The product leaves a hazard case unfixed (unchanged, still raising, or still as wrong as before)."""


class Flagged(KnownGap):
    """The product reports or rewrites a safe case (a false positive)."""


def _param(case: kit.Case, gaps: dict[str, str]):
    if case.id not in gaps:
        return pytest.param(case, id=case.id)
    mark = pytest.mark.xfail(strict=True, raises=KnownGap, reason=f"known gap: {gaps[case.id]}")
    return pytest.param(case, id=case.id, marks=mark)


# --- the sampling and the gaps file (static) ---------------------------------------------------


def test_the_sample_is_stable_and_takes_the_named_cases():
    fake = [kit.Case(f"case_{i}", Path(f"case_{i}.py"), {}) for i in range(30)]
    first = selected_hazards(fake, {})
    assert len(first) == SAMPLE
    assert [c.id for c in selected_hazards(list(reversed(fake)), {})] == [c.id for c in reversed(first)]
    outside = next(c for c in fake if c not in first)
    named = selected_hazards(fake, {CASES_ENV: f" {outside.id} ,"})
    assert outside in named and len(named) == SAMPLE + 1
    assert selected_hazards(fake, {ALL_ENV: "all"}) == fake


def test_known_gaps_name_cases_with_their_mechanism():
    gaps = known_gaps()
    cases = {case.id: case for case in CASES}
    for case_id, reason in gaps.items():
        assert case_id in cases, f"known_gaps.toml lists {case_id!r}, which is not a case"
        mechanism = cases[case_id].meta["mechanism"]
        assert isinstance(reason, str) and reason.startswith(mechanism + ": ")
        assert len(reason) > len(mechanism) + 10, f"{case_id}: say what the product lacks"


# --- safe cases: untouched (static, all of them) --------------------------------------------


@pytest.fixture(scope="module")
def safe_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[list[dict], kit.Case, Path]]:
    """``check`` and ``fix --no-verify`` once over scratch copies of every safe case."""
    base = tmp_path_factory.mktemp("safe-cases")
    cache = tmp_path_factory.mktemp("safe-cache")
    entries = {case.id: kit.scratch_copy(case, base) for case in SAFE}
    env = {"GRADSAFE_CACHE_DIR": str(cache)}
    checked = kit.gradsafe(["check", "--isolated", "--no-cache", "--format", "json", "."], base, env=env)
    assert checked.returncode in (0, 1), checked.stderr
    findings: dict[str, list[dict]] = {}
    for finding in json.loads(checked.stdout)["findings"]:
        findings.setdefault(Path(finding["path"]).parts[0].removesuffix(".py"), []).append(finding)
    fixed = kit.gradsafe(["fix", "--isolated", "--no-cache", "--no-verify", "--unsafe-fixes", "."], base, env=env)
    assert fixed.returncode in (0, 1), fixed.stderr
    return {case.id: (findings.get(case.id, []), case, entries[case.id]) for case in SAFE}


GAPS = known_gaps()


@pytest.mark.parametrize("case", [_param(case, GAPS) for case in SAFE])
def test_safe_case_is_neither_flagged_nor_changed(case: kit.Case, safe_runs):
    """``check`` reports nothing, and ``fix --no-verify`` leaves the file byte-identical."""
    findings, case, entry = safe_runs[case.id]
    problems = [f"{f['path']}:{f['line']}: {f['code']} {f['message']}" for f in findings]
    changed = kit.changed_files(case, entry)
    if changed:
        problems.append(f"fix --no-verify changed {', '.join(changed)}")
    if problems:
        raise Flagged("\n".join(problems))


# --- hazard cases: fixed, or a listed gap; never wrong (torch, slow) --------------------------

SELECTED = selected_hazards(HAZARDS)


@pytest.mark.torch
@pytest.mark.slow
@pytest.mark.parametrize("case", [_param(case, GAPS) for case in SELECTED])
def test_fix_repairs_the_hazard_case_or_it_is_a_known_gap(case: kit.Case, tmp_path: Path):
    pytest.importorskip("torch")
    if not case.expected.is_file():
        pytest.skip("no recorded values yet (test_honesty.py fails for it)")
    entry = kit.scratch_copy(case, tmp_path / "copy")
    path = "." if case.path.is_dir() else entry.name
    done = kit.gradsafe(
        ["fix", "--isolated", "--no-cache", "--unsafe-fixes", "--scenario", f"{entry.name}:run", path], entry.parent
    )
    verdict = kit.judge_rewrite(case, entry)
    if verdict.status == kit.WRONG:
        pytest.fail(f"wrong rewrite: {verdict.detail}\n--- gradsafe fix said:\n{done.stdout}{done.stderr}")
    if verdict.status != kit.FIXED:
        raise NotFixed(
            f"not fixed ({verdict.status}{': ' + verdict.detail if verdict.detail else ''}); if that is a known "
            f"gap, list it in known_gaps.toml\n--- gradsafe fix said (exit {done.returncode}):\n{done.stdout}{done.stderr}"
        )
