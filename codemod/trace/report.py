"""Turning what the detector saw into findings: project-relative paths, character spans, scopes.

The runtime reports absolute paths and the byte columns of ``code.co_positions()``.  This module
reads each reported file once, converts columns to characters (``SourceFile.char_col``), finds the
enclosing function for ``Finding.scope``, and points a ``Related`` note at the save when it is in
the same file.

Findings carry no fix: a traced finding says where a hazard happened, and ``gradsafe trace --fix``
hands those spans to the passes (the lead's wiring).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from gradsafe.findings import Confidence, Finding, Related, Span
from gradsafe.files.source import DecodeError, SourceFile
from gradsafe.trace.runtime import events
from gradsafe.trace.runtime.events import Event, Site


@dataclass(frozen=True)
class TraceFinding:
    """A finding observed at run time, in the file ``path`` (relative to the root when inside it)."""

    path: str
    finding: Finding
    count: int  # how many times it happened (iterations, test cases, processes)
    event: Event

    def format_line(self) -> str:
        """``path:line:col: CODE message`` (columns 1-based), with the count when it repeated."""
        span = self.finding.span
        times = f" (seen {self.count} times)" if self.count > 1 else ""
        return f"{self.path}:{span.line}:{span.col + 1}: {self.finding.code} {self.finding.message}{times}"

    @property
    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.path, *self.finding.sort_key)


def findings_from_events(observed: Iterable[tuple[Event, int]], root: str | Path) -> list[TraceFinding]:
    """One finding per distinct event (same rule, save site and write site), sorted by position."""
    sources = _Sources()
    found = [_finding(event, count, root, sources) for event, count in events.merge(observed)]
    return sorted(found, key=lambda f: f.sort_key)


def _finding(event: Event, count: int, root: str | Path, sources: _Sources) -> TraceFinding:
    site = event.site
    source = sources.get(site.path) if site is not None else None
    span = source.span(site) if source is not None and site is not None else _line_span(site)
    related: tuple[Related, ...] = ()
    saved = event.saved_at
    if saved is not None and site is not None and Path(saved.path) == Path(site.path) and source is not None:
        related = (Related(source.span(saved), f"saved by `{event.saved_by}` here"),)
    return TraceFinding(
        path=site.relative_to(root) if site is not None else "<unknown>",
        finding=Finding(
            code=event.code,
            message=events.message(event, root),
            span=span,
            confidence=Confidence.CERTAIN,
            related=related,
            scope=source.scope(span) if source is not None else "",
        ),
        count=count,
        event=event,
    )


def _line_span(site: Site | None) -> Span:
    line = site.line if site is not None else 0
    return Span(line, 0, line, 0)


class _Sources:
    """Each reported file, read and parsed at most once."""

    def __init__(self) -> None:
        self._files: dict[str, _Source | None] = {}

    def get(self, path: str) -> _Source | None:
        if path not in self._files:
            self._files[path] = _Source.read(path)
        return self._files[path]


class _Source:
    """A reported file: its text for columns, its syntax tree for scopes."""

    def __init__(self, source: SourceFile) -> None:
        self.source = source

    @classmethod
    def read(cls, path: str) -> _Source | None:
        try:
            return cls(SourceFile.from_bytes(Path(path).read_bytes(), Path(path)))
        except (OSError, DecodeError):
            return None

    @cached_property
    def tree(self) -> ast.Module | None:
        try:
            return ast.parse(self.source.text)
        except (SyntaxError, ValueError):
            return None

    def span(self, site: Site) -> Span:
        """The character span of what was executing; the whole line's code when columns are unknown."""
        if site.col is not None and site.end_col is not None and site.end_line is not None:
            return Span(
                site.line,
                self.source.char_col(site.line, site.col),
                site.end_line,
                self.source.char_col(site.end_line, site.end_col),
            )
        lines = self.source.lines
        text = lines[site.line - 1].rstrip("\r\n") if 0 < site.line <= len(lines) else ""
        return Span(site.line, len(text) - len(text.lstrip()), site.line, len(text))

    def scope(self, span: Span) -> str:
        """Qualified name of the innermost function or class around ``span`` ("Net.forward")."""
        if self.tree is None:
            return ""
        names: list[str] = []
        body: list[ast.stmt] = self.tree.body
        while True:
            for node in body:
                scoping = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
                if isinstance(node, scoping) and self.source.span_of(node).contains(span):
                    names.append(node.name)
                    body = node.body
                    break
            else:
                return ".".join(names)
