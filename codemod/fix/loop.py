"""The fix loop: apply fixes, re-analyse, repeat until nothing fixable is left.

One fix can change what the rest of a function needs: after ``y = y.mul(2)`` the next ``y.add_(1)``
writes a fresh tensor and is no longer a hazard.  So, like ruff, the loop applies a few fixes at a
time and re-runs the analysis on the new text before choosing more.  Each iteration applies

* fixes of a single kind (one pass over a freshly parsed module, so every span the pass sees
  refers to exactly the text it edits), and
* at most one fix per enclosing scope (``Finding.scope``), with non-overlapping targets, except
  that out-of-place rewrites of different names in one scope share a round (``_independent_key``).

Unsafe fixes (``Fix.applicability``: they change what the code computes, the repairs of silent
bugs) are applied only with ``unsafe_fixes``; otherwise they stay offered, in ``remaining``.

A fix a pass declines is remembered, with its reason, and never offered again.  Fixes in
``excluded_scopes`` are never applied: verification uses that to drop the functions whose rewrite
it rejected.  Every round's result must pass the safety check (``gradsafe.fix.safety_check``: it compiles,
and its ``ast`` changed only within the reach of that round's applied fixes); if not, every fix of
the file is dropped and the caller reports an internal error.

LibCST (through ``transforms``) is imported only when a file has a fix to apply, so ``gradsafe
check`` never loads it.
"""

from __future__ import annotations

import importlib.util
import pkgutil
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from collections.abc import Callable, Iterable

from gradsafe.findings import Finding, FixKind
from gradsafe.fix.safety_check import RewriteError as RewriteError  # callers import it from here
from gradsafe.fix.safety_check import check_rewrite, touched_spans
from gradsafe.files.source import split_lines
from gradsafe.transforms.params import OutOfPlaceParams

# Every round applies at least one fix or declines one for good, so the loop converges; rounds are
# one fix per scope, so a function with many hazards needs as many rounds.  The cap only guards
# against a pass that re-creates what it fixed (then the result would not be idempotent).
MAX_ITERATIONS = 100

# The text of one file -> its findings after selection, per-file ignores and suppressions.
FindFn = Callable[[str], list[Finding]]


@lru_cache(maxsize=1)
def pass_kinds() -> frozenset[FixKind]:
    """The fix kinds that have a rewrite pass, found without importing ``transforms`` (and LibCST).

    Pass modules are named after their kind (``transforms/out_of_place.py`` carries out
    ``out-of-place`` fixes); ``tests/fix/test_rewrite.py`` checks that every loaded pass follows this.
    """
    spec = importlib.util.find_spec("gradsafe.transforms")
    if spec is None or not spec.submodule_search_locations:
        return frozenset()
    by_module = {kind.value.replace("-", "_"): kind for kind in FixKind}
    return frozenset(
        by_module[info.name] for info in pkgutil.iter_modules(spec.submodule_search_locations) if info.name in by_module
    )


def is_fixable(finding: Finding) -> bool:
    return finding.fix is not None and finding.fix.kind in pass_kinds()


def _applies(finding: Finding, unsafe_fixes: bool) -> bool:
    return is_fixable(finding) and (unsafe_fixes or not finding.fix.unsafe)  # type: ignore[union-attr]


@dataclass(frozen=True)
class AppliedFix:
    finding: Finding  # as reported on the text the fix was applied to
    iteration: int  # 0-based; spans refer to the text of that iteration
    before: str  # the source text of the fix target when it was rewritten


@dataclass(frozen=True)
class DeclinedFix:
    finding: Finding
    reason: str


@dataclass
class RewriteResult:
    text: str  # the final text (the original when nothing was applied)
    applied: list[AppliedFix] = field(default_factory=list)
    remaining: list[Finding] = field(default_factory=list)  # findings on the final text
    declined: list[DeclinedFix] = field(default_factory=list)
    iterations: int = 0


def span_text(lines: list[str], finding: Finding) -> str:
    """The source text of a finding's fix target (its span when it has no fix)."""
    span = finding.fix.target if finding.fix else finding.span
    if span.line == span.end_line:
        return lines[span.line - 1][span.col : span.end_col]
    parts = [
        lines[span.line - 1][span.col :],
        *lines[span.line : span.end_line - 1],
        lines[span.end_line - 1][: span.end_col],
    ]
    return "".join(parts)


def _identities(findings: Iterable[Finding], lines: list[str]) -> dict[Finding, tuple[object, ...]]:
    """A name for each fix that survives edits elsewhere in the file (spans shift, text does not).

    (code, kind, scope, target text, n-th such fix in the file) tells two identical
    ``y.add_(1)`` in one function apart and stays put when another function is rewritten.
    """
    seen: Counter[tuple[object, ...]] = Counter()
    identities: dict[Finding, tuple[object, ...]] = {}
    for finding in findings:
        assert finding.fix is not None
        key = (finding.code, finding.fix.kind, finding.scope, span_text(lines, finding))
        identities[finding] = (*key, seen[key])
        seen[key] += 1
    return identities


