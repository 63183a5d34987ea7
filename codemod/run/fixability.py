""""Fixable" means what ``fix --no-verify`` will apply: a dry run of the fix loop settles it.

The judge plans a fix for a finding; the rewrite pass may still decline it (the name is not a
local, the write is read again in its own chain of calls, a helper may read the attribute).  So
``check`` runs the fix loop on the text of every file that has a planned fix (``gradsafe.fix.loop``,
no verification, nothing written) and keeps a finding "fixable" only when the loop applied its
fix; a declined one keeps its finding with ``fix=None`` and the pass's reason.  ``check``'s
count, its ``[*]`` marks and ``fix --no-verify`` then agree.  Only files with a planned fix pay
for this (LibCST is loaded for them only).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from gradsafe.files.source import SourceFile, split_lines
from gradsafe.findings import Finding
from gradsafe.fix.loop import FindFn, RewriteResult, fix_text, is_fixable, span_text


def settle_fixability(source: SourceFile, findings: list[Finding], find: FindFn) -> list[Finding]:
    """``findings`` with the fixes the fix loop would decline taken off (and their reasons given)."""
    if not any(is_fixable(f) for f in findings):
        return findings
    def find_again(text: str) -> list[Finding]:
        return findings if text == source.text else find(text)  # the text as read is analysed already

    try:
        # Unsafe fixes too: whether the pass applies a fix is one question, whether the user asked
        # for unsafe ones (``--unsafe-fixes``) another, which the reports answer from the fix.
        rewritten = fix_text(source.text, find_again, filename=source.display, unsafe_fixes=True)
    except Exception:  # the fix path reports its own errors; check keeps the judge's plan
        return findings
    applied = Counter(
        (a.finding.code, a.finding.fix.kind, a.finding.scope, a.before) for a in rewritten.applied if a.finding.fix
    )
    reasons = {(d.finding.code, d.finding.fix.kind, d.finding.scope): d.reason for d in rewritten.declined if d.finding.fix}
    lines = split_lines(source.text)
    settled: list[Finding] = []
    for finding in findings:
        if not is_fixable(finding) or finding.fix is None:
            settled.append(finding)
            continue
        key = (finding.code, finding.fix.kind, finding.scope, span_text(lines, finding))
        if applied[key] > 0:
            applied[key] -= 1
            settled.append(finding)
            continue
        reason = reasons.get(key[:3], "the rewrite pass does not apply it to this text")
        settled.append(replace(finding, fix=None, unfixable_reason=f"the fix was declined: {reason}"))
    return settled


def declined_marked(rewritten: RewriteResult, excluded_scopes: frozenset[str] = frozenset(),
                    unsafe_fixes: bool = False) -> list[Finding]:
    """The findings a fix run leaves, with the ones it declined no longer marked fixable: the loop
    stops only when every fixable finding outside ``excluded_scopes`` was applied or declined,
    except the unsafe ones it held back because ``unsafe_fixes`` was off (they stay available)."""
    reasons = {(d.finding.code, d.finding.fix.kind, d.finding.scope): d.reason for d in rewritten.declined if d.finding.fix}
    marked: list[Finding] = []
    for finding in rewritten.remaining:
        withheld = finding.fix is not None and finding.fix.unsafe and not unsafe_fixes
        if is_fixable(finding) and finding.fix is not None and finding.scope not in excluded_scopes and not withheld:
            reason = reasons.get((finding.code, finding.fix.kind, finding.scope), "the rewrite pass does not apply it to this text")
            finding = replace(finding, fix=None, unfixable_reason=f"the fix was declined: {reason}")
        marked.append(finding)
    return marked
