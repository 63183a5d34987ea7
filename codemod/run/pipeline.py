"""One file from path to result: read -> parse -> analyse -> filter -> rewrite -> result.

``process_path`` is a pure function of a path and the ``Settings`` and returns a picklable
``FileResult`` (``gradsafe.results``); nothing here prints or writes.  That is what lets
``process_paths`` hand files to a process pool (``--jobs``) and still yield identical, identically
ordered results.  Verification (``gradsafe.verify.stage``) runs after this, on the rewritten
results; the emit stage (reports, diffs, writes) lives in the command line (``gradsafe.cli``).

The analysis of the file as read (``check_source``) is what the result cache
(``gradsafe.run.cache``) stores: a file whose content, settings and gradsafe are unchanged is not
analysed again, and ``diff``/``fix`` go straight to the rewrite for the files that have findings.

A problem in one file never stops the run: unreadable and undecodable files (``E902``), syntax
errors (``E999``) and gradsafe's own failures (``E001``, traceback kept for ``--verbose``) become
``FileError`` values on that file's result.
"""

from __future__ import annotations

import ast
import os
import time
import traceback
from functools import partial
from collections.abc import Iterable, Iterator

from gradsafe.run import parallel
from gradsafe.analysis import analyse
from gradsafe.settings.config import Settings
from gradsafe.files.discovery import SourcePath
from gradsafe.errors import FileError
from gradsafe.findings import Finding
from gradsafe.fix.hunks import line_diff
from gradsafe.files.loading import read_bytes, read_source
from gradsafe.fix.resolution import resolved_findings
from gradsafe.fix.loop import RewriteError, fix_text
from gradsafe.run.fixability import declined_marked, settle_fixability
from gradsafe.rules import INTERNAL_ERROR, SYNTAX_ERROR
from gradsafe.files.source import SourceFile, content_hash
from gradsafe.results import Edit, FileResult
from gradsafe.run.cache import FileIndex, ResultCache
from gradsafe.settings.suppression import filter_suppressed

BUG_HINT = "this is a bug in gradsafe, please report it (run with --verbose for the traceback)"


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
    return filter_suppressed(findings, source, codes)


def _find_in_text(source: SourceFile, settings: Settings, text: str) -> list[Finding]:
    return find_findings(SourceFile.from_text(text, source.path, source.display), settings)


def _internal_error(display: str, exc: BaseException, stage: str) -> FileError:
    if isinstance(exc, (RecursionError, MemoryError)):
        message = f"the file is nested too deeply to {stage} ({type(exc).__name__})"
    else:
        message = f"internal error while trying to {stage} the file: {type(exc).__name__}: {exc}; {BUG_HINT}"
    detail = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return FileError(display, INTERNAL_ERROR, message, detail=detail)


def check_source(source: SourceFile, settings: Settings) -> FileResult:
    """The findings of ``source`` as read, or the error that kept it from being analysed."""
    result = FileResult(source.display)
    try:
        result.findings = settle_fixability(source, find_findings(source, settings), partial(_find_in_text, source, settings))
    except _Unparsable as exc:
        result.errors.append(exc.error)
    except Exception as exc:  # RecursionError and MemoryError included
        result.errors.append(_internal_error(source.display, exc, "analyse"))
    return result


