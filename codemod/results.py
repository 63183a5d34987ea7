"""What processing one file produces: its ``FileResult`` and, when fixes changed it, its ``Edit``.

The pipeline (``gradsafe.run.pipeline``) builds these, verification (``gradsafe.verify.stage``)
narrows them and records its verdicts on them, the result cache (``gradsafe.run.cache``) stores
and loads their check part, and the reports (``gradsafe.report``) and the command line read them.
They live here, apart from the processing code, so that none of those depends on the pipeline.
Results are picklable: worker processes (``--jobs``) send them back to the parent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gradsafe.errors import FileError
from gradsafe.files.source import SourceFile
from gradsafe.findings import Finding
from gradsafe.fix.loop import AppliedFix, DeclinedFix


@dataclass(frozen=True)
class Edit:
    """A rewrite of one file, ready to be shown as a diff or written."""

    source: SourceFile  # as read (encoding, BOM and content hash for the write-back)
    new_text: str


@dataclass
class FileResult:
    """One file's findings, errors, rewrite and verdicts, named by its display path."""

    display: str
    # Findings on the file as it is after this run: all of them for `check`, the ones that
    # remain after fixing for `diff` / `fix` (positions in the rewritten text).
    findings: list[Finding] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)
    edit: Edit | None = None  # only when fixes changed the text
    applied: list[AppliedFix] = field(default_factory=list)
    declined: list[DeclinedFix] = field(default_factory=list)
    # Findings of the file as read that the rewrite (`edit`) resolves, at their positions in
    # the file as read (``gradsafe.fix.resolution``); empty when no fixes were computed.
    fixed: list[Finding] = field(default_factory=list)
    # Verification verdicts by `Finding.scope` ("verified", "repaired", "rejected", "unverified");
    # empty when verification did not run.  Reports show a finding's verdict as that of its scope.
    verdicts: dict[str, str] = field(default_factory=dict)
    # The verifier's one-line explanation of each verdict, by scope (what differed, why no inputs).
    verdict_details: dict[str, str] = field(default_factory=dict)

    def verdict(self, finding: Finding) -> str | None:
        return self.verdicts.get(finding.scope)

    def verdict_detail(self, finding: Finding) -> str | None:
        return self.verdict_details.get(finding.scope)

    def declined_reason(self, finding: Finding) -> str | None:
        """The reason a pass gave for declining ``finding``'s fix (matched by code, scope and
        message, since the declined finding's span refers to an intermediate text of the fix loop)."""
        for declined in self.declined:
            other = declined.finding
            if (other.code, other.scope, other.message) == (finding.code, finding.scope, finding.message):
                return declined.reason
        return None
