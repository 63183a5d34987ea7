"""``--format sarif``: a SARIF 2.1.0 log for code scanning (GitHub, Azure DevOps, IDE viewers).

One run, whose ``tool.driver.rules`` holds every rule of the catalogue (so shards of one project
describe the same rules at the same indices and merge by concatenating results).  Each finding
is a result located by a path relative to the working directory (``uriBaseId`` ``%SRCROOT%``,
the checkout root in CI); columns count code points (``columnKind``), 1-based, end exclusive, as
in the other formats.  ``docs/sarif.md`` lists what goes where.

``fixes``: for every result whose finding the file's rewrite resolves, the rewrite as
replacements of the changed line ranges (``gradsafe.fix.hunks``), addressed by character offset.  The
whole file's change is one fix because gradsafe computes a file's fixes together (one fix can
make another unnecessary), so only the whole change is known to be consistent.

Files that could not be processed (``E902``, ``E999``, ``E001``) are tool execution
notifications of the run's invocation, not results, and make ``executionSuccessful`` false.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote, unquote, urlparse
from urllib.request import url2pathname

from gradsafe import __version__
from gradsafe.errors import FileError
from gradsafe.findings import Finding, Span
from gradsafe.fix.hunks import line_diff
from gradsafe.files.paths import path_sort_key
from gradsafe.results import Edit, FileResult
from gradsafe.report import RenderOptions, Report, severity, write_json
from gradsafe.rules import INTERNAL_ERROR, IO_ERROR, SYNTAX_ERROR, Policy, Rule, all_rules

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
SRCROOT = "%SRCROOT%"
TOOL_NAME = "gradsafe"

NOTIFICATIONS = {
    IO_ERROR: "A file could not be read or decoded.",
    SYNTAX_ERROR: "A file could not be parsed.",
    INTERNAL_ERROR: "gradsafe failed on a file (a bug in gradsafe).",
}


def artifact_location(path: str) -> dict[str, str]:
    """A relative path against ``%SRCROOT%``; a path outside the working directory as a ``file:`` URI."""
    if Path(path).is_absolute():
        return {"uri": Path(path).as_uri()}
    return {"uri": quote(path), "uriBaseId": SRCROOT}


def region(span: Span) -> dict[str, int]:
    return {
        "startLine": span.line,
        "startColumn": span.col + 1,
        "endLine": span.end_line,
        "endColumn": span.end_col + 1,
    }


def rule_descriptor(rule: Rule) -> dict[str, Any]:
    help_text = rule.explain()
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": " ".join(rule.what_it_does.split())},
        "help": {"text": help_text, "markdown": help_text},
        "defaultConfiguration": {
            "enabled": rule.default_enabled and rule.policy is Policy.DEFAULT,
            "level": severity(rule.code),
        },
        "properties": {
            "tags": [f"{rule.family}xx"],
            "fixKinds": [kind.value for kind in rule.fix_kinds],
            "fixApplicability": rule.fix_applicability.value if rule.fix_kinds else None,
        },
    }


def semantic_version(version: str) -> str:
    """A PEP 440 version as the Semantic Versioning 2.0 string SARIF asks for: ``0.1.0.dev0`` ->
    ``0.1.0-dev.0``, ``1.2.0rc1`` -> ``1.2.0-rc.1``; a release is the same in both."""
    match = re.fullmatch(r"(\d+)\.(\d+)(?:\.(\d+))?(?:\.?(a|b|rc)(\d+))?(?:\.?dev(\d+))?", version)
    if match is None:
        return version
    major, minor, patch, pre, pre_number, dev = match.groups()
    core = f"{major}.{minor}.{patch or 0}"
    labels = []
    if pre is not None:
        labels.append(f"{pre}.{pre_number}")
    if dev is not None:
        labels.append(f"dev.{dev}")
    return core + ("-" + ".".join(labels) if labels else "")


def driver(rules: list[Rule]) -> dict[str, Any]:
    return {
        "name": TOOL_NAME,
        "version": __version__,
        "semanticVersion": semantic_version(__version__),
        "rules": [rule_descriptor(rule) for rule in rules],
        "notifications": [{"id": code, "shortDescription": {"text": text}} for code, text in NOTIFICATIONS.items()],
    }


def replacements(edit: Edit) -> list[dict[str, Any]]:
    """A file's rewrite as SARIF replacements, one per changed line range of the file as read."""
    diff = line_diff(edit.source.text, edit.new_text)
    changes = []
    for hunk in diff.hunks:
        start = diff.char_offset(hunk.start)
        change: dict[str, Any] = {
            "deletedRegion": {"charOffset": start, "charLength": diff.char_offset(hunk.end) - start}
        }
        if hunk.new_lines:
            change["insertedContent"] = {"text": hunk.new_text}
        changes.append(change)
    return changes


def fix_object(path: str, finding: Finding, changes: list[dict[str, Any]]) -> dict[str, Any]:
    what = finding.fix.description if finding.fix is not None else "resolve this finding"
    return {
        "description": {"text": f"{what} (applies all of gradsafe's fixes in this file, which are computed together)"},
        "artifactChanges": [{"artifactLocation": artifact_location(path), "replacements": changes}],
        "properties": {"applicability": finding.fix.applicability.value if finding.fix is not None else "safe"},
    }


