"""``--format json``: the machine-readable report.  The schema is documented in ``docs/json-output.md``;
changing a field's meaning means bumping ``SCHEMA_VERSION``."""

from __future__ import annotations

import json
from typing import Any, TextIO

from codemod.errors import FileError
from codemod.findings import Finding, Span
from codemod.report import RenderOptions, Report
from codemod.rewrite import is_fixable
from codemod.rules import get_rule

SCHEMA_VERSION = 1


def _position(span: Span) -> dict[str, int]:
    return {"line": span.line, "column": span.col + 1, "end_line": span.end_line, "end_column": span.end_col + 1}


def finding_object(path: str, finding: Finding) -> dict[str, Any]:
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
            "applicable": is_fixable(finding),
        },
        "unfixable_reason": finding.unfixable_reason,
        "related": [{**_position(r.span), "note": r.note} for r in finding.related],
        "scope": finding.scope,
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
        "findings": [finding_object(path, finding) for path, finding in report.findings()],
        "errors": [error_object(error) for error in report.errors()],
        "summary": {
            "files": len(report.results),
            "findings": report.finding_count,
            "fixable": report.fixable_count,
            "errors": len(report.errors()),
        },
    }


def render(report: Report, stream: TextIO, options: RenderOptions) -> None:
    json.dump(document(report), stream, indent=2, ensure_ascii=False)
    stream.write("\n")
