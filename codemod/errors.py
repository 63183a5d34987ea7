"""A file that could not be processed, reported like a finding and never as a traceback.

Bad input must lose nothing: a missing path, an undecodable file or a syntax error in one file is
reported with its name (and position, when there is one), and the run goes on with the others.
The codes are the non-rule codes of ``gradsafe.rules``: ``E902`` (cannot read), ``E999`` (cannot
parse), ``E001`` (gradsafe itself failed on this file).
"""

from __future__ import annotations

from dataclasses import dataclass

from gradsafe.files.paths import path_sort_key


@dataclass(frozen=True)
class FileError:
    path: str  # display path
    code: str
    message: str
    line: int | None = None  # 1-based, when the problem has a position
    col: int | None = None  # 0-based character column
    # Extra text shown only with --verbose (an internal error's traceback).
    detail: str | None = None

    @property
    def sort_key(self) -> tuple[tuple[str, ...], int, int, str]:
        return (path_sort_key(self.path), self.line or 0, self.col or 0, self.code)