def result_object(
    result: FileResult, finding: Finding, rules: dict[str, tuple[int, Rule]], changes: list[dict[str, Any]] | None
) -> dict[str, Any]:
    """The SARIF result for one finding; ``changes`` are the file's replacements when it has a rewrite."""
    index, rule = rules[finding.code]
    path = result.display
    location: dict[str, Any] = {
        "physicalLocation": {"artifactLocation": artifact_location(path), "region": region(finding.span)}
    }
    if finding.scope:
        location["logicalLocations"] = [{"fullyQualifiedName": finding.scope, "kind": "function"}]
    item: dict[str, Any] = {
        "ruleId": finding.code,
        "ruleIndex": index,
        "level": severity(rule.code),
        "message": {"text": finding.message},
        "locations": [location],
    }
    if finding.related:
        item["relatedLocations"] = [
            {
                "id": number,
                "physicalLocation": {"artifactLocation": artifact_location(path), "region": region(related.span)},
                "message": {"text": related.note},
            }
            for number, related in enumerate(finding.related, start=1)
        ]
    if changes and finding in result.fixed:
        item["fixes"] = [fix_object(path, finding, changes)]
    item["properties"] = {
        "confidence": finding.confidence.value,
        "verdict": result.verdict(finding),
        "fixApplicability": finding.fix.applicability.value if finding.fix is not None else None,
    }
    return item


def notification(error: FileError) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": artifact_location(error.path)}
    if error.line is not None:
        physical["region"] = {"startLine": error.line, "startColumn": (error.col or 0) + 1}
    return {
        "level": "error",
        "message": {"text": error.message},
        "descriptor": {"id": error.code},
        "locations": [{"physicalLocation": physical}],
    }


def log(report: Report) -> dict[str, Any]:
    catalogue = all_rules()
    rules = {rule.code: (index, rule) for index, rule in enumerate(catalogue)}
    errors = report.errors()
    changes = {id(result): replacements(result.edit) for result in report.results if result.edit and result.fixed}
    results = [result_object(r, f, rules, changes.get(id(r))) for r, f in report.findings()]
    return {
        "$schema": SCHEMA_URI,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {"driver": driver(catalogue)},
                "invocations": [
                    {
                        "executionSuccessful": not errors,
                        "toolExecutionNotifications": [notification(error) for error in errors],
                    }
                ],
                "columnKind": "unicodeCodePoints",
                "results": results,
                "properties": {"command": report.command.value},
            }
        ],
    }


def render(report: Report, stream: TextIO, options: RenderOptions) -> None:
    write_json(log(report), stream)


class SarifMergeError(ValueError):
    """SARIF logs that cannot be merged into one run."""


def artifact_path(artifact: dict[str, Any]) -> str:
    """The display path an ``artifactLocation`` was made from (the inverse of ``artifact_location``)."""
    uri = artifact["uri"]
    if "uriBaseId" in artifact:
        return unquote(uri)
    return Path(url2pathname(urlparse(uri).path)).as_posix()


def _path_of(item: dict[str, Any]) -> str:
    return artifact_path(item["locations"][0]["physicalLocation"]["artifactLocation"])


def merge_logs(logs: list[dict[str, Any]]) -> dict[str, Any]:
    """One log with the results of ``logs``, each made by ``--shard`` runs of gradsafe over disjoint files.

    The result is what one run over all the files would have written: the same tool and rules,
    results and notifications ordered by path (each file's own entries keep their order), and
    ``executionSuccessful`` only if every shard's was.
    """
    runs = []
    for log_ in logs:
        if not isinstance(log_, dict) or log_.get("version") != SARIF_VERSION or len(log_.get("runs") or ()) != 1:
            raise SarifMergeError("not a SARIF 2.1.0 log with exactly one run")
        runs.append(log_["runs"][0])
    first = runs[0]
    for run in runs[1:]:
        for key in ("tool", "columnKind", "properties"):
            if run.get(key) != first.get(key):
                raise SarifMergeError(f"the logs differ in '{key}': they were not made by one gradsafe command")
    results = [item for run in runs for item in run["results"]]
    notifications = [n for run in runs for n in run["invocations"][0]["toolExecutionNotifications"]]
    owners: dict[str, int] = {}
    for number, run in enumerate(runs):
        paths = {_path_of(item) for item in run["results"]}
        paths |= {_path_of(n) for n in run["invocations"][0]["toolExecutionNotifications"]}
        for path in paths:
            if owners.setdefault(path, number) != number:
                raise SarifMergeError(f"{path} is in more than one log: merge the logs of disjoint shards")
    merged = copy.deepcopy(logs[0])
    run = merged["runs"][0]
    run["results"] = sorted(results, key=lambda item: path_sort_key(_path_of(item)))
    invocation = run["invocations"][0]
    invocation["executionSuccessful"] = all(r["invocations"][0]["executionSuccessful"] for r in runs)
    invocation["toolExecutionNotifications"] = sorted(notifications, key=lambda n: path_sort_key(_path_of(n)))
    return merged
