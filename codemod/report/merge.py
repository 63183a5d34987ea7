"""``gradsafe merge-reports``: the reports of ``--shard K/N`` runs, combined into the report of one run.

Shards cover disjoint sets of files, so merging is concatenation in path order, and the merged
report is byte for byte what one unsharded run would have printed:

* JSON reports are read back into a ``Report`` (``gradsafe.report.json.read_report``) and can be
  printed in any format that does not need the rewrites themselves: ``json``, ``text``,
  ``github``;
* SARIF logs are merged as SARIF (``gradsafe.report.sarif.merge_logs``): their fixes hold the
  rewrites, which JSON reports do not carry.

A file present in two reports means the inputs were not disjoint shards, and is an error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from collections.abc import Sequence

from gradsafe.report import Report, Totals, sort_results
from gradsafe.report.json import ReportFormatError, read_report
from gradsafe.report.sarif import SarifMergeError, merge_logs

JSON, SARIF = "json", "sarif"


class MergeError(Exception):
    """Reports that cannot be merged; the message names the file and the problem."""


@dataclass(frozen=True)
class LoadedReport:
    path: Path
    kind: str  # JSON or SARIF
    data: dict[str, Any]


def load(path: Path) -> LoadedReport:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise MergeError(f"cannot read {path}: {exc.strerror or exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MergeError(f"{path}: not a JSON file ({exc})") from None
    if isinstance(data, dict) and "runs" in data:
        return LoadedReport(path, SARIF, data)
    if isinstance(data, dict) and "findings" in data:
        return LoadedReport(path, JSON, data)
    raise MergeError(f"{path}: neither a gradsafe JSON report nor a SARIF log")


def input_kind(reports: Sequence[LoadedReport]) -> str:
    kinds = {report.kind for report in reports}
    if len(kinds) > 1:
        raise MergeError("the reports mix JSON and SARIF; merge reports of one format")
    return kinds.pop()


def merge_json(reports: Sequence[LoadedReport]) -> Report:
    parts = []
    for loaded in reports:
        try:
            parts.append(read_report(loaded.data))
        except ReportFormatError as exc:
            raise MergeError(f"{loaded.path}: {exc}") from None
    if len({part.command for part in parts}) > 1:
        raise MergeError("the reports come from different commands (check, diff, fix)")
    owner: dict[str, int] = {}
    for number, part in enumerate(parts):
        for result in part.results:
            first = owner.setdefault(result.display, number)
            if first != number:
                raise MergeError(
                    f"{result.display} is in both {reports[first].path} and {reports[number].path}: "
                    "merge the reports of disjoint shards"
                )
    totals = Totals(
        files=sum(part.file_count for part in parts),
        fixes_applied=sum(part.applied_count for part in parts),
        files_changed=sum(part.files_changed for part in parts),
    )
    return Report(parts[0].command, sort_results([r for part in parts for r in part.results]), totals)


def merge_sarif(reports: Sequence[LoadedReport]) -> dict[str, Any]:
    try:
        return merge_logs([loaded.data for loaded in reports])
    except SarifMergeError as exc:
        raise MergeError(str(exc)) from None
    except (KeyError, IndexError, TypeError) as exc:
        raise MergeError(f"malformed SARIF log ({type(exc).__name__}: {exc})") from None
