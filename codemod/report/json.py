"""``--format json``: the machine-readable report, and reading it back.

The schema is documented in ``docs/json-output.md``; changing a field's meaning means bumping
``SCHEMA_VERSION`` (adding a field does not).  ``read_report`` is the exact inverse of ``document``
for everything the document holds, which is what lets ``gradsafe merge-reports`` combine the
JSON reports of ``--shard`` runs and print them in any format as if one run had made them.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, TextIO
from collections.abc import Mapping

from gradsafe.errors import FileError
import gradsafe.transforms.params  # noqa: F401  (registers the fix parameter classes it rebuilds)
from gradsafe.findings import Applicability, Confidence, Finding, Fix, FixKind, FixSafety, Related, Span
from gradsafe.results import FileResult
from gradsafe.report import Command, RenderOptions, Report, Totals, sort_results, write_json
from gradsafe.fix.loop import DeclinedFix, is_fixable
from gradsafe.rules import get_rule

SCHEMA_VERSION = 1


class ReportFormatError(ValueError):
    """A document that is not a gradsafe JSON report this version can read."""


def _position(span: Span) -> dict[str, int]:
    return {"line": span.line, "column": span.col + 1, "end_line": span.end_line, "end_column": span.end_col + 1}


def finding_object(path: str, finding: Finding, verdict: str | None, detail: str | None = None,
                   declined: str | None = None) -> dict[str, Any]:
    rule = get_rule(finding.code)
    fix = finding.fix
    return {
        "path": path,
        **_position(finding.span),
        "code": finding.code,
        "name": rule.name if rule else None,
        "message": finding.message,
        "confidence": finding.confidence.value,
        "fix": None
        if fix is None
        else {
            "kind": fix.kind.value,
            "description": fix.description,
            "safety": fix.safety.value,
            "applicability": fix.applicability.value,
            "applicable": is_fixable(finding),
        },
        "unfixable_reason": finding.unfixable_reason,
        "declined_reason": declined,
        "related": [{**_position(r.span), "note": r.note} for r in finding.related],
        "scope": finding.scope,
        "verdict": verdict,
        "verdict_detail": detail,
    }


def error_object(error: FileError) -> dict[str, Any]:
    return {
        "path": error.path,
        "line": error.line,
        "column": None if error.col is None else error.col + 1,
        "code": error.code,
        "message": error.message,
    }


def document(report: Report) -> dict[str, Any]:
    return {
        "version": SCHEMA_VERSION,
        "command": report.command.value,
        "findings": [finding_object(r.display, f, r.verdict(f), r.verdict_detail(f), r.declined_reason(f))
                     for r, f in report.findings()],
        "fixed": [finding_object(r.display, f, r.verdict(f), r.verdict_detail(f)) for r, f in report.fixed()],
        "errors": [error_object(error) for error in report.errors()],
        "summary": {
            "files": report.file_count,
            "findings": report.finding_count,
            "fixable": report.fixable_count,
            "unsafe_fixes_available": report.unsafe_available_count,
            "fixed": report.fixed_count,
            "fixes_applied": report.applied_count,
            "files_changed": report.files_changed,
            "errors": len(report.errors()),
        },
    }


def render(report: Report, stream: TextIO, options: RenderOptions) -> None:
    write_json(document(report), stream)


def _span(item: Mapping[str, Any]) -> Span:
    return Span(item["line"], item["column"] - 1, item["end_line"], item["end_column"] - 1)


def _finding(item: Mapping[str, Any]) -> Finding:
    span = _span(item)
    fix_item = item["fix"]
    fix = None
    if fix_item is not None:
        # The fix's target is not part of the report; reports never show it.
        fix = Fix(
            FixKind(fix_item["kind"]),
            span,
            fix_item["description"],
            FixSafety(fix_item["safety"]),
            applicability=Applicability(fix_item.get("applicability", Applicability.SAFE.value)),
        )
    finding = Finding(
        code=item["code"],
        message=item["message"],
        span=span,
        confidence=Confidence(item["confidence"]),
        related=tuple(Related(_span(r), r["note"]) for r in item["related"]),
        fix=fix,
        unfixable_reason=item["unfixable_reason"],
        scope=item["scope"],
    )
    if fix_item is not None and fix_item["applicable"] != is_fixable(finding):
        raise ReportFormatError(
            "the report was made by a gradsafe with other rewrite passes than this one; "
            "merge reports with the gradsafe version that made them"
        )
    return finding


def read_report(data: Mapping[str, Any]) -> Report:
    """The ``Report`` a JSON document describes (raises ``ReportFormatError`` if it is not one)."""
    if not isinstance(data, dict) or "findings" not in data or "summary" not in data:
        raise ReportFormatError("not a gradsafe JSON report")
    if data.get("version") != SCHEMA_VERSION:
        raise ReportFormatError(f"unsupported report version {data.get('version')!r} (expected {SCHEMA_VERSION})")
    try:
        results: dict[str, FileResult] = {}

        def result(path: str) -> FileResult:
            return results.setdefault(path, FileResult(path))

        verdicts: dict[str, dict[str, str]] = defaultdict(dict)
        details: dict[str, dict[str, str]] = defaultdict(dict)
        for key in ("findings", "fixed"):
            for item in data[key]:
                finding = _finding(item)
                getattr(result(item["path"]), key).append(finding)
                if item["verdict"] is not None:
                    verdicts[item["path"]][finding.scope] = item["verdict"]
                if item.get("verdict_detail"):
                    details[item["path"]][finding.scope] = item["verdict_detail"]
                if key == "findings" and item.get("declined_reason"):
                    result(item["path"]).declined.append(DeclinedFix(finding, item["declined_reason"]))
        for path, by_scope in verdicts.items():
            results[path].verdicts = by_scope
        for path, by_scope in details.items():
            results[path].verdict_details = by_scope
        for item in data["errors"]:
            column = item["column"]
            error = FileError(
                item["path"], item["code"], item["message"], item["line"], None if column is None else column - 1
            )
            result(error.path).errors.append(error)
        summary = data["summary"]
        totals = Totals(summary["files"], summary["fixes_applied"], summary["files_changed"])
        command = Command(data["command"])
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, ReportFormatError):
            raise
        raise ReportFormatError(f"malformed gradsafe JSON report ({type(exc).__name__}: {exc})") from None
    return Report(command, sort_results(list(results.values())), totals)
