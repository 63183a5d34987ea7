"""One file from path to result: read -> parse -> analyse -> filter -> rewrite -> (verify) -> result.

``process_path`` is a pure function of a path and the ``Settings`` and returns a picklable
``FileResult``; nothing here prints or writes.  That is what lets ``process_paths`` be a plain
ordered map today and a process pool (``--jobs``) later with identical, identically ordered
results.  The emit stage (reports, diffs, writes) lives in the command line.

A problem in one file never stops the run: unreadable and undecodable files (``E902``), syntax
errors (``E999``) and gradsafe's own failures (``E001``, traceback kept for ``--verbose``) become
``FileError`` values on that file's result.
"""

from __future__ import annotations

import ast
import traceback
from dataclasses import dataclass, field
from typing import Iterable, Iterator

from codemod.analysis import analyse
from codemod.config import Settings
from codemod.discovery import SourcePath
from codemod.errors import FileError
from codemod.findings import Finding
from codemod.hunks import line_diff
from codemod.reading import read_source
from codemod.resolution import resolved_findings
from codemod.rewrite import AppliedFix, DeclinedFix, RewriteError, fix_text
from codemod.rules import INTERNAL_ERROR, SYNTAX_ERROR
from codemod.source import SourceFile
from codemod.suppression import filter_suppressed

BUG_HINT = "this is a bug in gradsafe, please report it (run with --verbose for the traceback)"


@dataclass(frozen=True)
class Edit:
    """A rewrite of one file, ready to be shown as a diff or written."""

    source: SourceFile  # as read (encoding, BOM and content hash for the write-back)
    new_text: str


@dataclass
class FileResult:
    display: str
    # Findings on the file as it is after this run: all of them for `check`, the ones that
    # remain after fixing for `diff` / `fix` (positions in the rewritten text).
    findings: list[Finding] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)
    edit: Edit | None = None  # only when fixes changed the text
    applied: list[AppliedFix] = field(default_factory=list)
    declined: list[DeclinedFix] = field(default_factory=list)
    # Findings of the file as read that the rewrite (`edit`) resolves, at their positions in
    # the file as read (``codemod.resolution``); empty when no fixes were computed.
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


class _Unparsable(Exception):
    def __init__(self, error: FileError) -> None:
        self.error = error


def _parse(source: SourceFile) -> ast.Module:
    try:
        return ast.parse(source.text, filename=source.display)
    except SyntaxError as exc:
        line = exc.lineno or 1
        col = max((exc.offset or 1) - 1, 0)
        message = f"SyntaxError: {exc.msg}"
        raise _Unparsable(FileError(source.display, SYNTAX_ERROR, message, line, col)) from None
    except ValueError as exc:  # null bytes on older Pythons
        raise _Unparsable(FileError(source.display, SYNTAX_ERROR, f"SyntaxError: {exc}", 1, 0)) from None
    except (RecursionError, MemoryError) as exc:  # CPython's parser gives up on absurd nesting
        message = f"the file is nested too deeply for Python's parser ({type(exc).__name__})"
        raise _Unparsable(FileError(source.display, SYNTAX_ERROR, message, 1, 0)) from None


def find_findings(source: SourceFile, settings: Settings) -> list[Finding]:
    """Parse, analyse and keep what the configuration and suppression comments let through."""
    tree = _parse(source)
    codes = settings.codes_for(source.path)
    confirmed = settings.confirmed_for(source.path)
    findings = [f for f in analyse(source, tree, policy=settings.policy, confirmed=confirmed) if f.code in codes]
    return filter_suppressed(findings, source)


def _internal_error(display: str, exc: BaseException, stage: str) -> FileError:
    if isinstance(exc, (RecursionError, MemoryError)):
        message = f"the file is nested too deeply to {stage} ({type(exc).__name__})"
    else:
        message = f"internal error while trying to {stage} the file: {type(exc).__name__}: {exc}; {BUG_HINT}"
    detail = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return FileError(display, INTERNAL_ERROR, message, detail=detail)


def process_source(
    source: SourceFile,
    settings: Settings,
    *,
    fix: bool,
    preview: bool = False,
    excluded_scopes: frozenset[str] = frozenset(),
) -> FileResult:
    """Findings for ``source`` and, when ``fix`` is set, the rewritten text.

    With ``preview`` the fixes are computed but not adopted: ``findings`` stay those of the file
    as read, and ``edit`` and ``fixed`` say what fixing would do (``check --format sarif`` shows
    the fixes of the findings it reports).  Findings in ``excluded_scopes`` are not fixed (the
    verify stage excludes the functions whose rewrite it could not prove).
    """
    result = FileResult(source.display)
    try:
        result.findings = find_findings(source, settings)
    except _Unparsable as exc:
        result.errors.append(exc.error)
        return result
    except Exception as exc:  # RecursionError and MemoryError included
        result.errors.append(_internal_error(source.display, exc, "analyse"))
        return result
    if not (fix or preview) or not result.findings:
        return result
    found = result.findings

    def find(text: str) -> list[Finding]:
        return find_findings(SourceFile.from_text(text, source.path, source.display), settings)

    try:
        rewritten = fix_text(source.text, find, filename=source.display, excluded_scopes=excluded_scopes)
    except RewriteError as exc:
        result.errors.append(FileError(source.display, INTERNAL_ERROR, f"internal error: {exc}; {BUG_HINT}"))
        return result
    except Exception as exc:  # RecursionError and MemoryError included
        result.errors.append(_internal_error(source.display, exc, "fix"))
        return result
    result.applied = rewritten.applied
    result.declined = rewritten.declined
    if not preview:
        result.findings = rewritten.remaining
    if rewritten.text != source.text:
        result.edit = Edit(source, rewritten.text)
        result.fixed = resolved_findings(found, rewritten.remaining, line_diff(source.text, rewritten.text))
    return result


def process_path(item: SourcePath, settings: Settings, *, fix: bool, preview: bool = False) -> FileResult:
    source = read_source(item.path, item.display)
    if isinstance(source, FileError):
        return FileResult(item.display, errors=[source])
    return process_source(source, settings, fix=fix, preview=preview)


def process_paths(
    items: Iterable[SourcePath], settings: Settings, *, fix: bool, preview: bool = False
) -> Iterator[FileResult]:
    """Results in the order of ``items`` (discovery sorts them by path), one file at a time."""
    for item in items:
        yield process_path(item, settings, fix=fix, preview=preview)
