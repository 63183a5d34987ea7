"""Reports: what a run found, rendered by a formatter chosen by name (``--format``).

Formatters are registered by name and imported only when used, so a new output (``sarif``,
``github``) is a module with a ``render(report, stream, options)`` function and one line in
``FORMATTERS``.
"""

from __future__ import annotations

import enum
import importlib
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence, TextIO

from codemod.errors import FileError
from codemod.findings import Finding
from codemod.paths import path_sort_key
from codemod.pipeline import FileResult
from codemod.rewrite import is_fixable

FORMATTERS: dict[str, str] = {
    "text": "codemod.report.text",
    "json": "codemod.report.json",
}


class Command(str, enum.Enum):
    CHECK = "check"
    DIFF = "diff"
    FIX = "fix"


@dataclass(frozen=True)
class RenderOptions:
    color: bool = False
    quiet: bool = False  # diagnostics only, no summary
    verbose: bool = False  # tracebacks of internal errors, declined fixes


@dataclass(frozen=True)
class Report:
    command: Command
    results: Sequence[FileResult]  # sorted by path; discovery errors come as results without findings

    def findings(self) -> Iterator[tuple[str, Finding]]:
        for result in self.results:
            for finding in sorted(result.findings, key=lambda f: f.sort_key):
                yield result.display, finding

    def errors(self) -> list[FileError]:
        return sorted((e for r in self.results for e in r.errors), key=lambda e: e.sort_key)

    @property
    def files_processed(self) -> int:
        return sum(1 for r in self.results if not r.errors)

    @property
    def finding_count(self) -> int:
        return sum(len(r.findings) for r in self.results)

    @property
    def files_with_findings(self) -> int:
        return sum(1 for r in self.results if r.findings)

    @property
    def fixable_count(self) -> int:
        return sum(1 for _, f in self.findings() if is_fixable(f))

    @property
    def applied_count(self) -> int:
        return sum(len(r.applied) for r in self.results)

    @property
    def files_changed(self) -> int:
        return sum(1 for r in self.results if r.edit is not None)


Formatter = Callable[[Report, TextIO, RenderOptions], None]


def get_formatter(name: str) -> Formatter:
    try:
        module = FORMATTERS[name]
    except KeyError:
        raise ValueError(f"unknown output format {name!r} (choose from {', '.join(FORMATTERS)})") from None
    return importlib.import_module(module).render  # type: ignore[no-any-return]


def sort_results(results: Sequence[FileResult]) -> list[FileResult]:
    return sorted(results, key=lambda r: path_sort_key(r.display))