def process_source(
    source: SourceFile,
    settings: Settings,
    *,
    fix: bool,
    preview: bool = False,
    excluded_scopes: frozenset[str] = frozenset(),
    checked: FileResult | None = None,
) -> FileResult:
    """Findings for ``source`` and, when ``fix`` is set, the rewritten text.

    With ``preview`` the fixes are computed but not adopted: ``findings`` stay those of the file
    as read, and ``edit`` and ``fixed`` say what fixing would do (``check --format sarif`` shows
    the fixes of the findings it reports).  Findings in ``excluded_scopes`` are not fixed (the
    verify stage excludes the functions whose rewrite it could not prove).  ``checked`` is
    ``check_source``'s result for ``source`` when it is already known (from the cache); it
    becomes the returned result.
    """
    result = checked if checked is not None else check_source(source, settings)
    if not (fix or preview) or not result.findings or result.errors:
        return result
    found = result.findings

    def find(text: str) -> list[Finding]:
        return find_findings(SourceFile.from_text(text, source.path, source.display), settings)

    try:
        # A preview (`check --format sarif`) shows unsafe fixes too, marked as such.
        rewritten = fix_text(
            source.text,
            find,
            filename=source.display,
            excluded_scopes=excluded_scopes,
            unsafe_fixes=settings.unsafe_fixes or preview,
        )
    except RewriteError as exc:
        result.errors.append(FileError(source.display, INTERNAL_ERROR, f"internal error: {exc}; {BUG_HINT}"))
        return result
    except Exception as exc:  # RecursionError and MemoryError included
        result.errors.append(_internal_error(source.display, exc, "fix"))
        return result
    result.applied = rewritten.applied
    result.declined = rewritten.declined
    if not preview:
        result.findings = declined_marked(rewritten, excluded_scopes, settings.unsafe_fixes)
    if rewritten.text != source.text:
        result.edit = Edit(source, rewritten.text)
        result.fixed = resolved_findings(found, rewritten.remaining, line_diff(source.text, rewritten.text))
    return result


def process_path(
    item: SourcePath, settings: Settings, *, fix: bool, preview: bool = False, cache: ResultCache | None = None
) -> FileResult:
    """One file's result; with a ``cache``, its check results are looked up there first and stored there after."""
    source = read_source(item.path, item.display)
    if isinstance(source, FileError):
        return FileResult(item.display, errors=[source])
    checked = cache.load(source.digest, item.path, item.display, settings) if cache is not None else None
    if checked is None:
        checked = check_source(source, settings)
        if cache is not None:
            cache.store(source.digest, item.path, settings, checked)
    return process_source(source, settings, fix=fix, preview=preview, checked=checked)


def process_paths(
    items: Iterable[SourcePath],
    settings: Settings,
    *,
    fix: bool,
    preview: bool = False,
    jobs: int = 1,
    cache: ResultCache | None = None,
) -> Iterator[FileResult]:
    """Results in the order of ``items`` (discovery sorts them by path), whatever ``jobs`` is.

    With a ``cache``, the files it has results for are answered here, from their content digest
    (indexed by ``stat``, see ``gradsafe.run.cache``) and a lookup, without being parsed (unless
    ``fix``/``preview`` must rewrite them).  The others go to ``jobs`` worker processes when there
    is enough work to pay for starting them (``gradsafe.run.parallel``), else they are processed
    here one by one.
    """
    items = list(items)
    known = _cached_results(items, settings, cache, rewriting=fix or preview) if cache is not None else {}
    pending = [item for index, item in enumerate(items) if index not in known]
    work = partial(process_path, settings=settings, fix=fix, preview=preview, cache=cache)
    computed = parallel.ordered_map(work, pending, workers=parallel.workers_for([item.path for item in pending], jobs))
    for index in range(len(items)):
        yield known[index] if index in known else next(computed)


def _cached_results(
    items: list[SourcePath], settings: Settings, cache: ResultCache, *, rewriting: bool
) -> dict[int, FileResult]:
    """The results ``cache`` holds for ``items``, by index: nothing is decoded or parsed.

    Each file's digest comes from the cache's file index when its ``stat`` is unchanged, else from
    reading and hashing its bytes (and is indexed then).  Files whose findings are to be rewritten
    are left to ``process_path``, which finds the findings in the cache too and goes straight to
    the rewrite.
    """
    index = FileIndex(cache.directory)
    now_ns = time.time_ns()
    known: dict[int, FileResult] = {}
    for position, item in enumerate(items):
        absolute = os.path.abspath(item.path)
        try:
            status = os.stat(absolute)
            digest = index.digest(absolute, status)
            if digest is None:
                digest = content_hash(read_bytes(absolute))  # never blocks on a named pipe
                index.record(absolute, status, digest, now_ns)
        except OSError:
            continue  # process_path reports it
        result = cache.load(digest, item.path, item.display, settings)
        if result is not None and not (rewriting and result.findings):
            known[position] = result
    index.save()
    return known