def _choose_batch(candidates: list[Finding]) -> list[Finding]:
    """Fixes of the first candidate's kind with non-overlapping targets, one per scope, except
    out-of-place rewrites of different names, which go together (see ``_independent_key``)."""
    kind = candidates[0].fix.kind  # type: ignore[union-attr]
    batch: list[Finding] = []
    taken: set[tuple[str, str | None]] = set()
    for finding in candidates:
        fix = finding.fix
        assert fix is not None
        if fix.kind is not kind:
            continue
        key = _independent_key(finding)
        if (finding.scope, None) in taken or (finding.scope, key) in taken or (key is None and any(s == finding.scope for s, _ in taken)):
            continue
        if any(fix.target.overlaps(chosen.fix.target) for chosen in batch):  # type: ignore[union-attr]
            continue
        batch.append(finding)
        taken.add((finding.scope, key))
    return batch


def _independent_key(finding: Finding) -> str | None:
    """The name an out-of-place fix rebinds, when it can share a round with others in its scope.

    The analysis plans an out-of-place rewrite only when no other live name holds the written
    tensor (``gradsafe.analysis.remedies.other_live_names``), and the out-of-place op saves what
    the in-place one saved: the rewrite changes what that one name means after the write and
    nothing else, so the findings on other names are the same before and after it.  Findings on
    the same name are not (after ``y = y.mul(2)`` a later ``y.add_(1)`` writes a fresh tensor), so
    they wait for the next round.  Every other fix is alone in its scope for the round (None).
    """
    params = finding.fix.params if finding.fix is not None else None
    if isinstance(params, OutOfPlaceParams) and params.name:
        return params.name
    return None


def fix_text(
    text: str,
    find: FindFn,
    *,
    filename: str = "<unknown>",
    excluded_scopes: frozenset[str] = frozenset(),
    max_iterations: int = MAX_ITERATIONS,
    unsafe_fixes: bool = False,
) -> RewriteResult:
    """Apply every fix ``find`` asks for to ``text`` (the unsafe ones only with ``unsafe_fixes``),
    re-analysing after each round."""
    findings = find(text)
    result = RewriteResult(text=text, remaining=findings)
    declined_ids: set[tuple[object, ...]] = set()
    for iteration in range(max_iterations):
        lines = split_lines(text)
        fixable = sorted(
            (f for f in findings if _applies(f, unsafe_fixes) and f.scope not in excluded_scopes),
            key=lambda f: f.sort_key,
        )
        identities = _identities(fixable, lines)
        candidates = [f for f in fixable if identities[f] not in declined_ids]
        if not candidates:
            break
        batch = _choose_batch(candidates)
        new_text, applied, declined = _apply(text, batch)
        if new_text == text:
            declined += [(f, "the pass reported the fix as applied but changed nothing") for f in applied]
            applied = []
        for finding, reason in declined:
            declined_ids.add(identities[finding])
            result.declined.append(DeclinedFix(finding, reason))
        result.applied.extend(AppliedFix(f, iteration, span_text(lines, f)) for f in applied)
        result.iterations = iteration + 1
        if new_text != text:
            check_rewrite(text, new_text, filename, touched_spans(f.fix for f in applied if f.fix is not None))
            text = new_text
            findings = find(text)
    result.text = text
    result.remaining = findings
    return result


def _apply(text: str, batch: list[Finding]) -> tuple[str, list[Finding], list[tuple[Finding, str]]]:
    """Run the pass for the batch's kind on ``text``: the new text, what it applied, what it declined."""
    import libcst

    import gradsafe.transforms
    from gradsafe.transforms.locate import NodeIndex

    kind = batch[0].fix.kind  # type: ignore[union-attr]
    rewrite_pass = gradsafe.transforms.get_pass(kind)
    if rewrite_pass is None:
        return text, [], [(f, f"no rewrite pass for fix kind '{kind.value}'") for f in batch]
    module = libcst.parse_module(text)
    # One code generation gives the module's text and every node's position and parent; the
    # pass reuses this index (``NodeIndex.of``) instead of resolving LibCST metadata again.
    printed = NodeIndex.of(module).code
    # LibCST drops a lone "\r" that ends a file (old Mac or mixed line endings); it goes back on
    # after the pass.  Any other difference would lose bytes the pass never meant to touch.
    lost = text[len(printed) :] if text.startswith(printed) else None
    if lost is None or lost.strip("\r"):
        return text, [], [(f, "LibCST cannot print this file back unchanged") for f in batch]
    by_fix = {f.fix: f for f in batch}
    outcome = rewrite_pass.apply(module, [f.fix for f in batch])  # type: ignore[misc]
    declined = [(by_fix[fix], reason) for fix, reason in outcome.declined if fix in by_fix]
    applied = [by_fix[fix] for fix in outcome.applied if fix in by_fix]
    handled = {id(f) for f in applied} | {id(f) for f, _ in declined}
    declined += [(f, "the pass neither applied nor declined this fix") for f in batch if id(f) not in handled]
    return outcome.module.code + lost, applied, declined
