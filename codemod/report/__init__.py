"""Reports: what a run found, rendered by a formatter chosen by name (``--format``).

Formatters are registered by name and imported only when used, so an output format is a module
with a ``render(report, stream, options)`` function and one entry in ``FORMATTERS``.  An entry
also says whether the format shows fixes (``shows_fixes``): ``check`` then computes the rewrite
of each file without applying it, so the report can attach it to the findings it resolves.

What each command's report lists:

* ``findings``: the findings on the files as they are after the run: every finding for
  ``check``, the ones that remain after fixing for ``diff`` and ``fix`` (at their positions in the
  rewritten text);
* ``fixed``: the findings of the files as read that the rewrite resolves (positions in the file
  as read), when fixes were computed;
* ``errors``: the files that could not be processed;
* per finding, the verification verdict of its function, when verification ran.
"""

from __future__ import annotations

import enum
import importlib
from collections import Counter
from dataclasses import dataclass
from json import dump as json_dump  # not `import json`: the submodule `gradsafe.report.json` would shadow it
from typing import TextIO
from collections.abc import Callable, Iterator, Sequence

from gradsafe.errors import FileError
from gradsafe.findings import Finding
from gradsafe.files.paths import path_sort_key
from gradsafe.results import FileResult
from gradsafe.fix.loop import is_fixable
from gradsafe.rules import Policy, get_rule


@dataclass(frozen=True)
class OutputFormat:
    module: str
    description: str
    # Whether the format shows the rewrite (SARIF `fixes`), so `check` must compute it.
    shows_fixes: bool = False


FORMATTERS: dict[str, OutputFormat] = {
    "text": OutputFormat("gradsafe.report.text", "one line per finding and a summary"),
    "json": OutputFormat("gradsafe.report.json", "schema in docs/json-output.md"),
    "sarif": OutputFormat("gradsafe.report.sarif", "SARIF 2.1.0 for code scanning, with fixes", shows_fixes=True),
    "github": OutputFormat("gradsafe.report.github", "GitHub Actions annotations"),
}


class Command(str, enum.Enum):
    CHECK = "check"
    DIFF = "diff"
    FIX = "fix"
    TRACE = "trace"  # findings of a traced run (`gradsafe trace`), not of the analysis


@dataclass(frozen=True)
class RenderOptions:
    color: bool = False
    quiet: bool = False  # diagnostics only, no summary
    verbose: bool = False  # tracebacks of internal errors, declined fixes
    statistics: bool = False  # counts per rule instead of one line per finding
    show_fixes: bool = False  # the fix each finding gets, or why none


@dataclass(frozen=True)
class Totals:
    """Counts that cannot be recomputed from the listed results.

    A report read back from JSON (``gradsafe merge-reports``) lists only the files that have a
    finding or an error, and no applied fixes; it carries these totals from the documents instead.
    """

    files: int
    fixes_applied: int
    files_changed: int


@dataclass(frozen=True)
class RuleCount:
    code: str
    count: int  # findings the report lists
    fixable: int  # of those, how many have a fix this version can apply
    fixed: int  # findings of the files as read that the rewrite resolves


@dataclass(frozen=True)
class Report:
    command: Command
    results: Sequence[FileResult]  # sorted by path; discovery errors come as results without findings
    totals: Totals | None = None  # only for reports read back from JSON
    unsafe_fixes: bool = False  # `--unsafe-fixes`: unsafe fixes were applied, not only offered

    def findings(self) -> Iterator[tuple[FileResult, Finding]]:
        for result in self.results:
            for finding in sorted(result.findings, key=lambda f: f.sort_key):
                yield result, finding

    def fixed(self) -> Iterator[tuple[FileResult, Finding]]:
        for result in self.results:
            for finding in sorted(result.fixed, key=lambda f: f.sort_key):
                yield result, finding

    def errors(self) -> list[FileError]:
        return sorted((e for r in self.results for e in r.errors), key=lambda e: e.sort_key)

    @property
    def file_count(self) -> int:
        """Paths processed, including those with errors."""
        return self.totals.files if self.totals else len(self.results)

    @property
    def files_failed(self) -> int:
        return len({e.path for e in self.errors()})

    @property
    def files_processed(self) -> int:
        """Paths processed without errors."""
        return self.file_count - self.files_failed

    @property
    def finding_count(self) -> int:
        return sum(len(r.findings) for r in self.results)

    @property
    def fixed_count(self) -> int:
        return sum(len(r.fixed) for r in self.results)

    @property
    def files_with_findings(self) -> int:
        return sum(1 for r in self.results if r.findings)

    @property
    def fixable_count(self) -> int:
        """Listed findings with a safe fix this version applies (what `gradsafe fix` would do)."""
        return sum(1 for _, f in self.findings() if f.fix is not None and is_fixable(f) and not f.fix.unsafe)

    @property
    def unsafe_available_count(self) -> int:
        """Listed findings with an unsafe fix that only ``--unsafe-fixes`` applies (0 when it was given to
        ``diff``/``fix``: those that remain then were declined or rejected, not withheld)."""
        if self.unsafe_fixes and self.command is not Command.CHECK:
            return 0
        return sum(1 for _, f in self.findings() if f.fix is not None and is_fixable(f) and f.fix.unsafe)

    @property
    def applied_count(self) -> int:
        return self.totals.fixes_applied if self.totals else sum(len(r.applied) for r in self.results)

    @property
    def files_changed(self) -> int:
        return self.totals.files_changed if self.totals else sum(1 for r in self.results if r.edit is not None)

    def rule_counts(self) -> list[RuleCount]:
        """Per rule code, most frequent first (then by code), for ``--statistics``."""
        listed = Counter(f.code for _, f in self.findings())
        fixable = Counter(f.code for _, f in self.findings() if is_fixable(f))
        fixed = Counter(f.code for _, f in self.fixed())
        counts = [RuleCount(code, listed[code], fixable[code], fixed[code]) for code in {*listed, *fixed}]
        return sorted(counts, key=lambda c: (-(c.count + c.fixed), c.code))


def severity(code: str) -> str:
    """``error`` for hazards (backward fails or gradients are wrong) and files that could not be
    processed; ``warning`` for policy rules, which report code that works today."""
    rule = get_rule(code)
    return "warning" if rule is not None and rule.policy is not Policy.DEFAULT else "error"


Formatter = Callable[[Report, TextIO, RenderOptions], None]


def write_json(data: object, stream: TextIO) -> None:
    """How the JSON-based formats serialise: indented, UTF-8 as is, one trailing newline."""
    json_dump(data, stream, indent=2, ensure_ascii=False)
    stream.write("\n")


def output_format(name: str) -> OutputFormat:
    try:
        return FORMATTERS[name]
    except KeyError:
        raise ValueError(f"unknown output format {name!r} (choose from {', '.join(FORMATTERS)})") from None


def get_formatter(name: str) -> Formatter:
    return importlib.import_module(output_format(name).module).render  # type: ignore[no-any-return]


def sort_results(results: Sequence[FileResult]) -> list[FileResult]:
    return sorted(results, key=lambda r: path_sort_key(r.display))
